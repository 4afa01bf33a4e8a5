"""Static files through real servers: ``--static`` and ``App.static`` over loopback, HTTP and HTTPS.

Traversal attempts go over raw sockets, so no client gets a chance to
normalise ``..`` away before it reaches the server.
"""

from __future__ import annotations

import gzip
import http.client
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import trustme

from heron.web.staticcache import STAT_REUSE

from .conftest import Serve, ServerPool
from .support import ResponseReader, Server, app_spec, get, recv_until_close, request

TWO_MIB = os.urandom(2 * 1024 * 1024)
LOOPS = ["asyncio", "uvloop"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("static")
    root = base / "www"
    (root / "docs").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "index.html").write_text("<h1>home</h1>")
    (root / "docs" / "index.html").write_text("<h1>docs</h1>")
    (root / "style.css").write_text("body{}")
    (root / "app.js").write_text("console.log('x');\n" * 200)
    (root / "app.js.gz").write_bytes(gzip.compress((root / "app.js").read_bytes()))
    (root / "data.json").write_text("{}")
    (root / "logo.svg").write_text("<svg/>")
    (root / "font.woff2").write_bytes(b"wOF2")
    (root / "blob.qqq").write_bytes(b"\x00")
    (root / "big.bin").write_bytes(TWO_MIB)
    (root / ".env").write_text("SECRET=hunter2")
    (root / ".git" / "config").write_text("[core] secret")
    (base / "secret.txt").write_text("outside the root: secret")
    (root / "escape.txt").symlink_to(base / "secret.txt")
    return root


