"""The command line is generated from ServerConfig and Limits, and validates them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from heron.cli import build_parser, config_from_args
from heron.config import ServerConfig, settings
from heron.limits import Limits, describe


def test_every_setting_and_limit_has_a_flag() -> None:
    help_text = build_parser().format_help()
    for f in settings():
        assert "--" + f.name.replace("_", "-") in help_text
    for name, *_ in describe():
        assert "--" + name.replace("_", "-") in help_text


def test_flags_reach_the_config() -> None:
    args = build_parser().parse_args(["x:app", "--port", "9000", "--workers", "3", "--no-access-log",
                                      "--max-body-bytes", "1000", "--header-timeout", "2.5"])
    config = config_from_args(args)
    assert (config.port, config.workers, config.access_log) == (9000, 3, False)
    assert config.limits == Limits(max_body_bytes=1000, header_timeout=2.5)


@pytest.mark.parametrize("flags", [["--max-body-bytes", "0"], ["--header-timeout", "-1"], ["--workers", "0"],
                                   ["--port", "70000"]])
def test_invalid_settings_are_refused_with_a_message(flags: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "heron", "examples/echo.py:app", *flags],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "heron:" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_defaults_are_safe() -> None:
    config = ServerConfig()
    assert config.host == "127.0.0.1"
    assert config.port == 8080
    assert config.scheme == "http"
