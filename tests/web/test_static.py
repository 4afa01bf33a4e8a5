"""StaticFiles in process: hostile paths, symlinks, MIME types, validators, ranges, precompressed files."""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from heron.web.app import App
from heron.messages.mediatypes import media_type
from heron.messages.files import NotTheFile, identity
from heron.messages.fileresponse import FileResponse
from heron.web.safepath import is_inside, resolve_inside, url_segments
from heron.web.negotiation import accepted_encodings, coding_quality
from heron.web.static import StaticFiles
from heron.web.staticcache import STAT_REUSE
from heron.testing import TestClient, TestResponse

BIG = bytes(range(256)) * 1024  # 256 KiB: above SMALL_FILE, so a FileResponse


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    (root / "sub").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / ".git").mkdir()
    (root / ".well-known").mkdir()
    (root / "index.html").write_text("<h1>home</h1>")
    (root / "sub" / "index.html").write_text("<h1>sub</h1>")
    (root / "hello.txt").write_text("hello world\n")
    (root / "app.js").write_text("console.log(1)\n" * 100)
    (root / "big.bin").write_bytes(BIG)
    (root / "data.unknownext").write_bytes(b"\x00\x01")
    (root / ".env").write_text("SECRET=1")
    (root / ".git" / "config").write_text("[core]")
    (root / ".well-known" / "security.txt").write_text("Contact: x")
    (tmp_path / "outside.txt").write_text("outside")
    (tmp_path / "www-private").mkdir()
    (tmp_path / "www-private" / "secret.txt").write_text("secret")
    return root


@pytest.fixture
def client(site: Path) -> Iterator[TestClient]:
    app = App()
    app.static("/static", site, cache_control="public, max-age=60")
    with TestClient(app) as test_client:
        yield test_client


# -- path checks before any file system call ---------------------------------------

