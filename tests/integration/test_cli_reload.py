"""``--reload``: a supervisor restarts the server when a watched .py file changes, and survives a broken app.

The app is a temporary copy that the test edits; the supervisor runs in
that directory, so it watches only the copy. File scanning is also
tested on its own, on a directory tree built for it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from heron.server import reload
from heron.server.reload import first_change, outermost, scan

from .support import Server, get, launch
from .test_cli_listen import unix_exchange
from .test_workers import pid_alive

APP = '''
import contextlib
import os
import re
from heron import App, Response

app = App()

@app.get("/")
async def home(request):
    return Response(f"{TEXT} {os.getpid()}", content_type="text/plain")

TEXT = "first version"
'''

CHANGE_TIMEOUT = 15.0
"""Seconds for a saved change to be served: a poll interval, a graceful stop, a fresh interpreter's start."""


def write_app(path: Path, text: str) -> None:
    path.write_text(APP.replace("first version", text))


def answer(server: Server) -> tuple[str, int]:
    """The app's text and the pid of the server process that answered."""
    text, _, pid = requests.get(server.url("/"), headers={"Connection": "close"}, timeout=5).text.rpartition(" ")
    return text, int(pid)


def wait_for_text(server: Server, text: str) -> int:
    """Poll until the app answers ``text``; the pid that did."""
    deadline = time.monotonic() + CHANGE_TIMEOUT
    seen = None
    while time.monotonic() < deadline:
        assert server.proc.poll() is None, f"the supervisor exited:\n{server.stderr()}"
        try:
            seen, pid = answer(server)
        except requests.RequestException:  # between two servers: the connection waits, then may time out
            continue
        if seen == text:
            return pid
        time.sleep(0.1)
    raise AssertionError(f"still {seen!r}, not {text!r}, after {CHANGE_TIMEOUT}s:\n{server.stderr()}")


@pytest.fixture
def reloading(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    """A ``--reload`` supervisor serving a copy of APP; its whole process group is killed at teardown."""
    app = tmp_path / "site" / "app.py"
    app.parent.mkdir()
    write_app(app, "first version")
    server = launch([sys.executable, "-m", "heron", "app.py:app", "--reload", "--port", "0", "--no-access-log",
                     "--shutdown-timeout", "2"], tmp_path / "reload.stderr", cwd=app.parent)
    try:
        yield server, app
    finally:
        server.stop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)  # a server left behind by a failed test


def test_a_change_is_served_and_a_broken_app_does_not_kill_the_supervisor(reloading: tuple[Server, Path]) -> None:
    server, app = reloading
    text, first_pid = answer(server)
    assert text == "first version"
    assert first_pid != server.pid, "the supervisor must not import the app itself"

    write_app(app, "second, longer version")
    second_pid = wait_for_text(server, "second, longer version")
    assert second_pid != first_pid
    server.wait_for_stderr(rf"reload: {re.escape(str(app))} changed; restarting the server")
    assert not pid_alive(first_pid), "the old server was not stopped"

    app.write_text(APP + "\ndef broken(:\n")
    server.wait_for_stderr(r"SyntaxError")
    server.wait_for_stderr(r"reload: the server exited with status 1; waiting for a file to change")
    assert server.proc.poll() is None

    write_app(app, "third version, fixed")
    last_pid = wait_for_text(server, "third version, fixed")

    server.signal(signal.SIGTERM)
    assert server.wait_exit(10) == 0
    assert not pid_alive(last_pid), "the server outlived its supervisor"


def test_the_server_stops_if_the_supervisor_is_killed(reloading: tuple[Server, Path]) -> None:
    server, _app = reloading
    _text, pid = answer(server)
    server.signal(signal.SIGKILL)
    server.wait_exit(5)
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(pid), "an orphaned server went on serving"


def test_sigint_stops_the_supervisor_and_its_server(reloading: tuple[Server, Path]) -> None:
    server, _app = reloading
    _text, pid = answer(server)
    server.signal(signal.SIGINT)
    assert server.wait_exit(10) == 0
    assert not pid_alive(pid)


def test_reload_over_a_unix_socket_keeps_the_socket_across_restarts(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    write_app(app, "first version")
    path = tmp_path / "r.sock"
    server = launch([sys.executable, "-m", "heron", "app.py:app", "--reload", "--uds", str(path), "--no-access-log"],
                    tmp_path / "reload.stderr", cwd=tmp_path, wait_ready=False)
    try:
        server.wait_for_stderr(rf"serving app.py:app on unix:{re.escape(str(path))} ", timeout=10)
        assert unix_exchange(path, get("/")).body.startswith(b"first version ")
        write_app(app, "second, longer version")
        server.wait_for_stderr(r"serving app.py:app on unix:", count=2, timeout=CHANGE_TIMEOUT)
        assert unix_exchange(path, get("/")).body.startswith(b"second, longer version ")
        server.signal(signal.SIGTERM)
        assert server.wait_exit(10) == 0
        assert not path.exists()
    finally:
        server.stop()


# -- what is watched ------------------------------------------------------------------


def touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_scan_finds_py_files_and_skips_hidden_installed_and_generated_ones(tmp_path: Path) -> None:
    wanted = [touch(tmp_path / "app.py"), touch(tmp_path / "pkg" / "views.py")]
    for skipped in [".venv/lib/x.py", ".git/hook.py", "pkg/__pycache__/views.py", "lib/site-packages/dep.py",
                    "node_modules/tool.py", "notes.txt"]:
        touch(tmp_path / skipped)
    files, truncated = scan([tmp_path])
    assert sorted(files) == sorted(str(p) for p in wanted)
    assert not truncated


def test_scan_stops_at_the_cap_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(5):
        touch(tmp_path / f"m{i}.py")
    monkeypatch.setattr(reload, "MAX_WATCHED_FILES", 3)
    files, truncated = scan([tmp_path])
    assert (len(files), truncated) == (3, True)


def test_a_change_an_addition_and_a_removal_are_each_noticed(tmp_path: Path) -> None:
    app = touch(tmp_path / "app.py", "a = 1\n")
    before, _ = scan([tmp_path])
    assert first_change(before, scan([tmp_path])[0]) is None
    app.write_text("a = 22\n")
    assert first_change(before, scan([tmp_path])[0]) == str(app)
    before, _ = scan([tmp_path])
    new = touch(tmp_path / "new.py")
    assert first_change(before, scan([tmp_path])[0]) == str(new)
    before, _ = scan([tmp_path])
    os.remove(new)
    assert first_change(before, scan([tmp_path])[0]) == str(new)


def test_a_directory_inside_another_is_watched_once(tmp_path: Path) -> None:
    inner = tmp_path / "project" / "app"
    inner.mkdir(parents=True)
    assert outermost([str(inner), str(tmp_path / "project"), str(inner)]) == [(tmp_path / "project").resolve()]
