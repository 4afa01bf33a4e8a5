"""Fixtures that start real heron servers as subprocesses on loopback ports.

``serve(*flags, app=...)`` starts ``python -m heron <app> --port 0 <flags>``
from the repository root, waits until it serves, and stops it (SIGTERM,
then SIGKILL after a few seconds) when the test ends. ``echo_server`` is one
shared echo server per test module, for tests that do not need their own
flags and leave the server as they found it.

``echo_app`` is the echo app once per interface (``ECHO_APPS``: heron's own
App, then the same app written for WSGI and for ASGI), so a test that uses
``echo_server``, or calls ``serve(..., app=echo_app)``, runs three times and
proves the server behaves the same whichever adapter sits in front of the
app. A test about heron's App itself uses ``serve()`` (which defaults to
heron's echo) or its own app.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from .support import ECHO, ECHO_APPS, Server, start_server


class Serve(Protocol):
    def __call__(self, *flags: str, app: str | None = ECHO, port: int | None = 0, access_log: bool = False,
                 wait_ready: bool = True) -> Server: ...


class ServerPool:
    """Starts servers, each logging to its own file, and stops them all at teardown."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.servers: list[Server] = []
        self._numbers = itertools.count()

    def start(self, *flags: str, app: str | None = ECHO, port: int | None = 0, access_log: bool = False,
              wait_ready: bool = True) -> Server:
        args = [app] if app is not None else []
        if port is not None:
            args += ["--port", str(port)]
        if not access_log:
            args.append("--no-access-log")
        args += flags
        server = start_server(args, self.directory / f"server{next(self._numbers)}.stderr", wait_ready=wait_ready)
        self.servers.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    pool = ServerPool(tmp_path)
    try:
        yield pool.start
    finally:
        pool.stop_all()


@pytest.fixture(scope="module", params=list(ECHO_APPS.values()), ids=list(ECHO_APPS))
def echo_app(request: pytest.FixtureRequest) -> str:
    """``examples/echo.py:app``, ``examples/echo_wsgi.py:app``, ``examples/echo_asgi.py:app`` in turn."""
    app: str = request.param
    return app


@pytest.fixture(scope="module")
def echo_server(tmp_path_factory: pytest.TempPathFactory, echo_app: str) -> Iterator[Server]:
    pool = ServerPool(tmp_path_factory.mktemp("echo"))
    try:
        yield pool.start(app=echo_app)
    finally:
        pool.stop_all()


@pytest.fixture
def curl() -> str:
    path = shutil.which("curl")
    if path is None:
        pytest.skip("curl is not installed")
    return path


@pytest.fixture
def tag(request: pytest.FixtureRequest) -> str:
    """A name, unique to this test, for what a probe app records during it (``support.events``)."""
    name: str = request.node.name
    return name.replace("[", "-").replace("]", "").replace("/", "_").replace("&", "_").replace("=", "_")
