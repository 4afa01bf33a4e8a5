"""What a request body costs the server: memory and time in proportion to its size, however it is framed.

A chunked body of tiny chunks is the cheapest way for a client to make a
server do per-piece work: 2-byte chunks are 7 bytes on the wire each.
Under ``max_body_bytes``, such a body must cost about what the same body
costs sent with Content-Length, in memory (peak RSS of the server
process) and in time, whether a handler reads it whole, a WSGI app reads
``wsgi.input`` in any pattern, or an ASGI app loops on ``receive()``.
"""

from __future__ import annotations

import hashlib
import socket
import time
from pathlib import Path

import pytest

from .conftest import Serve
from .support import ECHO, ResponseReader, Server, app_spec, request

MIB = 1024 * 1024


def chunked_body(body: bytes, size: int) -> bytes:
    """``body`` in chunks of ``size`` bytes, built fast (one join), then the last chunk."""
    line = b"%x\r\n" % size
    whole = len(body) - len(body) % size
    parts = [line + body[i:i + size] + b"\r\n" for i in range(0, whole, size)]
    if whole < len(body):
        parts.append(b"%x\r\n" % (len(body) - whole) + body[whole:] + b"\r\n")
    parts.append(b"0\r\n\r\n")
    return b"".join(parts)


def send_body(server: Server, target: str, body: bytes, chunk: int | None) -> tuple[float, dict[str, object]]:
    """POST ``body`` (with Content-Length, or chunked in ``chunk``-byte chunks); (seconds to the answer, its JSON)."""
    if chunk is None:
        data = request("POST", target, [("Content-Length", str(len(body)))]) + body
    else:
        data = request("POST", target, [("Transfer-Encoding", "chunked")]) + chunked_body(body, chunk)
    with server.connect(timeout=120) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * MIB)
        started = time.perf_counter()
        sock.sendall(data)
        response = ResponseReader(sock).read("POST")
        elapsed = time.perf_counter() - started
    assert response.status == 200, response.body[:200]
    return elapsed, response.json()


def peak_rss(server: Server) -> int:
    """The server process's peak resident set (VmHWM), in bytes."""
    for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


@pytest.mark.parametrize("app", [ECHO, "examples/echo_wsgi.py:app", "examples/echo_asgi.py:app"],
                         ids=["heron", "wsgi", "asgi"])
def test_a_body_of_tiny_chunks_costs_about_the_memory_of_the_same_body_with_content_length(
        serve: Serve, app: str) -> None:
    """Was: 28 MiB to 419 MiB for a 15 MiB body in 2-byte chunks (one object per chunk)."""
    body = bytes(range(256)) * (6 * MIB // 256)  # the review used 15 MiB; 6 already tells the two apart
    peaks = {}
    for framing, chunk in (("length", None), ("chunked", 2)):
        server = serve(app=app)  # a fresh process each: VmHWM only ever grows
        _, echoed = send_body(server, "/echo", body, chunk)
        assert echoed["body_sha256"] == hashlib.sha256(body).hexdigest()
        peaks[framing] = peak_rss(server)
        server.stop()
    assert peaks["chunked"] < 1.5 * peaks["length"], {k: v // MIB for k, v in peaks.items()}


# wsgi.input read patterns: (probe target, what the app calls)
WSGI_READS = {
    "read-all": "/raw/read?mode=read-all&summary=1",  # read(): Flask's get_data() takes this path
    "read-4k": "/raw/read?mode=read-n&n=4096&summary=1",
    "readline": "/raw/read?mode=readline&summary=1",  # one line of 16 MiB: no line end to find
    "iter": "/raw/read?mode=iter&summary=1",
}


def test_reading_wsgi_input_is_linear_in_the_body_whatever_the_read_pattern(serve: Serve) -> None:
    """Was: read() copied the whole buffer at each piece, 32 s of CPU for 16 MiB in 256-byte chunks."""
    server = serve(app=app_spec("wsgi_probe"))
    body = b"x" * (16 * MIB)
    baseline, result = send_body(server, "/raw/read?mode=read-n&n=65536&summary=1", body, 256)
    assert result["length"] == len(body)
    for name, target in WSGI_READS.items():
        elapsed, result = send_body(server, target, body, 256)
        assert result["length"] == len(body) and result["sha256"] == hashlib.sha256(body).hexdigest()
        assert elapsed < 3 * baseline + 0.5, f"{name}: {elapsed:.2f} s against {baseline:.2f} s for read(65536)"


def test_receiving_a_body_of_tiny_chunks_in_asgi_is_linear(serve: Serve) -> None:
    server = serve(app="examples/echo_asgi.py:app")
    body = b"y" * (16 * MIB)
    baseline, _ = send_body(server, "/echo", body, None)
    elapsed, echoed = send_body(server, "/echo", body, 256)
    assert echoed["body_len"] == len(body)
    assert elapsed < 3 * baseline + 1.0, f"{elapsed:.2f} s against {baseline:.2f} s with Content-Length"
