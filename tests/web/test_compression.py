"""Response compression in-process: which responses, which coding, and the headers that must follow."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import brotli  # type: ignore[import-untyped]
import pytest
import zstandard

from heron import App, FileResponse, Request, Response, StreamingResponse
from heron.testing import TestClient, TestResponse
import heron.web.compression as compression_module
from heron.web.compression import THREAD_BYTES, compression

TEXT = "heron compresses what shrinks. " * 100  # 3,100 bytes of text


def make_app(**options: Any) -> App:
    app = App()
    app.add_middleware(compression(**options))

    @app.route("/text", methods=["GET", "HEAD"])
    async def text(request: Request) -> Response:
        return Response(TEXT, headers=[("ETag", '"v1"')])

    @app.get("/json")
    async def data(request: Request) -> Any:
        return {"items": list(range(1000))}

    @app.get("/small")
    async def small(request: Request) -> str:
        return "tiny"

    @app.get("/png")
    async def png(request: Request) -> Response:
        return Response(b"\x89PNG" + bytes(5000), content_type="image/png")

    @app.get("/encoded")
    async def encoded(request: Request) -> Response:
        return Response(gzip.compress(TEXT.encode()), headers=[("Content-Encoding", "gzip")],
                        content_type="text/plain")

    @app.get("/no-transform")
    async def no_transform(request: Request) -> Response:
        return Response(TEXT, headers=[("Cache-Control", "public, no-transform")])

    @app.get("/partial")
    async def partial(request: Request) -> Response:
        return Response(TEXT[:1000], 206, [("Content-Range", "bytes 0-999/3100")])

    @app.get("/empty")
    async def empty(request: Request) -> Response:
        return Response(b"", 204)

    @app.get("/not-modified")
    async def not_modified(request: Request) -> Response:
        return Response(b"", 304, [("ETag", '"v1"')])

    @app.get("/partial-png")
    async def partial_png(request: Request) -> Response:
        return Response(bytes(1000), 206, [("Content-Range", "bytes 0-999/5000")], content_type="image/png")

    @app.route("/stream", methods=["GET", "HEAD"])
    async def stream(request: Request) -> StreamingResponse:
        async def events() -> AsyncIterator[str]:
            for i in range(5):
                yield f"data: event {i}\n\n"
        return StreamingResponse(events(), content_type="text/event-stream")

    @app.get("/sync-stream")
    async def sync_stream(request: Request) -> StreamingResponse:
        def lines() -> Iterator[bytes]:
            for i in range(100):
                yield f"line {i}\n".encode()
        return StreamingResponse(lines())

    @app.get("/file")
    async def file(request: Request) -> FileResponse:
        return FileResponse(__file__, content_type="text/plain")

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app())


def decoded(response: TestResponse) -> bytes:
    coding = response.headers.get("content-encoding")
    body = response.body
    if coding == "gzip":
        return gzip.decompress(body)
    if coding == "br":
        return bytes(brotli.decompress(body))
    if coding == "zstd":
        return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(body))
    assert coding is None
    return body


@pytest.mark.parametrize("accept, coding", [
    ("gzip", "gzip"), ("br", "br"), ("zstd", "zstd"), ("gzip, br, zstd", "zstd"), ("gzip, br", "br"),
    ("gzip;q=1, br;q=0.5", "gzip"), ("*", "zstd"), ("*;q=0.5, gzip", "gzip"), ("br;q=0, *", "zstd"),
    ("x-gzip", "gzip"), ("GZIP", "gzip"), ("gzip;q=0", None), ("identity", None), ("", None),
    ("gzipped", None), ("gzip;q=bogus", None), ("identity;q=0, deflate", None),
])
def test_the_coding_follows_the_q_values_then_the_servers_order(client: TestClient, accept: str,
                                                                 coding: str | None) -> None:
    response = client.get("/text", headers={"Accept-Encoding": accept} if accept else {})
    assert response.headers.get("content-encoding") == coding
    assert decoded(response) == TEXT.encode()
    assert response.headers.get("vary") == "Accept-Encoding"  # the answer depended on the header either way


def test_a_compressed_variant_has_a_weak_etag_and_its_own_length(client: TestClient) -> None:
    response = client.get("/text", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("etag") == 'W/"v1"'
    assert len(response.body) < len(TEXT) / 10
    assert client.get("/text").headers.get("etag") == '"v1"'


def test_json_is_compressed(client: TestClient) -> None:
    response = client.get("/json", headers={"Accept-Encoding": "gzip"})
    assert json.loads(decoded(response)) == {"items": list(range(1000))}


@pytest.mark.parametrize("path", ["/small", "/png", "/no-transform", "/partial", "/empty", "/file", "/not-modified",
                                  "/partial-png"])
def test_what_is_left_alone(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"Accept-Encoding": "gzip, br, zstd"})
    assert response.headers.get("content-encoding") is None
    # a 304, and a 206 of a type that would be compressed, repeat the Vary of the 200 they stand for
    assert response.headers.get("vary") == ("Accept-Encoding" if path in ("/not-modified", "/partial") else None)


def test_an_encoded_body_is_not_encoded_twice(client: TestClient) -> None:
    response = client.get("/encoded", headers={"Accept-Encoding": "br"})
    assert response.headers.get_all("content-encoding") == ["gzip"]
    assert gzip.decompress(response.body) == TEXT.encode()


@pytest.mark.parametrize("path", ["/text", "/stream"])
def test_head_gets_the_fields_its_get_would(client: TestClient, path: str) -> None:
    """RFC 9110 section 9.3.2; a body in memory is compressed for its length, a stream only announced."""
    get = client.get(path, headers={"Accept-Encoding": "gzip"})
    head = client.head(path, headers={"Accept-Encoding": "gzip"})
    assert head.status == 200 and head.body == b""
    for name in ("content-encoding", "vary", "etag", "content-length", "transfer-encoding"):
        assert head.headers.get(name) == get.headers.get(name), name


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
@pytest.mark.parametrize("path, expected", [
    ("/stream", "".join(f"data: event {i}\n\n" for i in range(5)).encode()),
    ("/sync-stream", "".join(f"line {i}\n" for i in range(100)).encode()),
])
def test_streams_are_compressed_as_they_go(client: TestClient, coding: str, path: str, expected: bytes) -> None:
    response = client.get(path, headers={"Accept-Encoding": coding})
    assert response.headers.get("content-encoding") == coding
    assert decoded(response) == expected


def test_a_large_body_is_compressed_whole(client: TestClient) -> None:
    app = App()
    app.add_middleware(compression())
    big = ("0123456789abcdef" * 40_000).encode()  # 640 KiB: compressed in the thread pool

    @app.get("/big")
    async def large(request: Request) -> Response:
        return Response(big, content_type="text/plain")

    response = TestClient(app).get("/big", headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(response.body) == big


def test_codings_can_be_narrowed_and_ordered() -> None:
    client = TestClient(make_app(codings=["gzip"]))
    assert client.get("/text", headers={"Accept-Encoding": "br, zstd, gzip"}).headers.get("content-encoding") == \
        "gzip"
    assert client.get("/text", headers={"Accept-Encoding": "br"}).headers.get("content-encoding") is None
    with pytest.raises(ValueError):
        compression(codings=["lzma"])


def test_vary_is_merged_not_overwritten() -> None:
    app = App()
    app.add_middleware(compression())

    @app.get("/")
    async def index(request: Request) -> Response:
        return Response(TEXT, headers=[("Vary", "Cookie")])

    assert TestClient(app).get("/", headers={"Accept-Encoding": "gzip"}).headers.get_all("vary") == \
        ["Cookie", "Accept-Encoding"]


@pytest.mark.parametrize("size, in_thread", [(THREAD_BYTES - 1, False), (THREAD_BYTES, True)])
def test_bodies_from_thread_bytes_on_are_compressed_off_the_event_loop(
        monkeypatch: pytest.MonkeyPatch, size: int, in_thread: bool) -> None:
    """The loop's thread compresses below THREAD_BYTES, the pool from there; the bytes round-trip either way."""
    threads: list[int] = []
    real = compression_module._whole

    def whole(compressor: Any, body: bytes) -> bytes:
        threads.append(threading.get_ident())
        return real(compressor, body)

    monkeypatch.setattr(compression_module, "_whole", whole)
    app = App()
    app.add_middleware(compression(codings=["gzip"]))
    text = ("".join(f"{i:08x}" for i in range(size // 8 + 1)))[:size]

    @app.get("/big")
    async def big(request: Request) -> Response:
        threads.append(threading.get_ident())  # the event loop's thread
        return Response(text)

    with TestClient(app) as client:
        response = client.get("/big", headers={"Accept-Encoding": "gzip"})
    assert decoded(response) == text.encode()
    loop_thread, compressing_thread = threads
    assert (compressing_thread != loop_thread) is in_thread