HOSTILE = [
    "/../etc/passwd",
    "/a/../../etc/passwd",
    "/%2e%2e/etc/passwd",
    "/%2E%2E/%2e%2e/etc/passwd",
    "/.%2e/etc/passwd",
    "/..%2fetc%2fpasswd",
    "/%2fetc%2fpasswd",
    "/a%2f..%2f..%2fetc",
    "/..%5c..%5cwindows",
    "/a\\..\\b",
    "/%00",
    "/index.html%00.txt",
    "/a%0a",
    "/C:/Windows/win.ini",
    "/c%3a/x",
    "/C:",
    "/.",
    "/./hello.txt",
    "/.git/config",
    "/.env",
    "/%2egit/config",
    "/%2eenv",
    "/sub/.hidden",
    "/%ff%fe",
    "/%c0%ae%c0%ae/etc/passwd",  # overlong UTF-8 for "..": invalid, refused
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_paths_are_refused_before_touching_the_disk(raw: str) -> None:
    assert url_segments(raw) is None


@pytest.mark.parametrize(("raw", "segments"), [
    ("/a/b.txt", ["a", "b.txt"]),
    ("//a///b/", ["a", "b"]),
    ("/caf%C3%A9.txt", ["café.txt"]),
    ("/a%20b", ["a b"]),
    ("/.well-known/security.txt", [".well-known", "security.txt"]),
    ("/a..b/c...", ["a..b", "c..."]),
    ("/", []),
])
def test_ordinary_paths_decode_segment_by_segment(raw: str, segments: list[str]) -> None:
    assert url_segments(raw) == segments


@pytest.mark.parametrize("raw", HOSTILE + ["/../outside.txt", "/%2e%2e/outside.txt", "/..%2foutside.txt"])
def test_hostile_paths_are_404_never_403(client: TestClient, raw: str) -> None:
    response = client.get("/static" + raw)
    assert response.status == 404
    assert b"outside" not in response.body and b"SECRET" not in response.body


def test_commonpath_not_startswith(tmp_path: Path) -> None:
    root = str(tmp_path / "www")
    assert is_inside(root, root)
    assert is_inside(root, os.path.join(root, "a"))
    assert not is_inside(root, root + "-private")
    assert not is_inside(root, str(tmp_path))


def test_well_known_is_served(client: TestClient) -> None:
    assert client.get("/static/.well-known/security.txt").text == "Contact: x"


# -- symlinks ---------------------------------------------------------------------


def test_symlinks_are_refused_by_default(site: Path, tmp_path: Path) -> None:
    (site / "out.txt").symlink_to(tmp_path / "outside.txt")
    (site / "in.txt").symlink_to(site / "hello.txt")
    (site / "outdir").symlink_to(tmp_path / "www-private")
    root = str(site.resolve())
    assert resolve_inside(root, ["out.txt"], False) is None
    assert resolve_inside(root, ["in.txt"], False) is None
    assert resolve_inside(root, ["outdir", "secret.txt"], False) is None
    app = App()
    app.static("/", site)
    with TestClient(app) as c:
        assert c.get("/out.txt").status == 404
        assert c.get("/in.txt").status == 404
        assert c.get("/outdir/secret.txt").status == 404


def test_followed_symlinks_must_stay_inside_the_root(site: Path, tmp_path: Path) -> None:
    (site / "out.txt").symlink_to(tmp_path / "outside.txt")
    (site / "in.txt").symlink_to(site / "hello.txt")
    (site / "outdir").symlink_to(tmp_path / "www-private")  # shares the root's name as a prefix
    (site / "subl").symlink_to(site / "sub")
    app = App()
    app.static("/", site, follow_symlinks=True)
    with TestClient(app) as c:
        assert c.get("/in.txt").text == "hello world\n"
        assert c.get("/subl/").text == "<h1>sub</h1>"
        assert c.get("/out.txt").status == 404
        assert c.get("/outdir/secret.txt").status == 404


def test_index_symlink_is_refused_by_default(site: Path, tmp_path: Path) -> None:
    (site / "empty" / "index.html").symlink_to(tmp_path / "outside.txt")
    app = App()
    app.static("/", site)
    with TestClient(app) as c:
        assert c.get("/empty/").status == 404


# -- directories ----------------------------------------------------------------------


def test_directory_serves_its_index(client: TestClient) -> None:
    response = client.get("/static/sub/")
    assert response.status == 200
    assert response.text == "<h1>sub</h1>"
    assert response.headers["content-type"] == "text/html"
    assert client.get("/static/").text == "<h1>home</h1>"


def test_directory_without_slash_redirects_308_keeping_the_query(client: TestClient) -> None:
    response = client.get("/static/sub?a=1&b=2")
    assert response.status == 308
    assert response.headers["location"] == "/static/sub/?a=1&b=2"
    assert client.get("/static").headers["location"] == "/static/"


def test_redirect_never_points_at_another_host(site: Path) -> None:
    (site / "evil.example").mkdir()
    app = App()
    app.static("/", site)
    with TestClient(app) as c:
        response = c.get("//evil.example")
        assert response.status == 308
        assert response.headers["location"] == "/evil.example/"


def test_directory_without_index_is_404(client: TestClient) -> None:
    assert client.get("/static/empty/").status == 404


def test_index_none_turns_index_off(site: Path) -> None:
    app = App()
    app.static("/", site, index=None)
    with TestClient(app) as c:
        assert c.get("/sub/").status == 404


def test_file_with_trailing_slash_is_404(client: TestClient) -> None:
    assert client.get("/static/hello.txt/").status == 404


def test_non_get_methods_are_405(client: TestClient) -> None:
    response = client.post("/static/hello.txt", body=b"x")
    assert response.status == 405
    assert "GET" in response.headers["allow"]


def test_bad_configuration_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a directory"):
        StaticFiles(tmp_path / "missing")
    with pytest.raises(ValueError, match="prefix"):
        StaticFiles(tmp_path, "static")
    with pytest.raises(ValueError):
        StaticFiles(tmp_path, cache_control="a\r\nSet-Cookie: x=1")


# -- media types ------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("a.html", "text/html"),
    ("a.css", "text/css; charset=utf-8"),
    ("a.js", "text/javascript; charset=utf-8"),
    ("a.mjs", "text/javascript; charset=utf-8"),
    ("a.json", "application/json"),
    ("a.svg", "image/svg+xml; charset=utf-8"),
    ("a.png", "image/png"),
    ("a.JPG", "image/jpeg"),
    ("a.jpeg", "image/jpeg"),
    ("a.gif", "image/gif"),
    ("a.webp", "image/webp"),
    ("a.ico", "image/vnd.microsoft.icon"),
    ("a.txt", "text/plain; charset=utf-8"),
    ("a.xml", "application/xml; charset=utf-8"),
    ("a.wasm", "application/wasm"),
    ("a.woff", "font/woff"),
    ("a.woff2", "font/woff2"),
    ("a.pdf", "application/pdf"),
    ("a.mp4", "video/mp4"),
    ("a.webm", "video/webm"),
    ("a.unknownext", "application/octet-stream"),
    ("noextension", "application/octet-stream"),
])
def test_media_types_do_not_depend_on_the_machine(name: str, expected: str) -> None:
    assert media_type(name) == expected