@pytest.fixture(scope="module")
def server(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    pool = ServerPool(tmp_path_factory.mktemp("static-server"))
    try:
        yield pool.start("--static", f"/={site}", app=None)
    finally:
        pool.stop_all()


def raw_get(server: Server, target: str, *headers: tuple[str, str],
            method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """Send exactly ``target`` over a raw socket; (status, lower-cased headers, body)."""
    with server.connect() as sock:
        sock.sendall(request(method, target, [*headers, ("Connection", "close")]))
        response = ResponseReader(sock).read(method)
    return response.status, dict(response.headers), response.body


# -- what is served, and how it is labelled ------------------------------------------------


@pytest.mark.parametrize(("path", "content_type"), [
    ("/index.html", "text/html"),  # as nginx: the document says its encoding
    ("/style.css", "text/css; charset=utf-8"),
    ("/app.js", "text/javascript; charset=utf-8"),
    ("/data.json", "application/json"),  # RFC 8259 section 11: no charset parameter
    ("/logo.svg", "image/svg+xml; charset=utf-8"),
    ("/font.woff2", "font/woff2"),
    ("/blob.qqq", "application/octet-stream"),
])
def test_content_types_and_nosniff(server: Server, path: str, content_type: str) -> None:
    response = requests.get(server.url(path), headers={"Accept-Encoding": "identity"}, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Accept-Ranges"] == "bytes"


def test_directory_index_and_slash_redirect(server: Server) -> None:
    assert requests.get(server.url("/"), timeout=5).text == "<h1>home</h1>"
    status, headers, _ = raw_get(server, "/docs?page=2")
    assert status == 308
    assert headers["location"] == "/docs/?page=2"
    assert requests.get(server.url("/docs"), timeout=5).text == "<h1>docs</h1>"  # follows the 308


@pytest.mark.parametrize("target", [
    "/../secret.txt",
    "/docs/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/.%2e/secret.txt",
    "/..%2fsecret.txt",
    "/docs/..%2f..%2fsecret.txt",
    "/..%5csecret.txt",
    "/%2fetc%2fpasswd",
    "/%00secret.txt",
    "/C:/secret.txt",
    "/c%3a/secret.txt",
    "/.env",
    "/%2eenv",
    "/.git/config",
    "/escape.txt",
    "/%c0%ae%c0%ae/secret.txt",
])
def test_traversal_and_hidden_files_are_never_served(server: Server, target: str) -> None:
    status, _, body = raw_get(server, target)
    assert status in (400, 404)  # 400 only where the request parser refuses the target itself
    assert b"secret" not in body and b"hunter2" not in body


def test_non_get_is_405_with_allow(server: Server) -> None:
    response = requests.post(server.url("/index.html"), data=b"x", timeout=5)
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


# -- validators ---------------------------------------------------------------------------------


def test_304_flows(server: Server) -> None:
    first = requests.get(server.url("/style.css"), timeout=5)
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    status, headers, body = raw_get(server, "/style.css", ("If-None-Match", etag))
    assert (status, body) == (304, b"")
    assert headers["etag"] == etag and headers["last-modified"] == last_modified
    assert "content-length" not in headers or headers["content-length"] == "0"
    status, _, _ = raw_get(server, "/style.css", ("If-Modified-Since", last_modified))
    assert status == 304
    status, _, body = raw_get(server, "/style.css", ("If-Modified-Since", last_modified),
                              ("If-None-Match", '"other"'))
    assert (status, body) == (200, b"body{}")


def test_412_flows(server: Server) -> None:
    etag = requests.get(server.url("/style.css"), timeout=5).headers["ETag"]
    assert raw_get(server, "/style.css", ("If-Match", '"other"'))[0] == 412
    assert raw_get(server, "/style.css", ("If-Match", etag))[0] == 200
    assert raw_get(server, "/style.css", ("If-Unmodified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"))[0] == 412


def test_head_has_headers_and_no_body(server: Server) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        conn.request("HEAD", "/big.bin")
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Length") == str(len(TWO_MIB))
        assert response.read() == b""
        conn.request("GET", "/style.css")  # the connection is still in step
        assert conn.getresponse().read() == b"body{}"
    finally:
        conn.close()


# -- ranges ---------------------------------------------------------------------------------------


def test_single_range(server: Server) -> None:
    response = requests.get(server.url("/big.bin"), headers={"Range": "bytes=1000-1999999"}, timeout=5)
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 1000-1999999/{len(TWO_MIB)}"
    assert response.content == TWO_MIB[1000:2000000]
    suffix = requests.get(server.url("/big.bin"), headers={"Range": "bytes=-100"}, timeout=5)
    assert suffix.content == TWO_MIB[-100:]


def parse_byteranges(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    boundary = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", content_type)
    assert boundary is not None
    delimiter = b"--" + boundary.group(1).encode()
    closing = delimiter + b"--\r\n"
    assert body.endswith(closing)
    parts = []
    for chunk in body[: -len(closing)].split(delimiter)[1:]:
        head, _, data = chunk.partition(b"\r\n\r\n")
        assert data.endswith(b"\r\n")
        fields = dict(line.split(": ", 1) for line in head.decode().strip().split("\r\n"))
        assert fields["Content-Type"] == "application/octet-stream"
        parts.append((fields["Content-Range"], data[:-2]))
    return parts


def test_multipart_byteranges(server: Server) -> None:
    size = len(TWO_MIB)
    response = requests.get(server.url("/big.bin"), headers={"Range": "bytes=0-99,1000000-1500000,-10"}, timeout=5)
    assert response.status_code == 206
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert parse_byteranges(response.headers["Content-Type"], response.content) == [
        (f"bytes 0-99/{size}", TWO_MIB[:100]),
        (f"bytes 1000000-1500000/{size}", TWO_MIB[1000000:1500001]),
        (f"bytes {size - 10}-{size - 1}/{size}", TWO_MIB[-10:]),
    ]


def test_unsatisfiable_range_is_416(server: Server) -> None:
    response = requests.get(server.url("/big.bin"), headers={"Range": f"bytes={len(TWO_MIB)}-"}, timeout=5)
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(TWO_MIB)}"


@pytest.mark.parametrize(("spec", "status", "body"), [
    ("bytes=" + "9" * 5000 + "-", 416, None),
    ("bytes=0-" + "9" * 5000, 206, TWO_MIB),
    ("bytes=-" + "9" * 5000, 206, TWO_MIB),
    ("bytes=" + "0" * 5000 + "1-2", 206, TWO_MIB[1:3]),
], ids=["start", "end", "suffix", "leading-zeros"])
def test_range_numbers_of_thousands_of_digits_are_answered_not_crashed(server: Server, spec: str, status: int,
                                                                        body: bytes | None) -> None:
    """int() refuses more than 4300 digits: a Range must still get its 206 or 416, with nothing in the error log."""
    response = requests.get(server.url("/big.bin"), headers={"Range": spec}, timeout=5)
    assert response.status_code == status
    if body is not None:
        assert response.content == body
    assert "Traceback" not in server.stderr()


def test_overlapping_ranges_get_the_whole_file_once(server: Server) -> None:
    response = requests.get(server.url("/big.bin"), headers={"Range": "bytes=0-,0-,0-,0-"}, timeout=5)
    assert response.status_code == 200
    assert response.content == TWO_MIB


def test_max_ranges_flag_is_enforced(serve: Serve, site: Path) -> None:
    server = serve("--static", f"/={site}", "--max-ranges", "2", app=None)
    two = requests.get(server.url("/big.bin"), headers={"Range": "bytes=0-9,100-109"}, timeout=5)
    assert two.status_code == 206
    three = requests.get(server.url("/big.bin"), headers={"Range": "bytes=0-9,100-109,200-209"}, timeout=5)
    assert (three.status_code, three.content) == (200, TWO_MIB)


def test_if_range(server: Server) -> None:
    etag = requests.head(server.url("/big.bin"), timeout=5).headers["ETag"]
    hit = requests.get(server.url("/big.bin"), headers={"Range": "bytes=0-9", "If-Range": etag}, timeout=5)
    assert (hit.status_code, hit.content) == (206, TWO_MIB[:10])
    miss = requests.get(server.url("/big.bin"), headers={"Range": "bytes=0-9", "If-Range": '"old"'}, timeout=5)
    assert miss.status_code == 200
    assert miss.content == TWO_MIB


def test_range_on_head_is_ignored(server: Server) -> None:
    status, headers, body = raw_get(server, "/big.bin", ("Range", "bytes=0-9"), method="HEAD")
    assert (status, body) == (200, b"")
    assert headers["content-length"] == str(len(TWO_MIB))


# -- precompressed files -----------------------------------------------------------------------------


def test_gzip_sibling_with_vary(server: Server, site: Path) -> None:
    status, headers, body = raw_get(server, "/app.js", ("Accept-Encoding", "br;q=1, gzip;q=0.8"))
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert headers["vary"] == "Accept-Encoding"
    assert headers["content-type"] == "text/javascript; charset=utf-8"
    assert gzip.decompress(body) == (site / "app.js").read_bytes()
    status, headers, body = raw_get(server, "/app.js", ("Accept-Encoding", "gzip;q=0"))
    assert "content-encoding" not in headers
    assert headers["vary"] == "Accept-Encoding"
    assert body == (site / "app.js").read_bytes()
    # requests asks for gzip and decodes it, as a browser would
    assert requests.get(server.url("/app.js"), timeout=5).content == (site / "app.js").read_bytes()


# -- big files: sendfile on plain TCP, streamed over TLS and on uvloop ------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def tls_flags(ca: trustme.CA, directory: Path) -> list[str]:
    pem = directory / "server.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(pem))
    return ["--certfile", str(pem)]


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_two_mib_file_is_byte_exact(serve: Serve, site: Path, ca: trustme.CA, tmp_path: Path,
                                    loop: str, tls: bool) -> None:
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    flags = ["--static", f"/={site}", "--loop", loop, *(tls_flags(ca, tmp_path) if tls else [])]
    server = serve(*flags, app=None)
    verify: str | bool = False
    if tls:
        ca_file = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        verify = str(ca_file)
    with requests.Session() as session:
        for _ in range(2):  # twice on one keep-alive connection: the framing is exact
            response = session.get(server.url("/big.bin"), verify=verify, timeout=10)
            assert response.status_code == 200
            assert response.headers["Content-Length"] == str(len(TWO_MIB))
            assert response.content == TWO_MIB
        ranged = session.get(server.url("/big.bin"), headers={"Range": "bytes=65536-1048575"},
                             verify=verify, timeout=10)
        assert ranged.content == TWO_MIB[65536:1048576]


def test_client_that_stops_reading_a_big_file_is_dropped_after_write_timeout(serve: Serve,
                                                                            tmp_path: Path) -> None:
    root = tmp_path / "huge"
    root.mkdir()
    size = 48 * 1024 * 1024
    with open(root / "huge.bin", "wb") as file:
        file.truncate(size)  # sparse: costs no disk
    server = serve("--static", f"/={root}", "--write-timeout", "1", app=None)
    with server.connect(rcvbuf=16384) as sock:
        sock.sendall(get("/huge.bin"))
        time.sleep(3)  # read nothing for longer than write_timeout
        received = recv_until_close(sock, 10)
    assert received.closed
    assert len(received.data) < size


# -- in front of an app, and App.static -------------------------------------------------------------


def test_static_in_front_of_an_app(serve: Serve, site: Path) -> None:
    server = serve("--static", f"/assets={site}")
    assert requests.get(server.url("/assets/style.css"), timeout=5).text == "body{}"
    assert requests.get(server.url("/plaintext"), timeout=5).text == "Hello, World!"
    assert requests.get(server.url("/assets/nope.css"), timeout=5).status_code == 404


def test_app_static(serve: Serve, site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERON_TEST_STATIC_DIR", str(site))
    server = serve(app=app_spec("static_site"))
    response = requests.get(server.url("/files/style.css"), timeout=5)
    assert response.text == "body{}"
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert requests.get(server.url("/files/dynamic"), timeout=5).text == "from a route"
    assert requests.get(server.url("/files/big.bin"), timeout=10).content == TWO_MIB
    assert raw_get(server, "/files/%2e%2e/secret.txt")[0] == 404


def test_static_listing_flag(serve: Serve, site: Path) -> None:
    server = serve("--static", f"/={site.parent}", "--static-listing", app=None)
    page = requests.get(server.url("/"), timeout=5)
    assert page.status_code == 200
    assert 'href="./www/"' in page.text and 'href="./secret.txt"' in page.text
    assert requests.get(server.url("/www/"), timeout=5).text == "<h1>home</h1>"


def test_bad_static_specs_are_refused_with_a_message(tmp_path: Path) -> None:
    for spec in ("nodir", "/x=" + str(tmp_path / "missing"), "x=" + str(tmp_path)):
        result = subprocess.run([sys.executable, "-m", "heron", "--static", spec, "--port", "0"],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode != 0
        assert "heron: --static" in result.stderr
        assert "Traceback" not in result.stderr


# -- FileResponse from a handler, and proof that plain TCP really uses sendfile --------------------


def _settles(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``condition`` (something the server thread updates) until true or ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_file_response_goes_out_through_sendfile_on_plain_tcp(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from heron import App, FileResponse
    from heron.testing import live_server

    calls: list[int] = []
    original = os.sendfile

    def spy(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
        sent = original(out_fd, in_fd, offset, count)
        calls.append(sent)
        return sent

    # heron calls os.sendfile itself while the socket takes the file, and through
    # loop.sendfile (which calls it too) once the socket is full.
    monkeypatch.setattr(os, "sendfile", spy)
    app = App()

    @app.get("/region")
    def region(request: object) -> FileResponse:
        return FileResponse(site / "big.bin", offset=100, length=1_000_000)

    app.static("/files", site)
    with live_server(app) as url:
        response = requests.get(url + "/region", timeout=10)
        assert response.content == TWO_MIB[100:1_000_100]
        assert response.headers["Content-Type"] == "application/octet-stream"
        # The client can hold every byte before the server's last sendfile call has returned.
        assert _settles(lambda: sum(calls) == 1_000_000)
        calls.clear()
        assert requests.get(url + "/files/big.bin", timeout=10).content == TWO_MIB
        assert _settles(lambda: sum(calls) == len(TWO_MIB))
        calls.clear()
        assert requests.head(url + "/region", timeout=10).headers["Content-Length"] == "1000000"
        assert calls == []


@pytest.mark.parametrize("loop", LOOPS)
def test_kept_descriptors_serve_clients_at_once_and_follow_the_file(tmp_path: Path, loop: str) -> None:
    """Within LOOKUP_TTL a file goes out from one descriptor kept open (heron.web.staticcache):
    many responses share it, each from its own offsets, and a file replaced or rewritten
    meanwhile is sent as it is now, with its own length."""
    from concurrent.futures import ThreadPoolExecutor

    from heron import App
    from heron.testing import live_server

    if loop == "uvloop":
        pytest.importorskip("uvloop")
    root = tmp_path / "kept"
    root.mkdir()
    first = os.urandom(700_000)  # more than one socket buffer: the waiting part of sendfile runs too
    (root / "f.bin").write_bytes(first)
    app = App()
    files = app.static("/s", root)
    with live_server(app, loop=loop) as url:

        def fetch(_: int) -> tuple[bytes, str]:
            with requests.Session() as session:
                ranged = session.get(url + "/s/f.bin", headers={"Range": "bytes=1000-1999"}, timeout=10)
                assert ranged.content == first[1000:2000]
                whole = session.get(url + "/s/f.bin", timeout=10)
                return whole.content, whole.headers["Content-Length"]

        with ThreadPoolExecutor(8) as pool:
            assert all(got == (first, "700000") for got in pool.map(fetch, range(24)))
        assert files.cache._open_files is not None and len(files.cache._open_files) == 1  # the one kept descriptor
        second = os.urandom(700_000)
        (root / "next.bin").write_bytes(second)
        os.replace(root / "next.bin", root / "f.bin")  # same size, another inode
        time.sleep(STAT_REUSE)  # until then the stat that found the file unchanged still answers
        assert requests.get(url + "/s/f.bin", timeout=10).content == second
        (root / "f.bin").write_bytes(b"short now")  # in place: same inode, shorter
        time.sleep(STAT_REUSE)
        response = requests.get(url + "/s/f.bin", timeout=10)
        assert response.content == b"short now"
        assert response.headers["Content-Length"] == "9"


def test_kept_descriptors_belong_to_one_loop_at_a_time(tmp_path: Path) -> None:
    """A server's loop owns the cache; a test client's loop beside it opens files per
    response, and takes the cache over once the server's loop is closed."""
    from heron import App
    from heron.testing import TestClient, live_server

    root = tmp_path / "owned"
    root.mkdir()
    owned = b"owned\n" * 40_000  # above SMALL_FILE: sent from a descriptor, not from memory
    (root / "f.bin").write_bytes(owned)
    app = App()
    files = app.static("/s", root)
    with live_server(app, loop="asyncio") as url, TestClient(app) as client:
        for _ in range(3):  # the first looks the file up in the pool; the others are answered on the loop
            assert requests.get(url + "/s/f.bin", timeout=10).content == owned
        server_loop = files.cache._open_loop
        assert server_loop is not None and files.cache._open_files is not None and len(files.cache._open_files) == 1
        for _ in range(3):
            assert client.get("/s/f.bin").body == owned
        assert files.cache._open_loop is server_loop  # not taken from a loop that still runs
    with TestClient(app) as client:
        for _ in range(3):
            assert client.get("/s/f.bin").body == owned
        assert files.cache._open_loop is not server_loop  # the server's loop is closed: taken over


def test_curl_resumes_an_interrupted_download(server: Server, curl: str, tmp_path: Path) -> None:
    partial = tmp_path / "big.bin"
    partial.write_bytes(TWO_MIB[:777_777])  # what an interrupted download left behind
    result = subprocess.run([curl, "-sS", "--fail", "-C", "-", "-o", str(partial), server.url("/big.bin")],
                            capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert partial.read_bytes() == TWO_MIB


def test_curl_compressed_decodes_the_gzip_sibling(server: Server, curl: str, site: Path) -> None:
    result = subprocess.run([curl, "-sS", "--fail", "--compressed", "-D", "-", server.url("/app.js")],
                            capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    assert b"content-encoding: gzip" in head.lower()
    assert body == (site / "app.js").read_bytes()
