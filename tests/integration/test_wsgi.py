"""PEP 3333 conformance of heron's WSGI hosting, over real loopback servers.

The app is tests/integration/apps/wsgi_probe.py, a plain WSGI callable.
Its conformant paths run inside ``wsgiref.validate.validator``, which
raises ``AssertionError`` inside the app when the server breaks the spec:
a 200 with the expected body from such a path is the proof, and every
server's stderr is checked for ``AssertionError`` (and ``WSGIWarning``)
when its module ends. ``/raw/`` paths misbehave on purpose.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme

from .conftest import ServerPool
from .support import (
    Response,
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
    recv_until_close,
    request,
    timed_body,
    wait_events,
    wait_readable,
)

PROBE = app_spec("wsgi_probe")
MAX_BODY = 1_000_000
FILE_SIZE = 700_000  # several sendfile segments (256 KiB) and file_wrapper blocks (8 KiB)
BODY = b"line one\nline two\n\nline four is longer than the others\nlast line, no newline"


def _check_no_violation(server: Server) -> None:
    log = server.stderr()
    assert "AssertionError" not in log, log
    assert "WSGIWarning" not in log, log
    assert "Iterator garbage collected without being closed" not in log, log


@pytest.fixture(scope="module")
def probe_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("wsgi_files")
    (directory / "data.bin").write_bytes(random.Random(3333).randbytes(FILE_SIZE))
    return directory


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory, probe_dir: Path) -> Iterator[ServerPool]:
    servers = ServerPool(tmp_path_factory.mktemp("wsgi"))
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("WSGI_PROBE_DIR", str(probe_dir))
            yield servers
    finally:
        servers.stop_all()
        for server in servers.servers:
            _check_no_violation(server)


@pytest.fixture(scope="module")
def wsgi(pool: ServerPool) -> Server:
    return pool.start("--max-body-bytes", str(MAX_BODY), app=PROBE)


# -- helpers ----------------------------------------------------------------------------------


def chunked_post(target: str, body: bytes, *headers: tuple[str, str], size: int = 5) -> bytes:
    return request("POST", target, [("Transfer-Encoding", "chunked"), *headers]) + chunked(body, size)


# -- environ ----------------------------------------------------------------------------------


def test_environ_for_a_get_passes_the_validator(wsgi: Server) -> None:
    with wsgi.connect() as sock:
        sock.sendall(request("GET", "/environ/caf%C3%A9/a%2Fb?x=%20y&a=1&a=2", [
            ("X-Multi", "one"), ("X-Multi", "two"),
            ("Cookie", "a=1"), ("Cookie", "b=2"),
            ("X-Spoof", "from the proxy"), ("X_Spoof", "forged by the client"),
            ("Accept", "text/plain"),
        ], host=f"127.0.0.1:{wsgi.port}"))
        environ = ResponseReader(sock).read().json()
        client_port = sock.getsockname()[1]
    assert environ["input_type"] == "InputWrapper"  # wsgiref.validate checked this request
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["SCRIPT_NAME"] == ""
    # PEP 3333 "Unicode Issues": percent-decoded, the path's bytes as latin-1 (CGI's PATH_INFO is decoded)
    assert environ["PATH_INFO"] == "/environ/café/a/b".encode().decode("latin-1") == "/environ/cafÃ©/a/b"
    assert environ["QUERY_STRING"] == "x=%20y&a=1&a=2"  # as sent
    assert set(environ["missing"]) == {"CONTENT_TYPE", "CONTENT_LENGTH"}  # no body: neither is set
    assert "HTTP_CONTENT_TYPE" not in environ and "HTTP_CONTENT_LENGTH" not in environ
    assert environ["SERVER_NAME"] == "127.0.0.1"
    assert environ["SERVER_PORT"] == str(wsgi.port)
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["HTTP_HOST"] == f"127.0.0.1:{wsgi.port}"
    assert environ["HTTP_X_MULTI"] == "one, two"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"  # RFC 6265 section 5.4: one cookie-string, "; " separated
    assert environ["HTTP_X_SPOOF"] == "from the proxy"  # the underscore variant is dropped, not merged
    assert "forged by the client" not in json.dumps(environ)
    assert environ["HTTP_ACCEPT"] == "text/plain"
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["REMOTE_PORT"] == str(client_port)
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["wsgi.version"] == [1, 0]
    assert environ["wsgi.multithread"] is True
    assert environ["wsgi.multiprocess"] is False
    assert environ["wsgi.run_once"] is False
    assert environ["wsgi.input_terminated"] is True
    _check_no_violation(wsgi)


def test_environ_for_a_post_with_content_length(wsgi: Server) -> None:
    environ = ask_json(wsgi, post("/environ", b"some body", ("Content-Type", "text/plain; charset=utf-8")))
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["CONTENT_LENGTH"] == "9"
    assert environ["CONTENT_TYPE"] == "text/plain; charset=utf-8"
    assert environ["missing"] == []
    _check_no_violation(wsgi)


def test_environ_for_a_chunked_post_has_no_content_length(wsgi: Server) -> None:
    environ = ask_json(wsgi, chunked_post("/environ", BODY, ("Content-Type", "application/octet-stream")))
    assert environ["missing"] == ["CONTENT_LENGTH"]
    assert environ["CONTENT_TYPE"] == "application/octet-stream"
    assert "HTTP_TRANSFER_ENCODING" not in environ  # decoded by the server: wsgi.input gives the plain body
    assert environ["wsgi.input_terminated"] is True
    _check_no_violation(wsgi)


def test_environ_for_http_1_0(wsgi: Server) -> None:
    environ = ask_json(wsgi, request("GET", "/environ?q", version="1.0", host=f"localhost:{wsgi.port}"))
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.0"
    assert environ["QUERY_STRING"] == "q"
    assert environ["SERVER_NAME"] == "localhost"


def test_server_name_and_port_are_never_empty(wsgi: Server) -> None:
    """PEP 3333, environ variables: SERVER_NAME and SERVER_PORT "are required strings and must never be empty".

    An HTTP/1.0 request may come without Host; the server then has to name
    itself (the address the request came in on), or URL reconstruction
    gives ``http://:80/``.
    """
    environ = ask_json(wsgi, request("GET", "/environ", version="1.0", host=None))
    assert "HTTP_HOST" not in environ
    assert environ["SERVER_NAME"] != ""
    assert environ["SERVER_PORT"] == str(wsgi.port)


def test_head_passes_the_validator_and_keeps_content_length(wsgi: Server) -> None:
    with wsgi.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(request("HEAD", "/hello") + get("/hello"))
        head = reader.read("HEAD")
        full = reader.read()
    assert head.status == 200 and head.body == b""
    assert head.header("content-length") == "6"
    assert full.body == b"hello\n"  # the connection stayed in sync after HEAD
    _check_no_violation(wsgi)


# -- wsgi.input ---------------------------------------------------------------------------------


def _expected(mode: str, body: bytes, n: int) -> list[bytes] | None:
    """What Python's own file semantics give for ``mode`` (None: only the concatenation is defined)."""
    stream = io.BytesIO(body)
    if mode == "readline":
        return list(iter(stream.readline, b""))
    if mode == "readline-limit":
        return list(iter(lambda: stream.readline(n), b""))
    if mode in ("iter", "readlines"):
        return stream.readlines()
    return None


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("mode", ["read-n", "readline", "readline-limit", "iter", "readlines"])
def test_wsgi_input_reads_the_whole_body_then_eof(wsgi: Server, framing: str, mode: str) -> None:
    n = 4 if mode == "readline-limit" else 7
    target = f"/read?mode={mode}&n={n}"
    data = post(target, BODY) if framing == "content-length" else chunked_post(target, BODY, size=5)
    result = ask_json(wsgi, data, "POST")
    pieces = [p.encode("latin-1") for p in result["pieces"]]
    assert b"".join(pieces) == BODY
    assert result["after"] == ""  # reading past the end gives b"", for chunked bodies too (input_terminated)
    expected = _expected(mode, BODY, n)
    if expected is not None:
        assert pieces == expected
    else:
        assert all(0 < len(p) <= n for p in pieces)
    _check_no_violation(wsgi)


