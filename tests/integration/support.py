"""Talking to a real heron server: a subprocess launcher, raw sockets, and an h11 response reader.

Everything here uses real processes and real loopback sockets; nothing is
mocked. Raw sockets let a test send exactly the bytes it wants (pipelined,
trickled, malformed); h11, acting as the client side of a connection,
decides where each response ends, so a test can count responses and tell
a complete response from a truncated one without trusting heron's framing.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h11

REPO = Path(__file__).resolve().parents[2]
APPS = Path(__file__).resolve().parent / "apps"
ECHO = "examples/echo.py:app"
ECHO_APPS = {"heron": ECHO, "wsgi": "examples/echo_wsgi.py:app", "asgi": "examples/echo_asgi.py:app"}
"""The same echo app as a heron App, a plain WSGI app and a plain ASGI app, by interface."""
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
_ANNOUNCE = re.compile(r"heron: serving .* on (https?)://([^\s]+):(\d+) ")


def app_spec(module: str) -> str:
    """``path/to/apps/<module>.py:app``, for the test apps next to this file."""
    return f"{APPS / module}.py:app"


# -- servers -------------------------------------------------------------------


class ServerDied(AssertionError):
    """The server process exited (or never became ready) while a test needed it."""


@dataclass
class Server:
    """One ``python -m heron`` subprocess and what it wrote to stderr."""

    proc: subprocess.Popen[bytes]
    stderr_path: Path
    port: int = 0
    scheme: str = "http"
    host: str = "127.0.0.1"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def url(self, path: str = "/") -> str:
        return f"{self.scheme}://{self.host}:{self.port}{path}"

    def stderr(self) -> str:
        """Everything the server has written to stderr so far."""
        return self.stderr_path.read_text("utf-8", errors="replace")

    def wait_for_stderr(self, pattern: str, timeout: float = 5.0, count: int = 1) -> str:
        """Poll stderr until ``pattern`` (a regex) has matched ``count`` times; return stderr."""
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        while True:
            text = self.stderr()
            if len(regex.findall(text)) >= count:
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not seen {count}x in server stderr within {timeout}s:\n{text}")
            time.sleep(0.02)

    def connect(self, timeout: float = 5.0, rcvbuf: int | None = None) -> socket.socket:
        """A new TCP connection to the server (plain TCP even for HTTPS)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(timeout)
        sock.connect((self.host, self.port))
        return sock

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.proc.send_signal(signum)

    def wait_exit(self, timeout: float) -> int:
        """The exit status, once the process has exited within ``timeout`` seconds."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"server still running {timeout}s later:\n{self.stderr()}") from None

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL (of its whole process group) if it does not exit in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _kill_group(self.proc.pid)
                self.proc.wait(STOP_TIMEOUT)
        return self.proc.returncode


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


TEST_LOOP = os.environ.get("HERON_TEST_LOOP", "asyncio")
"""The event loop servers run on unless a test picks one; scripts/test runs the suite on each."""


def start_server(
    args: Sequence[str],
    stderr_path: Path,
    *,
    wait_ready: bool = True,
) -> Server:
    """Run ``python -m heron <args>`` from the repository root and wait until it serves.

    The server is told ``--port 0`` by callers, so the kernel picks a free
    port with no race between choosing and binding; the port is read from
    the line heron prints once its socket listens. Readiness is then proved
    by a connection the server itself closes when the client half-closes
    without sending a byte: that needs the event loop to be running, and
    leaves no request (and no access-log line) behind.
    """
    return launch([sys.executable, "-m", "heron", *args], stderr_path, wait_ready=wait_ready)


def _wait_announced(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        match = _ANNOUNCE.search(server.stderr())
        if match:
            server.scheme, server.host, server.port = match.group(1), match.group(2), int(match.group(3))
            return
        if server.proc.poll() is not None:
            raise ServerDied(f"server exited with {server.proc.returncode} before listening:\n{server.stderr()}")
        if time.monotonic() > deadline:
            raise ServerDied(f"server did not announce its address within {START_TIMEOUT}s:\n{server.stderr()}")
        time.sleep(0.02)


def _wait_serving(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if server.proc.poll() is not None:
            raise ServerDied(f"server exited with {server.proc.returncode}:\n{server.stderr()}")
        try:
            with server.connect(timeout=1.0) as sock:
                sock.shutdown(socket.SHUT_WR)
                if sock.recv(1) == b"":
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ServerDied(f"server did not accept connections within {START_TIMEOUT}s:\n{server.stderr()}")
        time.sleep(0.05)


# -- raw sockets -----------------------------------------------------------------


@dataclass
class Received:
    """Bytes read from a socket and how the reading ended."""

    data: bytes
    ending: str  # "closed" (EOF), "reset" (RST) or "timeout" (still open)

    @property
    def closed(self) -> bool:
        return self.ending in ("closed", "reset")


def recv_until_close(sock: socket.socket, timeout: float = 5.0) -> Received:
    """Read until the server closes the connection, or ``timeout`` seconds pass."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return Received(b"".join(chunks), "timeout")
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return Received(b"".join(chunks), "timeout")
        except ConnectionResetError:
            return Received(b"".join(chunks), "reset")
        if not chunk:
            return Received(b"".join(chunks), "closed")
        chunks.append(chunk)


