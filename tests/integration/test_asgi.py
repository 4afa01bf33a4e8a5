"""ASGI 3 conformance of heron's ASGI hosting (HTTP and lifespan), over real loopback servers.

The app is tests/integration/apps/asgi_probe.py, a plain ASGI callable
that reports its scope and the messages it received, and records what
happened inside it (exceptions from ``send``, ``receive`` results after
the response, work after the response) for ``GET /events?tag=...``.
"""

from __future__ import annotations

import random
import signal
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Serve, ServerPool
from .support import (
    ResponseReader,
    Server,
    app_spec,
    ask,
    ask_json,
    chunked,
    events,
    get,
    parse_responses,
    post,
    request,
    timed_body,
    wait_events,
)

PROBE = app_spec("asgi_probe")
EXIT_STARTUP_FAILED = 3


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    servers = ServerPool(tmp_path_factory.mktemp("asgi"))
    try:
        yield servers
    finally:
        servers.stop_all()


@pytest.fixture(scope="module")
def asgi(pool: ServerPool) -> Server:
    return pool.start(app=PROBE)


# -- helpers ----------------------------------------------------------------------------------


def body_of(pieces: list[tuple[float, bytes]]) -> bytes:
    return b"".join(p for _, p in pieces)


def reset(sock: socket.socket) -> None:
    """Close with a TCP RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# -- scope --------------------------------------------------------------------------------------


def test_http_scope(asgi: Server) -> None:
    with asgi.connect() as sock:
        sock.sendall(request("GET", "/scope/caf%C3%A9/a%2Fb?x=%20y&a=1", [
            ("X-Multi", "one"), ("X-Multi", "two"), ("X-Mixed-CASE", "Value Kept"),
        ], host=f"127.0.0.1:{asgi.port}"))
        scope = ResponseReader(sock).read().json()
        client_port = sock.getsockname()[1]
    assert scope["type"] == "http"
    assert scope["asgi"]["version"] == "3.0"
    assert isinstance(scope["asgi"]["spec_version"], str)
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "GET"
    assert scope["scheme"] == "http"
    assert scope["path"] == "/scope/café/a/b"  # percent-decoded, UTF-8
    assert scope["raw_path"] == "/scope/caf%C3%A9/a%2Fb"  # as sent, no query string
    assert scope["query_string"] == "x=%20y&a=1"
    assert scope["root_path"] == ""
    assert scope["types"]["path"] == "str"
    assert scope["types"]["raw_path"] == scope["types"]["query_string"] == "bytes"
    assert scope["types"]["headers"] in ("list", "tuple")
    assert scope["header_types"] == ["bytes"]
    assert scope["headers"] == [  # lower-cased names, values as sent, order and repeats kept
        ["host", f"127.0.0.1:{asgi.port}"],
        ["x-multi", "one"], ["x-multi", "two"],
        ["x-mixed-case", "Value Kept"],
    ]
    assert scope["client"] == ["127.0.0.1", client_port]
    assert scope["server"] == ["127.0.0.1", asgi.port]
    assert scope["state"] == ["shared", "started"]  # what lifespan.startup stored
    assert "http.response.trailers" in scope["extensions"]


def test_http_scope_for_a_post_and_http_1_0(asgi: Server) -> None:
    scope = ask_json(asgi, request("POST", "/scope", [("Content-Length", "0")], version="1.0"), "POST")
    assert scope["http_version"] == "1.0"
    assert scope["method"] == "POST"
    assert scope["query_string"] == ""
    assert ["content-length", "0"] in scope["headers"]


def test_state_from_lifespan_is_a_shallow_copy_per_request(asgi: Server) -> None:
    first = ask_json(asgi, get("/state"))
    assert first == {"keys": ["shared", "started"], "started": "by lifespan.startup"}
    second = ask_json(asgi, get("/state"))
    assert "mutated-by-request" not in second["keys"]  # the first request changed only its copy
    assert ask_json(asgi, get("/lifespan")) == ["lifespan.startup"]


@pytest.fixture(scope="module")
def rooted(pool: ServerPool) -> Server:
    return pool.start("--root-path", "/api", app=PROBE)


def test_root_path(rooted: Server) -> None:
    """ASGI 2.4 / heron/hosting/asgiscope.py: path and raw_path both start with root_path,
    which the server puts back in front of the path a proxy stripped it from (docs/proxy.md)."""
    scope = ask_json(rooted, get("/scope/items?q=1"))
    assert scope["root_path"] == "/api"
    assert scope["path"] == "/api/scope/items"
    assert scope["raw_path"] == "/api/scope/items"
    assert scope["query_string"] == "q=1"


# -- receive ------------------------------------------------------------------------------------


def test_chunked_upload_arrives_in_several_messages(asgi: Server) -> None:
    body = random.Random(5).randbytes(1_000_000)
    result = ask_json(asgi, request("POST", "/receive", [("Transfer-Encoding", "chunked")]) + chunked(body, 16384),
                      "POST")
    messages = result["messages"]
    assert len(messages) > 1
    assert [more for _, more in messages] == [True] * (len(messages) - 1) + [False]
    assert sum(n for n, _ in messages) == result["length"] == len(body)
    assert result["sum"] == sum(body) % 65521


def test_content_length_body_ends_with_more_body_false(asgi: Server) -> None:
    body = b"0123456789" * 20_000
    result = ask_json(asgi, post("/receive", body), "POST")
    messages = result["messages"]
    assert messages[-1][1] is False
    assert all(more for _, more in messages[:-1])
    assert result["length"] == len(body) and result["body_head"] == body[:64].decode()


@pytest.mark.parametrize("data", [
    get("/receive"),
    post("/receive", b""),
    request("POST", "/receive", [("Transfer-Encoding", "chunked")]) + b"0\r\n\r\n",
], ids=["get", "empty-length", "empty-chunked"])
def test_empty_body_is_one_message(asgi: Server, data: bytes) -> None:
    """ASGI HTTP spec, "Request - receive event": the body message is also "a trigger to actually run request
    code", so a request without a body still gets one ``http.request`` (body b"", more_body False)."""
    result = ask_json(asgi, data, "POST", timeout=2)
    assert result["messages"] == [[0, False]]


