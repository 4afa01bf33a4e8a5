"""Compressed responses over a real server, read by real clients: curl --compressed, requests and a raw socket
timing a stream's first piece."""

from __future__ import annotations

import gzip
import subprocess
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .conftest import ServerPool
from .support import Server, app_spec

TEXT = "heron compresses what shrinks. " * 1000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    pool = ServerPool(tmp_path_factory.mktemp("compressed"))
    try:
        yield pool.start(app=app_spec("compressed"))
    finally:
        pool.stop_all()


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_curl_compressed_gets_the_text_back(server: Server, coding: str) -> None:
    result = subprocess.run(["curl", "-sS", "--max-time", "10", "-D", "-", "--compressed", "-H",
                             f"Accept-Encoding: {coding}", server.url("/text")], capture_output=True, timeout=20)
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    if coding != "gzip" and b"unrecognized content encoding" in result.stderr + body:
        pytest.skip(f"this curl cannot decode {coding}")
    assert result.returncode == 0, result.stderr
    assert f"content-encoding: {coding}".encode() in head.lower()
    assert body.decode() == TEXT


def test_requests_decodes_gzip_and_the_length_is_the_compressed_one(server: Server) -> None:
    response = requests.get(server.url("/text"), headers={"Accept-Encoding": "gzip"}, timeout=5)
    assert response.text == TEXT
    assert response.headers["Content-Encoding"] == "gzip" and response.headers["Vary"] == "Accept-Encoding"
    assert int(response.headers["Content-Length"]) < len(TEXT) // 10
    assert response.headers["ETag"] == 'W/"t1"'
    raw = requests.get(server.url("/json"), headers={"Accept-Encoding": "gzip"}, stream=True, timeout=5)
    assert gzip.decompress(raw.raw.read()).startswith(b'{"numbers":[0,1,2')


def test_head_has_the_fields_of_the_compressed_get(server: Server) -> None:
    headers = {"Accept-Encoding": "gzip"}
    get = requests.get(server.url("/text"), headers=headers, stream=True, timeout=5)
    head = requests.head(server.url("/text"), headers=headers, timeout=5)
    for name in ("Content-Encoding", "Content-Length", "Vary", "ETag"):
        assert head.headers.get(name) == get.headers.get(name), name
    get.close()


def test_without_accept_encoding_the_body_is_as_written(server: Server) -> None:
    response = requests.get(server.url("/text"), headers={"Accept-Encoding": "identity"}, timeout=5)
    assert "Content-Encoding" not in response.headers and response.text == TEXT


def test_a_compressed_stream_delivers_its_first_piece_at_once(server: Server) -> None:
    """The first event arrives (and decompresses) long before the second is made, a second later."""
    started = time.monotonic()
    with requests.get(server.url("/events"), headers={"Accept-Encoding": "gzip"}, stream=True, timeout=5) as reply:
        assert reply.headers["Content-Encoding"] == "gzip"
        decoder = zlib.decompressobj(31)
        pieces = reply.raw.stream(64, decode_content=False)
        first = b""
        while b"\n\n" not in first:
            first += decoder.decompress(next(pieces))
        elapsed = time.monotonic() - started
        assert first == b"data: first\n\n"
        assert elapsed < 0.5, f"the first event took {elapsed:.2f} s"
        rest = b"".join(decoder.decompress(piece) for piece in pieces)
        assert rest + decoder.flush() == b"data: second\n\n"


@pytest.mark.parametrize("app", ["examples/echo_wsgi.py:app", "examples/echo_asgi.py:app", "examples/echo.py:app"])
def test_compress_switch_compresses_any_app(tmp_path: Path, app: str) -> None:
    pool = ServerPool(tmp_path)
    expected = "".join(f"chunk{i}\n" for i in range(2000))
    try:
        hosted = pool.start("--compress", app=app)
        response = requests.get(hosted.url("/stream?n=2000"), headers={"Accept-Encoding": "gzip"}, timeout=5)
        assert response.headers["Content-Encoding"] == "gzip" and response.headers["Vary"] == "Accept-Encoding"
        assert response.text == expected
        plain = pool.start(app=app)
        response = requests.get(plain.url("/stream?n=2000"), headers={"Accept-Encoding": "gzip"}, timeout=5)
        assert "Content-Encoding" not in response.headers and response.text == expected
    finally:
        pool.stop_all()


def test_a_gzip_request_body_is_decoded_and_a_zip_bomb_is_413_then_the_server_goes_on(
        tmp_path: Path) -> None:
    pool = ServerPool(tmp_path)
    try:
        server = pool.start("--max-decoded-body-bytes", "1000000", app=app_spec("compressed"))
        posted = requests.post(server.url("/count"), data=gzip.compress(b"x" * 999_999),
                               headers={"Content-Encoding": "gzip"}, timeout=5)
        assert posted.json() == {"bytes": 999_999}
        bomb = gzip.compress(bytes(256 * 1024 * 1024), 9)  # 256 MiB of zeros in about 250 KiB
        with requests.Session() as session:
            refused = session.post(server.url("/count"), data=bomb, headers={"Content-Encoding": "gzip"}, timeout=10)
            assert refused.status_code == 413 and "1000000 bytes once decoded" in refused.text
            assert session.get(server.url("/json"), timeout=5).status_code == 200
    finally:
        pool.stop_all()