def test_responses_carry_type_nosniff_and_cache_control(client: TestClient) -> None:
    response = client.get("/static/hello.txt")
    assert response.status == 200
    assert response.body == b"hello world\n"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers["accept-ranges"] == "bytes"
    assert re.fullmatch(r'"[0-9a-f]+"', response.headers["etag"])
    assert response.headers["last-modified"].endswith(" GMT")
    assert client.get("/static/data.unknownext").headers["content-type"] == "application/octet-stream"


def test_large_file_is_a_file_response_and_complete(client: TestClient, site: Path) -> None:
    response = client.get("/static/big.bin")
    assert response.status == 200
    assert response.body == BIG


def test_head_has_length_and_no_body(client: TestClient) -> None:
    for path, size in (("/static/hello.txt", 12), ("/static/big.bin", len(BIG))):
        response = client.head(path)
        assert response.status == 200
        assert response.body == b""
        assert response.headers["content-length"] == str(size)


def test_file_response_defaults(site: Path) -> None:
    response = FileResponse(site / "app.js", offset=10)
    assert response.length == os.path.getsize(site / "app.js") - 10
    assert response.header("content-type") == "text/javascript; charset=utf-8"
    assert response.header("content-length") == str(response.length)
    assert asyncio.run(_read(response)) == (site / "app.js").read_bytes()[10:]
    with pytest.raises(ValueError):
        FileResponse(site / "app.js", offset=-1)


async def _read(response: FileResponse) -> bytes:
    return b"".join([data async for data in response.chunks()])


@pytest.mark.parametrize("swap", ["fifo", "removed", "truncated", "directory"])
def test_file_response_refuses_a_path_that_is_no_longer_its_regular_file(site: Path, tmp_path: Path,
                                                                          swap: str) -> None:
    """Opened without waiting and checked with fstat: a FIFO in the file's place must not block the reader."""
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 1000)
    response = FileResponse(path)
    path.unlink()
    if swap == "fifo":
        os.mkfifo(path)
    elif swap == "truncated":
        path.write_bytes(b"x" * 10)
    elif swap == "directory":
        path.mkdir()
    with pytest.raises(OSError):
        asyncio.run(asyncio.wait_for(_read(response), 5))


def test_file_response_with_expect_refuses_another_file_at_the_path(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"old!")
    looked_up = identity(os.stat(path))
    replacement = tmp_path / "new.bin"
    replacement.write_bytes(b"new!")
    os.replace(replacement, path)  # same size, another inode
    with pytest.raises(NotTheFile):
        asyncio.run(_read(FileResponse(path, expect=looked_up)))
    assert asyncio.run(_read(FileResponse(path, expect=identity(os.stat(path))))) == b"new!"


# -- validators and preconditions ------------------------------------------------------


def test_if_none_match_gives_304_with_validators_and_no_body(client: TestClient) -> None:
    first = client.get("/static/hello.txt")
    response = client.get("/static/hello.txt", headers={"If-None-Match": first.headers["etag"]})
    assert response.status == 304
    assert response.body == b""
    assert response.headers["etag"] == first.headers["etag"]
    assert response.headers["last-modified"] == first.headers["last-modified"]
    assert response.headers["cache-control"] == "public, max-age=60"
    weak = client.get("/static/hello.txt", headers={"If-None-Match": "W/" + first.headers["etag"]})
    assert weak.status == 304