def exchange(server: Server, data: bytes, timeout: float = 5.0) -> Received:
    """Open a connection, send ``data`` at once, read until the server closes it."""
    with server.connect() as sock:
        sock.sendall(data)
        return recv_until_close(sock, timeout)


def is_closed_by_peer(sock: socket.socket, timeout: float) -> bool:
    """True if the peer closes within ``timeout`` seconds (any bytes before that are dropped)."""
    return recv_until_close(sock, timeout).closed


def wait_readable(sock: socket.socket, timeout: float) -> bool:
    return bool(select.select([sock], [], [], timeout)[0])


def request(method: str, target: str, headers: Iterable[tuple[str, str]] = (), body: bytes = b"",
            version: str = "1.1", host: str | None = "t") -> bytes:
    """The bytes of one request; add Content-Length yourself if you want one."""
    lines = [f"{method} {target} HTTP/{version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def get(target: str, *headers: tuple[str, str], version: str = "1.1") -> bytes:
    return request("GET", target, headers, version=version)


def post(target: str, body: bytes, *headers: tuple[str, str]) -> bytes:
    return request("POST", target, [("Content-Length", str(len(body))), *headers], body)


# -- responses ---------------------------------------------------------------------


@dataclass
class Response:
    """One response as h11 read it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    informational: list[int] = field(default_factory=list)
    complete: bool = True  # False: the connection ended before the body did

    def header(self, name: str) -> str | None:
        name = name.lower()
        for n, v in self.headers:
            if n == name:
                return v
        return None

    def header_names(self) -> set[str]:
        return {n for n, _ in self.headers}

    @property
    def closes(self) -> bool:
        return "close" in (self.header("connection") or "").lower()

    def json(self) -> Any:
        return json.loads(self.body)


class ResponseReader:
    """Reads responses one at a time from a live socket, keeping any extra bytes for the next.

    Each response is read by a fresh h11 client connection that is told the
    method of the request it answers (a HEAD response has no body, however
    long its Content-Length says the body would be).
    """

    def __init__(self, sock: socket.socket, timeout: float = 5.0) -> None:
        self.sock = sock
        self.timeout = timeout
        self.buffer = b""
        self.eof = False

    def _fill(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no complete response within the timeout")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no complete response within the timeout") from None
        except ConnectionResetError:
            chunk = b""
        if chunk:
            self.buffer += chunk
        else:
            self.eof = True

    def read(self, method: str = "GET", timeout: float | None = None) -> Response:
        """The next response; raises TimeoutError if none completes in time, EOFError if none starts."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self.buffer and not self.eof:
            self._fill(deadline)
        if not self.buffer:
            raise EOFError("connection closed, no further response")
        conn = _client_for(method)
        conn.receive_data(self.buffer)
        self.buffer = b""
        fed_eof = False
        response: Response | None = None
        body: list[bytes] = []
        informational: list[int] = []
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError:
                if response is not None and fed_eof:  # closed mid-body
                    response.body = b"".join(body)
                    response.complete = False
                    return response
                raise
            if event is h11.NEED_DATA:
                if self.eof:
                    if fed_eof:
                        raise EOFError("connection closed in the middle of a response head")
                    conn.receive_data(b"")
                    fed_eof = True
                    continue
                self._fill(deadline)
                if self.buffer:
                    conn.receive_data(self.buffer)
                    self.buffer = b""
                continue
            if isinstance(event, h11.InformationalResponse):
                informational.append(event.status_code)
            elif isinstance(event, h11.Response):
                response = Response(event.status_code, [(n.decode(), v.decode("latin-1")) for n, v in event.headers],
                                    b"", informational)
            elif isinstance(event, h11.Data):
                body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                assert response is not None
                response.body = b"".join(body)
                self.buffer = conn.trailing_data[0] + self.buffer
                return response
            elif isinstance(event, h11.ConnectionClosed):
                raise EOFError("connection closed before a response")

    def read_all(self, methods: Sequence[str] = (), timeout: float | None = None) -> list[Response]:
        """Every response until the server closes (``methods`` in order, then GET)."""
        responses: list[Response] = []
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            method = methods[len(responses)] if len(responses) < len(methods) else "GET"
            try:
                responses.append(self.read(method, timeout=max(0.0, deadline - time.monotonic())))
            except EOFError:
                return responses


def _client_for(method: str) -> h11.Connection:
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method=method, target="/", headers=[("Host", "t")]))
    conn.send(h11.EndOfMessage())
    return conn


