"""A server that cannot start says why in one line and exits non-zero, without a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from .conftest import Serve
from .support import app_spec


def failed_start(serve: Serve, *args: str, app: str | None) -> str:
    server = serve(*args, app=app, wait_ready=False)
    assert server.wait_exit(10) != 0
    log = server.stderr()
    assert "Traceback" not in log
    assert log.startswith("heron: ")
    return log


def test_port_in_use_is_reported(serve: Serve) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        log = failed_start(serve, "--port", str(port), app="examples/echo.py:app")
    assert f"cannot listen on 127.0.0.1:{port}" in log


@pytest.mark.parametrize(("app", "message"), [
    ("missing_app_file.py:app", "no such file"),
    ("missing_app_module:app", "no module named 'missing_app_module'"),
    ("examples/echo.py:nothing", "has no attribute 'nothing'"),
])
def test_app_that_cannot_be_loaded_is_reported(serve: Serve, app: str, message: str) -> None:
    assert message in failed_start(serve, app=app)


@pytest.mark.parametrize("reload", [[], ["--reload"]])
def test_unreadable_certificate_is_reported(serve: Serve, tmp_path: Path, reload: list[str]) -> None:
    """With --reload too: the supervisor checks the files before it starts a child, rather
    than waiting for a file to change after the child has failed."""
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate\n")
    log = failed_start(serve, *reload, "--certfile", str(bogus), app="examples/echo.py:app")
    assert "cannot load the TLS certificate" in log


def test_import_error_inside_the_app_keeps_its_traceback(serve: Serve) -> None:
    server = serve(app=app_spec("broken"), wait_ready=False)
    assert server.wait_exit(10) != 0
    assert "Traceback" in server.stderr()  # where the bad import is matters to the app's author
    assert "module_that_does_not_exist" in server.stderr()
