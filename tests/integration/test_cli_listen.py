"""Where and what heron serves from the command line: ``--uds``, ``--fd``, the ``heron`` script, HERON_* variables.

Every server here is a real process; Unix sockets are talked to with raw
AF_UNIX sockets and with ``curl --unix-socket``, inherited sockets are
bound by the test and handed over with ``pass_fds``, as systemd or a
supervisor would.
"""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .conftest import Serve
from .support import ECHO, Response, ResponseReader, Server, app_spec, get, launch, post

HERON = [sys.executable, "-m", "heron"]


@pytest.fixture
def sock_path(tmp_path: Path) -> Path:
    path = tmp_path / "heron.sock"
    assert len(str(path)) < 100, "AF_UNIX paths are limited to about 107 bytes"
    return path


@pytest.fixture
def tcp_listener() -> Iterator[socket.socket]:
    """A bound, listening loopback socket to hand to a server, as systemd would."""
    sock = socket.create_server(("127.0.0.1", 0))
    try:
        yield sock
    finally:
        sock.close()


def serve_unix(serve: Serve, path: Path, *flags: str, app: str | None = ECHO) -> Server:
    server = serve("--uds", str(path), *flags, app=app, wait_ready=False)
    server.wait_for_stderr(rf"heron: serving .* on unix:{re.escape(str(path))} \(\d+ workers?\)", timeout=10)
    return server


def unix_exchange(path: Path, data: bytes) -> Response:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        sock.sendall(data)
        return ResponseReader(sock).read()


def test_serves_over_a_unix_socket(serve: Serve, sock_path: Path) -> None:
    serve_unix(serve, sock_path)
    response = unix_exchange(sock_path, get("/plaintext"))
    assert (response.status, response.body) == (200, b"Hello, World!")
    echoed = unix_exchange(sock_path, post("/echo", b"over unix")).json()
    assert (echoed["method"], echoed["body_len"]) == ("POST", 9)


def test_files_go_out_whole_over_a_unix_socket(serve: Serve, sock_path: Path, tmp_path: Path) -> None:
    # No TCP there: no MSG_MORE or cork, but sendfile and the gather write of head and body still.
    public = tmp_path / "public"
    public.mkdir()
    files = {"small.bin": os.urandom(50_000), "large.bin": os.urandom(700_000)}
    for name, data in files.items():
        (public / name).write_bytes(data)
    serve_unix(serve, sock_path, "--static", f"/files={public}", app=None)
    for name, data in files.items():
        for _ in range(2):  # looked up in the thread pool, then answered on the loop
            response = unix_exchange(sock_path, get(f"/files/{name}"))
            assert response.status == 200 and response.body == data


def test_the_unix_socket_is_for_owner_and_group(serve: Serve, sock_path: Path) -> None:
    serve_unix(serve, sock_path)
    mode = sock_path.stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o660


def test_curl_talks_over_the_unix_socket(serve: Serve, sock_path: Path, curl: str) -> None:
    serve_unix(serve, sock_path)
    result = subprocess.run([curl, "-sS", "--max-time", "10", "--unix-socket", str(sock_path),
                             "http://localhost/plaintext"], capture_output=True, timeout=20)
    assert (result.returncode, result.stdout) == (0, b"Hello, World!"), result.stderr


def test_behind_a_proxy_on_a_unix_socket_the_client_comes_from_its_headers(serve: Serve, sock_path: Path) -> None:
    serve_unix(serve, sock_path, "--proxy-headers", "--forwarded-allow-ips", "*", app=app_spec("whoami"))
    plain = unix_exchange(sock_path, get("/whoami")).json()
    assert plain["client"] == ["", 0], "a Unix socket peer has no address"
    proxied = unix_exchange(sock_path, get("/whoami", ("X-Forwarded-For", "203.0.113.9"),
                                           ("X-Forwarded-Proto", "https"))).json()
    assert (proxied["client"][0], proxied["scheme"]) == ("203.0.113.9", "https")


def test_the_socket_file_is_removed_on_exit(serve: Serve, sock_path: Path) -> None:
    server = serve_unix(serve, sock_path, "--workers", "2")
    assert unix_exchange(sock_path, get("/plaintext")).status == 200
    server.signal()
    assert server.wait_exit(10) == 0
    assert not sock_path.exists()


def test_a_stale_socket_file_is_replaced(serve: Serve, sock_path: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(sock_path))  # left behind, as by a server killed with SIGKILL
    serve_unix(serve, sock_path)
    assert unix_exchange(sock_path, get("/plaintext")).status == 200