def parse_responses(data: bytes, methods: Sequence[str] = ()) -> list[Response]:
    """All responses in ``data``, which ends where the server closed the connection."""
    reader = ResponseReader(_NoSocket(), 0.1)  # type: ignore[arg-type]
    reader.buffer = data
    reader.eof = True
    return reader.read_all(methods)


class _NoSocket:
    """Stands in for a socket that has already reached EOF."""

    def settimeout(self, _timeout: float) -> None:
        pass

    def recv(self, _size: int) -> bytes:
        return b""


# -- servers started another way ---------------------------------------------------


def launch(command: Sequence[str], stderr_path: Path, *, cwd: Path = REPO, env: dict[str, str] | None = None,
           pass_fds: Sequence[int] = (), wait_ready: bool = True) -> Server:
    """Run ``command`` (the ``heron`` script, a ``--reload`` supervisor, a server handed a socket) like start_server.

    ``env`` is added to this process's environment; readiness is awaited
    the same way, over TCP (so pass ``wait_ready=False`` for a Unix socket).
    """
    if "--loop" not in command:
        command = [*command, "--loop", TEST_LOOP]
    with stderr_path.open("wb") as stderr_file:
        proc = subprocess.Popen(
            command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=stderr_file, start_new_session=True, pass_fds=tuple(pass_fds),
            env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    server = Server(proc, stderr_path)
    if wait_ready:
        try:
            _wait_announced(server)
            _wait_serving(server)
        except BaseException:
            server.stop()
            raise
    return server


def timed_body(sock: socket.socket, method: str = "GET", timeout: float = 5.0
               ) -> tuple[h11.Response, list[tuple[float, bytes]], list[tuple[bytes, bytes]] | None]:
    """Read one response with h11, timing each body piece from now.

    Returns (head, [(seconds, data)], trailers); trailers is None when the
    connection ended before the body did.
    """
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method=method, target="/", headers=[("Host", "t")]))
    conn.send(h11.EndOfMessage())
    started = time.monotonic()
    head: h11.Response | None = None
    pieces: list[tuple[float, bytes]] = []
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError:
            assert head is not None, "the connection ended before a response head"
            return head, pieces, None
        if event is h11.NEED_DATA:
            sock.settimeout(max(0.01, started + timeout - time.monotonic()))
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                data = b""
            conn.receive_data(data)
            continue
        if isinstance(event, h11.Response):
            head = event
        elif isinstance(event, h11.Data):
            pieces.append((time.monotonic() - started, bytes(event.data)))
        elif isinstance(event, h11.EndOfMessage):
            assert head is not None
            return head, pieces, [(bytes(n), bytes(v)) for n, v in event.headers]


# -- the probe apps (apps/wsgi_probe.py, apps/asgi_probe.py) -----------------------------------


def ask(server: Server, data: bytes, method: str = "GET", timeout: float = 5.0) -> Response:
    """Send one request on a new connection and read its response."""
    with server.connect(timeout) as sock:
        sock.sendall(data)
        return ResponseReader(sock, timeout).read(method)


def ask_json(server: Server, data: bytes, method: str = "GET", timeout: float = 5.0) -> Any:
    response = ask(server, data, method, timeout)
    assert response.status == 200, (response.status, response.body)
    return response.json()


def chunked(body: bytes, size: int = 5) -> bytes:
    """``body`` in chunked framing, ``size`` bytes a chunk, with the last-chunk."""
    pieces = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def events(server: Server, tag: str) -> list[Any]:
    """What a probe app recorded under ``tag`` (its ``/events`` endpoint)."""
    return ask_json(server, get(f"/events?tag={tag}"))  # type: ignore[no-any-return]


def wait_events(server: Server, tag: str, until: Callable[[list[Any]], bool], timeout: float = 5.0) -> list[Any]:
    """Poll the app's record for ``tag`` until ``until`` holds (close() and background work may run just after
    the response)."""
    deadline = time.monotonic() + timeout
    while True:
        found = events(server, tag)
        if until(found):
            return found
        assert time.monotonic() < deadline, f"events for {tag!r} never satisfied the condition: {found}"
        time.sleep(0.05)