@pytest.mark.parametrize("how", ["close", "reset"])
def test_disconnect_reaches_a_long_poll_waiting_in_receive(asgi: Server, tag: str, how: str) -> None:
    """ASGI HTTP spec, "Disconnect - receive event": sent when the connection closes while the app waits."""
    sock = asgi.connect()
    try:
        sock.sendall(post(f"/long-poll?tag={tag}", b"subscribe"))
        wait_events(asgi, tag, lambda e: "waiting" in e)
        time.sleep(0.1)
    finally:
        if how == "reset":
            reset(sock)
        else:
            sock.close()
    found = wait_events(asgi, tag, lambda e: len(e) > 1, timeout=3)
    assert found[1]["type"] == "http.disconnect"


def test_receive_after_the_response_is_complete_gives_disconnect_at_once(asgi: Server, tag: str) -> None:
    with asgi.connect() as sock:
        sock.sendall(post(f"/after-complete?tag={tag}", b"x"))
        response = ResponseReader(sock).read("POST")
        assert response.status == 200 and response.body == b"done"
        found = wait_events(asgi, tag, bool)  # the connection is still open (keep-alive)
    assert found[0]["type"] == "http.disconnect"
    assert found[0]["after"] < 0.5


# -- send ---------------------------------------------------------------------------------------


def test_complete_response(asgi: Server) -> None:
    with asgi.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(post("/complete", b"read and ignored") + post("/complete", b"again"))
        first, second = reader.read("POST"), reader.read("POST")
    for response in (first, second):
        assert response.status == 201 and response.body == b"complete\n"
        assert response.header("content-length") == "9"
        assert response.header("transfer-encoding") is None
        assert [v for n, v in response.headers if n == "x-probe"] == ["complete", "twice"]


def test_streaming_response_is_chunked_and_sent_as_it_is_produced(asgi: Server, tag: str) -> None:
    with asgi.connect() as sock:
        sock.sendall(get(f"/stream?n=3&sleep=0.4&tag={tag}"))
        head, pieces, trailers = timed_body(sock)
    assert head.status_code == 200
    assert dict(head.headers).get(b"transfer-encoding") == b"chunked"
    assert trailers is not None  # complete
    assert body_of(pieces) == b"piece 0;piece 1;piece 2;"
    assert pieces[0][0] < 0.3, "the first piece waited for the app to finish"
    assert pieces[-1][0] >= 0.75
    assert wait_events(asgi, tag, bool) == ["stream finished"]


def test_trailers_follow_the_chunked_body(asgi: Server) -> None:
    with asgi.connect() as sock:
        sock.sendall(get("/trailers", ("TE", "trailers")))
        data = b""
        deadline = time.monotonic() + 5
        while not data.endswith(b"\r\n\r\n") or b"\r\n0\r\n" not in data:
            assert time.monotonic() < deadline, data
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    last_chunk = body[body.index(b"\r\n0\r\n") + 2:]
    assert last_chunk.lower() == b"0\r\nx-checksum: abc123\r\nx-count: 2\r\n\r\n"
    [response] = parse_responses(data)
    assert response.body == b"hello trailers"


def test_head_on_a_streaming_endpoint(asgi: Server, tag: str) -> None:
    with asgi.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(request("HEAD", f"/stream?n=3&sleep=0.05&tag={tag}") + get("/hello"))
        head = reader.read("HEAD")
        after = reader.read()
    assert head.status == 200 and head.body == b""
    assert after.status == 200 and after.body == b"hello\n"  # the connection stayed in sync
    assert wait_events(asgi, tag, bool) == ["stream finished"]  # sends after the head were not errors