def test_if_modified_since_gives_304_unless_if_none_match_is_present(client: TestClient) -> None:
    first = client.get("/static/hello.txt")
    since = {"If-Modified-Since": first.headers["last-modified"]}
    assert client.get("/static/hello.txt", headers=since).status == 304
    both = {**since, "If-None-Match": '"something-else"'}
    assert client.get("/static/hello.txt", headers=both).status == 200


def test_if_match_and_if_unmodified_since_give_412(client: TestClient) -> None:
    first = client.get("/static/hello.txt")
    assert client.get("/static/hello.txt", headers={"If-Match": '"nope"'}).status == 412
    assert client.get("/static/hello.txt", headers={"If-Match": "W/" + first.headers["etag"]}).status == 412
    assert client.get("/static/hello.txt", headers={"If-Match": first.headers["etag"]}).status == 200
    early = {"If-Unmodified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"}
    assert client.get("/static/hello.txt", headers=early).status == 412


def test_etag_changes_when_the_file_changes(client: TestClient, site: Path) -> None:
    before = client.get("/static/hello.txt").headers["etag"]
    assert client.get("/static/hello.txt").headers["etag"] == before  # answered from the remembered lookup
    (site / "hello.txt").write_text("changed, and longer\n")
    time.sleep(STAT_REUSE)
    changed = client.get("/static/hello.txt")  # within LOOKUP_TTL: the stat check still sees the change
    assert changed.headers["etag"] != before
    assert changed.body == b"changed, and longer\n"
    assert client.get("/static/hello.txt", headers={"If-None-Match": before}).status == 200


# -- ranges -----------------------------------------------------------------------------------


def test_single_range(client: TestClient) -> None:
    response = client.get("/static/big.bin", headers={"Range": "bytes=100-199"})
    assert response.status == 206
    assert response.body == BIG[100:200]
    assert response.headers["content-range"] == f"bytes 100-199/{len(BIG)}"
    suffix = client.get("/static/hello.txt", headers={"Range": "bytes=-6"})
    assert (suffix.status, suffix.body) == (206, b"world\n")
    open_ended = client.get("/static/big.bin", headers={"Range": "bytes=1000-"})
    assert open_ended.body == BIG[1000:]


def parse_byteranges(response: TestResponse) -> list[tuple[str, str, bytes]]:
    """(Content-Type, Content-Range, data) of each part of a multipart/byteranges body."""
    match = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", response.headers["content-type"])
    assert match
    delimiter = b"--" + match.group(1).encode()
    body = response.body
    assert body.endswith(delimiter + b"--\r\n")
    parts = []
    for chunk in body[: -len(delimiter + b"--\r\n")].split(delimiter)[1:]:
        head, _, data = chunk.partition(b"\r\n\r\n")
        assert data.endswith(b"\r\n")
        fields = dict(line.split(": ", 1) for line in head.decode().strip().split("\r\n"))
        parts.append((fields["Content-Type"], fields["Content-Range"], data[:-2]))
    return parts


def test_multiple_ranges_are_multipart_byteranges(client: TestClient) -> None:
    response = client.get("/static/big.bin", headers={"Range": "bytes=0-9, 5000-5099, -10"})
    assert response.status == 206
    assert "content-range" not in response.headers
    assert parse_byteranges(response) == [
        ("application/octet-stream", f"bytes 0-9/{len(BIG)}", BIG[:10]),
        ("application/octet-stream", f"bytes 5000-5099/{len(BIG)}", BIG[5000:5100]),
        ("application/octet-stream", f"bytes {len(BIG) - 10}-{len(BIG) - 1}/{len(BIG)}", BIG[-10:]),
    ]


def test_large_multipart_is_streamed_with_an_exact_length(client: TestClient) -> None:
    response = client.get("/static/big.bin", headers={"Range": "bytes=0-99999,100000-"})
    parts = parse_byteranges(response)
    assert [p[2] for p in parts] == [BIG[:100000], BIG[100000:]]
    assert int(response.headers["content-length"]) == len(response.body)


def test_unsatisfiable_range_is_416_with_the_size(client: TestClient) -> None:
    response = client.get("/static/hello.txt", headers={"Range": "bytes=500-"})
    assert response.status == 416
    assert response.headers["content-range"] == "bytes */12"


