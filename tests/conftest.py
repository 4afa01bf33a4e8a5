"""Suite-wide pytest configuration: heron's own fixture plugin, used as users would."""

pytest_plugins = ["heron.pytest_plugin"]