def test_a_path_that_is_not_a_socket_is_refused_and_kept(serve: Serve, sock_path: Path) -> None:
    sock_path.write_text("precious\n")
    server = serve("--uds", str(sock_path), wait_ready=False)
    assert server.wait_exit(10) == 1
    assert f"heron: cannot listen on unix:{sock_path}: the path exists and is not a socket" in server.stderr()
    assert "Traceback" not in server.stderr()
    assert sock_path.read_text() == "precious\n"


def test_a_live_servers_socket_is_not_taken_over(serve: Serve, sock_path: Path) -> None:
    serve_unix(serve, sock_path)
    second = serve("--uds", str(sock_path), wait_ready=False)
    assert second.wait_exit(10) == 1
    assert "another server is listening on it" in second.stderr()
    assert unix_exchange(sock_path, get("/plaintext")).status == 200


def test_fd_serves_an_inherited_tcp_socket(tmp_path: Path, tcp_listener: socket.socket) -> None:
    fd = tcp_listener.fileno()
    server = launch([*HERON, ECHO, "--fd", str(fd), "--no-access-log"], tmp_path / "fd.stderr", pass_fds=[fd])
    try:
        assert server.port == tcp_listener.getsockname()[1]
        assert requests.get(server.url("/plaintext"), timeout=5).text == "Hello, World!"
    finally:
        assert server.stop() == 0


def test_fd_serves_an_inherited_unix_socket_and_leaves_its_file(tmp_path: Path, sock_path: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(sock_path))
        listener.listen()
        fd = listener.fileno()
        server = launch([*HERON, ECHO, "--fd", str(fd), "--no-access-log"], tmp_path / "fd.stderr",
                        pass_fds=[fd], wait_ready=False)
        try:
            server.wait_for_stderr(rf"on unix:{re.escape(str(sock_path))} \(1 worker\)", timeout=10)
            assert unix_exchange(sock_path, get("/plaintext")).body == b"Hello, World!"
        finally:
            assert server.stop() == 0
        assert sock_path.exists(), "the socket file belongs to whoever bound it"


def test_fd_that_is_not_a_listening_socket_is_refused(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    try:
        server = launch([*HERON, ECHO, "--fd", str(read_end)], tmp_path / "fd.stderr", pass_fds=[read_end],
                        wait_ready=False)
        assert server.wait_exit(10) == 1
        assert re.search(rf"^heron: cannot listen on fd {read_end}: .+$", server.stderr(), re.MULTILINE)
        assert "Traceback" not in server.stderr()
    finally:
        os.close(read_end)
        os.close(write_end)


def test_fd_of_an_unbound_socket_is_refused(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as unbound:
        fd = unbound.fileno()
        server = launch([*HERON, ECHO, "--fd", str(fd)], tmp_path / "fd.stderr", pass_fds=[fd], wait_ready=False)
        assert server.wait_exit(10) == 1
        assert f"heron: cannot listen on fd {fd}: the socket is not bound to an address" in server.stderr()


def test_the_heron_console_script_serves(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "heron"
    assert script.exists(), f"{script} is missing: scripts/test installs the project into .venv"
    server = launch([str(script), ECHO, "--port", "0", "--no-access-log"], tmp_path / "script.stderr")
    try:
        assert requests.get(server.url("/plaintext"), timeout=5).text == "Hello, World!"
    finally:
        assert server.stop() == 0


def test_environment_variables_configure_a_real_server(tmp_path: Path) -> None:
    env = {"HERON_APP": ECHO, "HERON_PORT": "0", "HERON_MAX_BODY_BYTES": "10", "HERON_ACCESS_LOG": "off"}
    server = launch(HERON, tmp_path / "env.stderr", env=env)
    try:
        assert requests.post(server.url("/echo"), data=b"x" * 10, timeout=5).json()["body_len"] == 10
        assert requests.post(server.url("/echo"), data=b"x" * 11, timeout=5).status_code == 413
    finally:
        server.stop()
    flagged = launch([*HERON, "--max-body-bytes", "100"], tmp_path / "flag.stderr", env=env)
    try:
        assert requests.post(flagged.url("/echo"), data=b"x" * 11, timeout=5).status_code == 200
    finally:
        flagged.stop()


WSGI_APP = '''
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"wsgi at ", environ["PATH_INFO"].encode()]
'''


def test_a_wsgi_app_is_detected_and_served_behind_static_files(serve: Serve, tmp_path: Path) -> None:
    (tmp_path / "wsgi_app.py").write_text(WSGI_APP)
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "a.txt").write_text("static\n")
    server = serve("--static", f"/assets={tmp_path / 'public'}", app=f"{tmp_path / 'wsgi_app.py'}:app")
    assert requests.get(server.url("/hello"), timeout=5).text == "wsgi at /hello"
    assert requests.get(server.url("/assets/a.txt"), timeout=5).text == "static\n"