def test_overlapping_or_too_many_ranges_get_the_whole_file(client: TestClient) -> None:
    response = client.get("/static/hello.txt", headers={"Range": "bytes=0-,0-,0-"})
    assert (response.status, response.body) == (200, b"hello world\n")
    many = "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 40, 2))
    assert client.get("/static/big.bin", headers={"Range": many}).status == 200


def test_if_range_mismatch_sends_the_whole_file(client: TestClient) -> None:
    etag = client.get("/static/hello.txt").headers["etag"]
    last_modified = client.get("/static/hello.txt").headers["last-modified"]
    match = client.get("/static/hello.txt", headers={"Range": "bytes=0-4", "If-Range": etag})
    assert (match.status, match.body) == (206, b"hello")
    by_date = client.get("/static/hello.txt", headers={"Range": "bytes=0-4", "If-Range": last_modified})
    assert by_date.status == 206
    stale = client.get("/static/hello.txt", headers={"Range": "bytes=0-4", "If-Range": '"old"'})
    assert (stale.status, stale.body) == (200, b"hello world\n")
    old_date = client.get("/static/hello.txt",
                          headers={"Range": "bytes=0-4", "If-Range": "Sun, 06 Nov 1994 08:49:37 GMT"})
    assert old_date.status == 200


def test_range_is_ignored_on_head(client: TestClient) -> None:
    response = client.head("/static/hello.txt", headers={"Range": "bytes=0-4"})
    assert response.status == 200
    assert response.headers["content-length"] == "12"


# -- precompressed siblings and Accept-Encoding ---------------------------------------------


@pytest.mark.parametrize(("header", "expected"), [
    ("gzip", {"gzip": 1.0}),
    ("gzip;q=0", {"gzip": 0.0}),
    ("gzip; q=0.000, br;q=0.5", {"gzip": 0.0, "br": 0.5}),
    ("GZIP;Q=0.8", {"gzip": 0.8}),
    ("x-gzip", {"gzip": 1.0}),
    ("*;q=0.1", {"*": 0.1}),
    ("gzip;q=bogus, br", {"br": 1.0}),
    ("gzip;q=1.5", {}),
    ("nogzip, gzipx", {"nogzip": 1.0, "gzipx": 1.0}),
])
def test_accept_encoding_is_parsed_not_substring_matched(header: str, expected: dict[str, float]) -> None:
    assert accepted_encodings([header]) == expected


def test_coding_quality_falls_back_to_star_then_zero() -> None:
    assert coding_quality({"*": 0.3}, "br") == 0.3
    assert coding_quality({"*": 1.0, "br": 0.0}, "br") == 0.0
    assert coding_quality({}, "gzip") == 0.0
    assert coding_quality({"nogzip": 1.0}, "gzip") == 0.0


@pytest.fixture
def compressed(site: Path) -> bytes:
    data = gzip.compress((site / "app.js").read_bytes())
    (site / "app.js.gz").write_bytes(data)
    (site / "app.js.br").write_bytes(b"pretend-brotli")
    return data


def test_gzip_sibling_is_served_with_encoding_and_vary(client: TestClient, compressed: bytes, site: Path) -> None:
    response = client.get("/static/app.js", headers={"Accept-Encoding": "gzip, deflate"})
    assert response.body == compressed
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert gzip.decompress(response.body) == (site / "app.js").read_bytes()


def test_br_preferred_on_equal_quality_and_q_values_respected(client: TestClient, compressed: bytes) -> None:
    assert client.get("/static/app.js", headers={"Accept-Encoding": "gzip, br"}).body == b"pretend-brotli"
    assert client.get("/static/app.js", headers={"Accept-Encoding": "gzip, br;q=0.5"}).body == compressed
    refused = client.get("/static/app.js", headers={"Accept-Encoding": "gzip;q=0, br;q=0"})
    assert "content-encoding" not in refused.headers
    assert refused.headers["vary"] == "Accept-Encoding"  # a sibling exists: caches must key on it


def test_identity_without_accept_encoding_still_says_vary(client: TestClient, compressed: bytes, site: Path) -> None:
    response = client.get("/static/app.js")
    assert response.body == (site / "app.js").read_bytes()
    assert "content-encoding" not in response.headers
    assert response.headers["vary"] == "Accept-Encoding"
    assert "vary" not in client.get("/static/hello.txt").headers