def test_send_after_the_client_left_raises_an_oserror(asgi: Server, tag: str) -> None:
    """ASGI HTTP spec 2.4: send() on a closed connection raises an OSError subclass."""
    with asgi.connect() as sock:
        sock.sendall(get(f"/send-after-disconnect?tag={tag}"))
        received = b""
        while b"first;" not in received:  # the head and the first chunk may come in separate segments
            data = sock.recv(65536)
            assert data, received
            received += data
    found = wait_events(asgi, tag, lambda e: len(e) > 1)
    assert found[0] == "first sent"
    assert found[1].startswith("OSError"), found


def test_app_raising_before_start_is_a_500(asgi: Server) -> None:
    with asgi.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(get("/raise-before-start"))
        response = reader.read()
        sock.sendall(get("/hello"))
        after = reader.read()
    assert response.status == 500
    assert b"secret detail" not in response.body and b"Traceback" not in response.body
    assert after.body == b"hello\n"
    asgi.wait_for_stderr("asgi_probe secret detail 5678")


def test_app_raising_mid_stream_cuts_the_response(asgi: Server) -> None:
    with asgi.connect() as sock:
        sock.sendall(get("/raise-mid-stream"))
        head, pieces, trailers = timed_body(sock)
    assert head.status_code == 200
    assert trailers is None  # no terminating chunk: the client can tell the body is incomplete
    assert body_of(pieces) == b"partial;"
    asgi.wait_for_stderr("asgi_probe failure in the middle of a stream")


def test_app_returning_without_a_response_is_a_500(asgi: Server) -> None:
    assert ask(asgi, get("/no-response")).status == 500


def test_message_after_completion_is_logged_and_the_response_stands(asgi: Server, tag: str) -> None:
    with asgi.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(get(f"/message-after-completion?tag={tag}"))
        response = reader.read()
        sock.sendall(get("/hello"))
        after = reader.read()
    assert response.status == 200 and response.body == b"whole"
    assert after.body == b"hello\n"
    assert wait_events(asgi, tag, bool) == ["raised RuntimeError"]
    asgi.wait_for_stderr("after the response was complete")


def test_background_work_after_the_response(asgi: Server, tag: str) -> None:
    started = time.monotonic()
    response = ask(asgi, get(f"/background?tag={tag}&sleep=0.8"))
    elapsed = time.monotonic() - started
    assert response.status == 200 and response.body == b"answered"
    assert elapsed < 0.6, "the client waited for the app's background work"
    assert events(asgi, tag) == ["response sent"]
    assert wait_events(asgi, tag, lambda e: len(e) > 1) == ["response sent", "background work done"]


# -- lifespan -----------------------------------------------------------------------------------


def test_shutdown_runs_on_sigterm(serve: Serve, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    marker = tmp_path / "shutdown.txt"
    monkeypatch.setenv("ASGI_PROBE_MARKER", str(marker))
    server = serve(app=PROBE)
    assert ask_json(server, get("/state"))["started"] == "by lifespan.startup"
    assert not marker.exists()
    server.signal(signal.SIGTERM)
    assert server.wait_exit(10) == 0
    assert marker.read_text() == "shutdown after ['lifespan.startup', 'lifespan.shutdown']\n"


def test_startup_failed_stops_the_server(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASGI_PROBE_LIFESPAN", "fail")
    server = serve(app=PROBE, wait_ready=False)
    assert server.wait_exit(10) == EXIT_STARTUP_FAILED
    log = server.stderr()
    assert "heron: startup failed: asgi_probe: the cache is unreachable" in log
    assert "Traceback" not in log


def test_app_without_lifespan_support_still_serves_with_lifespan_auto(
        serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASGI_PROBE_LIFESPAN", "raise")
    server = serve("--lifespan", "auto", app=PROBE)
    assert ask_json(server, get("/state")) == {"keys": [], "started": None}
    assert ask_json(server, get("/lifespan")) == []
    server.signal(signal.SIGTERM)
    assert server.wait_exit(10) == 0


def test_app_without_lifespan_support_fails_with_lifespan_on(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASGI_PROBE_LIFESPAN", "raise")
    server = serve("--lifespan", "on", app=PROBE, wait_ready=False)
    assert server.wait_exit(10) == EXIT_STARTUP_FAILED
    log = server.stderr()
    assert "heron: startup failed:" in log
    assert "lifespan" in log
    assert "Traceback" not in log


def test_lifespan_off_sends_no_lifespan_events(serve: Serve, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    marker = tmp_path / "shutdown.txt"
    monkeypatch.setenv("ASGI_PROBE_MARKER", str(marker))
    server = serve("--lifespan", "off", app=PROBE)
    assert ask_json(server, get("/lifespan")) == []
    assert ask_json(server, get("/state")) == {"keys": [], "started": None}
    server.signal(signal.SIGTERM)
    assert server.wait_exit(10) == 0
    assert not marker.exists()