@pytest.mark.parametrize("framing", ["content-length", "chunked", "none"])
def test_read_without_a_size_returns_everything(wsgi: Server, framing: str) -> None:
    """read() with no argument is outside PEP 3333 (the validator forbids it) but every server supports it."""
    target = "/raw/read?mode=read-all"
    data = {"content-length": post(target, BODY), "chunked": chunked_post(target, BODY),
            "none": get(target)}[framing]
    result = ask_json(wsgi, data, "POST")
    assert result["body"].encode("latin-1") == (b"" if framing == "none" else BODY)
    assert result["after"] == ""


def test_large_chunked_body_read_in_pieces(wsgi: Server) -> None:
    body = random.Random(7).randbytes(400_000)
    result = ask_json(wsgi, chunked_post("/read?mode=read-n&n=65536&summary=1", body, size=10_000), "POST")
    assert result["length"] == len(body)
    assert result["sha256"] == hashlib.sha256(body).hexdigest()
    assert result["count"] == -(-len(body) // 65536)
    assert result["after"] == ""
    _check_no_violation(wsgi)


def test_expect_100_continue_is_answered_when_the_app_reads(wsgi: Server) -> None:
    with wsgi.connect() as sock:
        sock.sendall(request("POST", "/read?mode=read-n&delay=0.6",
                             [("Content-Length", str(len(BODY))), ("Expect", "100-continue")]))
        assert not wait_readable(sock, 0.35), "100 Continue sent before the app read wsgi.input"
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(BODY)
        response = ResponseReader(sock).read("POST")
    assert response.status == 200
    assert response.json()["body"].encode("latin-1") == BODY


def test_expect_100_continue_is_not_sent_when_the_app_never_reads(wsgi: Server) -> None:
    with wsgi.connect() as sock:
        sock.sendall(request("POST", "/hello", [("Content-Length", "1000"), ("Expect", "100-continue")]))
        response = ResponseReader(sock).read("POST")
    assert response.status == 200 and response.body == b"hello\n"
    assert response.informational == []


def test_body_over_max_body_bytes_gets_413_even_if_the_app_swallows_the_error(
        wsgi: Server, tag: str) -> None:
    name = tag
    piece = b"x" * 50_000
    with wsgi.connect() as sock:
        sock.sendall(request("POST", f"/catch-body-error?tag={name}", [("Transfer-Encoding", "chunked")]))
        try:
            for _ in range(2 * MAX_BODY // len(piece)):
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed before the whole body went out
        received = recv_until_close(sock, 5)
    responses = parse_responses(received.data, ["POST"])
    assert [r.status for r in responses] == [413]
    assert b"all is fine" not in received.data
    found = wait_events(wsgi, name, lambda e: bool(e))
    assert found[0].startswith("caught ")  # the app did see (and swallow) the failure
    total = int(found[0].rsplit(" ", 1)[1])
    assert total <= MAX_BODY


# -- start_response and the response ------------------------------------------------------------


def test_start_response_again_with_exc_info_before_the_body(wsgi: Server) -> None:
    response = ask(wsgi, get("/exc-info-before-body"))
    assert response.status == 503  # the second status wins
    assert response.header("x-second") == "yes"
    assert response.header("x-first") is None
    assert response.body == b"second status wins"
    _check_no_violation(wsgi)


def test_exc_info_after_the_body_started_reraises_and_cuts_the_response(
        wsgi: Server, tag: str) -> None:
    name = tag
    with wsgi.connect() as sock:
        sock.sendall(get(f"/raw/exc-info-after-body?tag={name}"))
        head, pieces, trailers = timed_body(sock)
        complete = trailers is not None
        assert head.status_code == 200
        assert not complete  # the connection was aborted inside the chunked body
        assert b"".join(p for _, p in pieces) == b"first part;"
    assert wait_events(wsgi, name, lambda e: "close" in e) == ["re-raised", "close"]


def test_start_response_twice_without_exc_info_is_a_500(wsgi: Server) -> None:
    response = ask(wsgi, get("/raw/twice"))
    assert response.status == 500
    assert b"should never be seen" not in response.body


def test_non_bytes_in_the_iterable_is_a_500(wsgi: Server) -> None:
    response = ask(wsgi, get("/raw/not-bytes"))
    assert response.status == 500
    assert b"not bytes" not in response.body


def test_non_bytes_after_the_body_started_cuts_the_response(wsgi: Server) -> None:
    with wsgi.connect() as sock:
        sock.sendall(get("/raw/not-bytes?kind=gen"))
        head, pieces, trailers = timed_body(sock)
        complete = trailers is not None
    assert head.status_code == 200  # the first piece was already on its way
    assert not complete
    assert b"".join(p for _, p in pieces) == b"fine, "


def test_app_raising_is_a_500_without_details(wsgi: Server) -> None:
    with wsgi.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(get("/raw/raise"))
        response = reader.read()
        sock.sendall(get("/hello"))
        after = reader.read()
    assert response.status == 500
    assert b"secret detail" not in response.body and b"Traceback" not in response.body
    assert after.body == b"hello\n"  # the connection (and the server) goes on
    wsgi.wait_for_stderr("wsgi_probe secret detail 1234")  # logged for the operator


def test_app_returning_without_start_response_is_a_500(wsgi: Server) -> None:
    response = ask(wsgi, get("/raw/no-start"))
    assert response.status == 500
    assert b"never called" not in response.body


def test_write_callable_data_goes_first_and_at_once(wsgi: Server) -> None:
    with wsgi.connect() as sock:
        sock.sendall(get("/write?sleep=0.6"))
        head, pieces, trailers = timed_body(sock)
        complete = trailers is not None
    assert head.status_code == 200 and complete
    assert b"".join(p for _, p in pieces) == b"written-1;written-2;returned-1;returned-2"
    first_time, first = pieces[0]
    assert first.startswith(b"written-1;")
    assert first_time < 0.45, "write() data was held back until the app returned"
    assert pieces[-1][0] >= 0.55
    _check_no_violation(wsgi)


def test_close_is_called_after_a_normal_response(wsgi: Server, tag: str) -> None:
    name = tag
    response = ask(wsgi, get(f"/stream?n=3&tag={name}"))
    assert response.status == 200 and response.body == b"012"
    assert response.header("transfer-encoding") == "chunked"
    assert wait_events(wsgi, name, lambda e: "close" in e) == ["piece 0", "piece 1", "piece 2", "close"]
    _check_no_violation(wsgi)


def test_close_is_called_for_head(wsgi: Server, tag: str) -> None:
    name = tag
    with wsgi.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(request("HEAD", f"/stream?n=50&sleep=0.01&tag={name}"))
        response = reader.read("HEAD")
        sock.sendall(get("/hello"))
        assert reader.read().body == b"hello\n"
    assert response.status == 200 and response.body == b""
    found = wait_events(wsgi, name, lambda e: "close" in e)
    assert found[-1] == "close" and found.count("close") == 1
    _check_no_violation(wsgi)


def test_close_is_called_when_the_client_disconnects_mid_stream(
        wsgi: Server, tag: str) -> None:
    name = tag
    with wsgi.connect() as sock:
        sock.sendall(get(f"/stream?n=400&sleep=0.01&size=1000&tag={name}"))
        assert sock.recv(65536)  # the head (and some of the body) arrived
    found = wait_events(wsgi, name, lambda e: "close" in e)
    produced = sum(1 for e in found if e.startswith("piece"))
    assert produced < 400, "the app was iterated to the end for a client that had left"
    assert found.count("close") == 1
    _check_no_violation(wsgi)


@pytest.mark.parametrize("kind", ["list", "gen"])
def test_only_the_declared_content_length_is_sent(wsgi: Server, kind: str) -> None:
    """PEP 3333, "Handling the Content-Length Header": the server must not send more than it says."""
    with wsgi.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(get(f"/too-long?kind={kind}"))
        response = reader.read()
        sock.sendall(get("/hello"))
        after = reader.read()
        extra = reader.buffer
    assert response.status == 200 and response.body == b"hello"
    assert response.header("content-length") == "5"
    assert after.body == b"hello\n"  # no stray bytes were taken for the next response
    assert extra == b""
    _check_no_violation(wsgi)


def test_generator_body_is_streamed_as_it_is_produced(wsgi: Server) -> None:
    with wsgi.connect() as sock:
        sock.sendall(get("/stream?n=3&sleep=0.5"))
        head, pieces, trailers = timed_body(sock)
        complete = trailers is not None
    assert head.status_code == 200 and complete
    assert b"".join(p for _, p in pieces) == b"012"
    assert pieces[0][0] < 0.4, "the first piece waited for the generator to finish"
    assert pieces[-1][0] >= 0.9
    _check_no_violation(wsgi)


def test_slow_reading_client_does_not_make_the_server_buffer_the_whole_body(
        wsgi: Server, tag: str) -> None:
    name = tag
    pieces, size = 800, 65536  # 52 MB if the server read the iterable to the end
    with wsgi.connect(rcvbuf=16384) as sock:
        sock.sendall(get(f"/stream?n={pieces}&size={size}&tag={name}"))
        assert sock.recv(1000)
        time.sleep(1.0)  # read nothing more
        produced = sum(1 for e in events(wsgi, name) if e.startswith("piece"))
    assert produced < 200, f"{produced} pieces of 64 KiB produced for a client that read 1 KB"
    found = wait_events(wsgi, name, lambda e: "close" in e)
    assert sum(1 for e in found if e.startswith("piece")) < pieces


def test_wsgi_errors_go_to_the_error_log(wsgi: Server) -> None:
    assert ask(wsgi, get("/errors")).body == b"logged"
    wsgi.wait_for_stderr("wsgi_probe: a line for wsgi.errors")
    wsgi.wait_for_stderr("wsgi_probe: more lines")
    _check_no_violation(wsgi)


# -- wsgi.file_wrapper --------------------------------------------------------------------------


def _file(probe_dir: Path) -> bytes:
    return (probe_dir / "data.bin").read_bytes()


@pytest.mark.parametrize(("query", "start", "stop"), [
    ("", 0, FILE_SIZE),
    ("&offset=1000", 1000, FILE_SIZE),
    ("&offset=300000&length=5000", 300_000, 305_000),
])
def test_file_wrapper_sends_the_file(wsgi: Server, probe_dir: Path, tag: str,
                                     query: str, start: int, stop: int) -> None:
    name = tag
    with wsgi.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(get(f"/raw/file?tag={name}{query}"))
        response = reader.read()
        sock.sendall(get("/hello"))
        after = reader.read()
    assert response.status == 200
    assert response.header("content-length") == str(stop - start)
    assert response.body == _file(probe_dir)[start:stop]
    assert after.body == b"hello\n"
    assert wait_events(wsgi, name, lambda e: bool(e)) == ["file closed"]


@pytest.mark.parametrize("length", [None, 1000])
def test_file_wrapper_around_a_bytesio(wsgi: Server, tag: str, length: int | None) -> None:
    name = tag
    data = bytes(range(256)) * 1000
    query = f"&length={length}" if length is not None else ""
    response = ask(wsgi, get(f"/raw/bytesio?tag={name}{query}"))
    assert response.status == 200
    assert response.body == (data if length is None else data[:length])
    if length is not None:
        assert response.header("content-length") == str(length)
    assert wait_events(wsgi, name, lambda e: bool(e)) == ["bytesio closed"]


# -- other servers: TLS, --root-path, a full thread pool ------------------------------------------


@pytest.fixture(scope="module")
def tls(pool: ServerPool, tmp_path_factory: pytest.TempPathFactory) -> tuple[Server, str]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    directory = tmp_path_factory.mktemp("wsgi_tls")
    certfile, keyfile, ca_file = directory / "cert.pem", directory / "key.pem", directory / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    for pem in cert.cert_chain_pems[1:]:
        pem.write_to_path(str(certfile), append=True)
    cert.private_key_pem.write_to_path(str(keyfile))
    ca.cert_pem.write_to_path(str(ca_file))
    server = pool.start("--certfile", str(certfile), "--keyfile", str(keyfile), app=PROBE)
    assert server.scheme == "https"
    return server, str(ca_file)


def test_over_tls_environ_and_file_wrapper(tls: tuple[Server, str], probe_dir: Path) -> None:
    server, ca_file = tls
    data = _file(probe_dir)
    with requests.Session() as session:
        def fetch(path: str, **kwargs: Any) -> requests.Response:
            method = "POST" if "data" in kwargs else "GET"
            return session.request(method, server.url(path), verify=ca_file, timeout=5, **kwargs)

        environ = fetch("/environ").json()
        assert environ["wsgi.url_scheme"] == "https"
        whole = fetch("/raw/file?tag=tls-whole")
        assert whole.status_code == 200 and whole.content == data
        assert whole.headers["Content-Length"] == str(FILE_SIZE)
        part = fetch("/raw/file?tag=tls-part&offset=12345&length=100000")
        assert part.content == data[12345:112345]
        assert part.headers["Content-Length"] == "100000"
        buffered = fetch("/raw/bytesio?tag=tls-bytesio")
        assert buffered.content == bytes(range(256)) * 1000
        chunks = fetch("/read?mode=read-n&n=3", data=iter([b"over ", b"tls"]))
        assert chunks.json()["body"] == "over tls"
        for name, event in [("tls-whole", "file closed"), ("tls-part", "file closed"),
                            ("tls-bytesio", "bytesio closed")]:
            deadline = time.monotonic() + 5
            while fetch(f"/events?tag={name}").json() != [event]:
                assert time.monotonic() < deadline, name
                time.sleep(0.05)


@pytest.fixture(scope="module")
def rooted(pool: ServerPool) -> Server:
    return pool.start("--root-path", "/app", app=PROBE)


def test_root_path_becomes_script_name(rooted: Server) -> None:
    """--root-path is the prefix a proxy stripped (docs/proxy.md): SCRIPT_NAME, with PATH_INFO what follows it."""
    environ = ask_json(rooted, get("/environ/x"))
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/app", "/environ/x")
    _check_no_violation(rooted)


def test_full_thread_pool_answers_503_with_retry_after(pool: ServerPool) -> None:
    server = pool.start("--threads", "1", "--thread-backlog", "0", app=PROBE)
    results: dict[str, Response] = {}

    def blocked() -> None:
        results["blocked"] = ask(server, get("/block?s=1.5"))

    thread = threading.Thread(target=blocked)
    thread.start()
    try:
        server.wait_for_stderr("wsgi_probe: block started")
        refused = ask(server, get("/hello"))
    finally:
        thread.join(10)
    assert refused.status == 503
    assert refused.header("retry-after") is not None
    assert results["blocked"].status == 200 and results["blocked"].body == b"unblocked"
    assert ask(server, get("/hello")).body == b"hello\n"  # the thread is free again