def test_encoded_and_identity_variants_have_different_etags(client: TestClient, compressed: bytes) -> None:
    plain = client.get("/static/app.js").headers["etag"]
    coded = client.get("/static/app.js", headers={"Accept-Encoding": "gzip"})
    assert coded.headers["etag"] != plain
    conditional = {"Accept-Encoding": "gzip", "If-None-Match": coded.headers["etag"]}
    not_modified = client.get("/static/app.js", headers=conditional)
    assert not_modified.status == 304
    assert not_modified.headers["vary"] == "Accept-Encoding"


def test_stale_sibling_is_ignored(client: TestClient, compressed: bytes, site: Path) -> None:
    old = os.stat(site / "app.js").st_mtime_ns - 10_000_000_000
    os.utime(site / "app.js.gz", ns=(old, old))
    os.utime(site / "app.js.br", ns=(old, old))
    response = client.get("/static/app.js", headers={"Accept-Encoding": "gzip, br"})
    assert "content-encoding" not in response.headers


def test_ranges_on_a_coded_variant(client: TestClient, compressed: bytes) -> None:
    one = client.get("/static/app.js", headers={"Accept-Encoding": "gzip", "Range": "bytes=0-9"})
    assert (one.status, one.body) == (206, compressed[:10])
    assert one.headers["content-encoding"] == "gzip"
    assert one.headers["content-range"] == f"bytes 0-9/{len(compressed)}"
    several = client.get("/static/app.js", headers={"Accept-Encoding": "gzip", "Range": "bytes=0-1,5-6"})
    assert (several.status, several.body) == (200, compressed)


# -- opt-in directory listing -------------------------------------------------------------------


def test_listing_is_off_by_default(client: TestClient) -> None:
    assert client.get("/static/empty/").status == 404


def test_listing_shows_only_servable_names_escaped(site: Path, tmp_path: Path) -> None:
    (site / "empty" / "<script>alert(1).txt").write_text("x")
    (site / "empty" / "a&b \"q\".txt").write_text("x")
    (site / "empty" / "child").mkdir()
    (site / "empty" / ".secret").write_text("x")
    (site / "empty" / "link.txt").symlink_to(tmp_path / "outside.txt")
    app = App()
    app.static("/", site, listing=True)
    with TestClient(app) as c:
        page = c.get("/empty/")
        assert page.status == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "<script>" not in page.text
        assert "&lt;script&gt;alert(1).txt" in page.text
        assert 'href="./%3Cscript%3Ealert(1).txt"' in page.text
        assert 'href="./a&amp;b%20%22q%22.txt"' in page.text
        assert 'href="./child/"' in page.text
        assert ".secret" not in page.text and "link.txt" not in page.text
        assert c.head("/empty/").body == b""
        assert c.get("/sub/").text == "<h1>sub</h1>"  # an index still wins


def test_static_inside_a_mounted_app_sees_the_mount_prefix(site: Path) -> None:
    inner = App()
    inner.static("/assets", site)
    outer = App()
    outer.mount("/shop", inner)
    with TestClient(outer) as c:
        assert c.get("/shop/assets/hello.txt").text == "hello world\n"
        assert c.get("/shop/assets/sub").headers["location"] == "/shop/assets/sub/"
        assert c.get("/shop/assets/%2e%2e/hello.txt").status == 404
        assert c.get("/assets/hello.txt").status == 404


def test_followed_sibling_symlink_must_stay_inside_the_root(site: Path, tmp_path: Path) -> None:
    (site / "hello.txt.gz").symlink_to(tmp_path / "outside.txt")
    newer = os.stat(site / "hello.txt").st_mtime_ns + 10_000_000_000
    os.utime(tmp_path / "outside.txt", ns=(newer, newer))  # not stale: only the root check refuses it
    app = App()
    app.static("/", site, follow_symlinks=True)
    with TestClient(app) as c:
        response = c.get("/hello.txt", headers={"Accept-Encoding": "gzip"})
        assert response.body == b"hello world\n"
        assert "content-encoding" not in response.headers


# -- remembered lookups (LOOKUP_TTL, MAX_REMEMBERED) -------------------------------------------


def test_sibling_created_after_a_lookup_is_offered_once_the_lookup_expires(site: Path) -> None:
    import dataclasses

    app = App()
    files = app.static("/static", site)
    gzip_please = {"Accept-Encoding": "gzip"}
    with TestClient(app) as test_client:
        assert "content-encoding" not in test_client.get("/static/app.js", headers=gzip_please).headers
        data = gzip.compress((site / "app.js").read_bytes())
        (site / "app.js.gz").write_bytes(data)
        # Within LOOKUP_TTL the remembered lookup (no sibling then) still answers, with the original: correct.
        assert test_client.get("/static/app.js", headers=gzip_please).body == (site / "app.js").read_bytes()
        for key, found in files.cache._found.items():  # LOOKUP_TTL has passed
            files.cache._found[key] = dataclasses.replace(found, until=0.0)
        # The request that finds the lookup expired is still answered from it, and has it
        # looked up again in the thread pool; the requests after that see the sibling.
        assert test_client.get("/static/app.js", headers=gzip_please).body == (site / "app.js").read_bytes()
        deadline = time.monotonic() + 5
        while "content-encoding" not in (response := test_client.get("/static/app.js", headers=gzip_please)).headers:
            assert time.monotonic() < deadline, "the expired lookup was never refreshed"
            time.sleep(0.01)
    assert response.headers["content-encoding"] == "gzip"
    assert response.body == data


def test_an_expired_lookup_is_refreshed_once_not_by_every_request(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses
    import threading

    app = App()
    files = app.static("/static", site)
    calls: list[str] = []
    release = threading.Event()
    look_up = files._look_up

    def slow_look_up(request: object) -> object:
        calls.append("look up")
        release.wait(5)  # a slow disk: the refresh is still running while requests go on
        return look_up(request)  # type: ignore[arg-type]

    with TestClient(app) as test_client:
        assert test_client.get("/static/hello.txt").body == b"hello world\n"
        monkeypatch.setattr(files, "_look_up", slow_look_up)
        for key, found in files.cache._found.items():
            files.cache._found[key] = dataclasses.replace(found, until=0.0)
        for _ in range(20):  # none of them waits for the pool, and one refresh serves them all
            assert test_client.get("/static/hello.txt").body == b"hello world\n"
        assert calls == ["look up"]
        release.set()
        deadline = time.monotonic() + 5
        while files.cache._refreshing or next(iter(files.cache._found.values())).until == 0.0:
            assert time.monotonic() < deadline, "the refresh never finished"
            time.sleep(0.01)
        (site / "hello.txt").unlink()  # gone: the stat check sends the request to the pool, which says 404
        assert test_client.get("/static/hello.txt").status == 404


def test_remembered_lookups_are_bounded(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import heron.web.staticcache as static_module

    monkeypatch.setattr(static_module, "MAX_REMEMBERED", 3)
    for i in range(10):
        (site / f"f{i}.txt").write_text(str(i))
    app = App()
    files = app.static("/s", site)
    with TestClient(app) as test_client:
        for i in range(10):
            assert test_client.get(f"/s/f{i}.txt").body == str(i).encode()
            assert 0 < len(files.cache._found) <= 3
        for i in range(10):  # forgotten ones are looked up again, and still right
            assert test_client.get(f"/s/f{i}.txt").body == str(i).encode()


# -- small files kept in memory (SMALL_FILE, MEMORY_BUDGET) ------------------------------------


def test_a_small_file_is_answered_from_memory_with_no_descriptor(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = App()
    files = app.static("/static", site)
    with TestClient(app) as test_client:
        assert test_client.get("/static/app.js").body == (site / "app.js").read_bytes()  # the lookup reads it
        opened: list[str] = []
        real_open = os.open
        monkeypatch.setattr(os, "open", lambda path, *args: opened.append(path) or real_open(path, *args))
        for _ in range(3):
            response = test_client.get("/static/app.js")
            assert (response.status, response.body) == (200, (site / "app.js").read_bytes())
        ranged = test_client.get("/static/app.js", headers={"Range": "bytes=15-29"})
        assert (ranged.status, ranged.body) == (206, b"console.log(1)\n")
        parts = test_client.get("/static/app.js", headers={"Range": "bytes=0-6,-3"})
        assert parts.status == 206 and b"\r\n\r\nconsole\r\n" in parts.body and b"\r\n\r\n1)\n\r\n" in parts.body
        assert test_client.head("/static/app.js").headers["content-length"] == str(len(response.body))
        assert opened == [], "a kept small file was opened again"
        assert files.cache._open_files is None  # nor a descriptor cache made for them


def test_a_small_file_rewritten_in_place_unseen_by_stat_is_sent_anew_after_the_next_lookup(site: Path) -> None:
    """Same size, same inode, mtime put back: no stat can tell. The next lookup (LOOKUP_TTL) reads it again."""
    import dataclasses

    path = site / "hello.txt"
    app = App()
    files = app.static("/static", site)
    with TestClient(app) as test_client:
        assert test_client.get("/static/hello.txt").body == b"hello world\n"
        before = path.stat()
        with open(path, "r+b") as file:  # in place: the inode stays
            file.write(b"HELLO")
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert test_client.get("/static/hello.txt").body == b"hello world\n"  # within LOOKUP_TTL: as looked up
        for key, found in files.cache._found.items():
            files.cache._found[key] = dataclasses.replace(found, until=0.0)
        test_client.get("/static/hello.txt")  # finds the lookup expired: refreshed in the pool
        deadline = time.monotonic() + 5
        while (body := test_client.get("/static/hello.txt").body) != b"HELLO world\n":
            assert body == b"hello world\n" and time.monotonic() < deadline, "never read again"
            time.sleep(0.01)


def test_memory_budget_lets_the_oldest_lookups_go(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import heron.web.staticcache as static_module

    monkeypatch.setattr(static_module, "MEMORY_BUDGET", 2500)
    for i in range(6):
        (site / f"k{i}.txt").write_bytes(bytes([65 + i]) * 1000)
    app = App()
    files = app.static("/s", site)
    with TestClient(app) as test_client:
        for i in range(6):
            assert test_client.get(f"/s/k{i}.txt").body == bytes([65 + i]) * 1000
            assert files.cache._contents_size == sum(len(data) for _, data in files.cache._contents.values()) <= 2500
        assert sorted(files.cache._contents) == [str(site / "k4.txt"), str(site / "k5.txt")]  # the last two looked up
        for i in range(6):  # let go of: sent from the file instead, still right
            assert test_client.get(f"/s/k{i}.txt").body == bytes([65 + i]) * 1000


def test_one_stat_answers_for_the_requests_within_stat_reuse(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import heron.web.staticcache as static_module

    app = App()
    app.static("/static", site)
    with TestClient(app) as test_client:
        before = test_client.get("/static/hello.txt")
        stats: list[str] = []
        real_stat = os.stat
        monkeypatch.setattr(os, "stat", lambda path, *a, **k: stats.append(str(path)) or real_stat(path, *a, **k))
        monkeypatch.setattr(static_module, "STAT_REUSE", 3600.0)
        assert test_client.get("/static/hello.txt").body == b"hello world\n"  # the loop's first stat of it
        (site / "hello.txt").write_text("changed, and longer\n")
        for _ in range(5):
            same = test_client.get("/static/hello.txt")  # the old bytes with their own validators: never a mix
            assert (same.body, same.headers["etag"]) == (b"hello world\n", before.headers["etag"])
        assert len(stats) == 1
        monkeypatch.setattr(static_module, "STAT_REUSE", 0.0)
        changed = test_client.get("/static/hello.txt")
    assert changed.body == b"changed, and longer\n" and changed.headers["etag"] != before.headers["etag"]


def test_a_kept_file_grown_past_small_file_is_let_go(site: Path) -> None:
    app = App()
    files = app.static("/static", site)
    with TestClient(app) as test_client:
        assert test_client.get("/static/hello.txt").body == b"hello world\n"
        assert str(site / "hello.txt") in files.cache._contents
        (site / "hello.txt").write_bytes(BIG)  # 256 KiB: sent from the file from now on
        time.sleep(STAT_REUSE)
        assert test_client.get("/static/hello.txt").body == BIG
        assert files.cache._contents == {} and files.cache._contents_size == 0
