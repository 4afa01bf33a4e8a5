"""Request bodies with a Content-Encoding: 415 unless the app decodes them, then decoded within a limit."""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from typing import Any

import pytest

from heron import App, Request
from heron.errors import HTTPError
from heron.protocol.contentcoding import BodyDecoder
from heron.testing import TestClient
from heron.web.requestcoding import PIECE, DecodedBody

DATA = {"words": ["heron"] * 500}


def make_app(decompress: bool) -> App:
    app = App(decompress_requests=decompress)

    @app.post("/json")
    async def echo_json(request: Request) -> Any:
        return {"got": await request.json(), "encoding": request.headers.get("content-encoding"),
                "length": request.headers.get("content-length")}

    @app.post("/form")
    async def echo_form(request: Request) -> Any:
        return dict((await request.form()).items())

    @app.post("/stream")
    async def count(request: Request) -> Any:
        sizes = [len(piece) async for piece in request.stream()]
        return {"total": sum(sizes), "largest": max(sizes)}

    @app.post("/sync")
    def echo_sync(request: Request) -> bytes:
        return request.read()

    return app


def gzipped_json(data: Any) -> bytes:
    return gzip.compress(json.dumps(data).encode())


def test_an_encoded_body_is_415_with_accept_encoding_identity_by_default() -> None:
    with TestClient(make_app(decompress=False)) as client:
        response = client.post("/json", body=gzipped_json(DATA),
                               headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert response.status == 415 and response.headers["accept-encoding"] == "identity"
    assert "identity" in response.text


def test_identity_and_no_body_are_not_refused() -> None:
    with TestClient(make_app(decompress=False)) as client:
        plain = client.post("/json", json=DATA, headers={"Content-Encoding": "identity"})
        assert plain.status == 200 and plain.json()["got"] == DATA
        assert client.post("/sync", headers={"Content-Encoding": "gzip"}).status == 200  # no body to decode


def test_a_gzip_json_body_is_decoded_and_its_wire_headers_are_gone() -> None:
    with TestClient(make_app(decompress=True)) as client:
        response = client.post("/json", body=gzipped_json(DATA),
                               headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert response.status == 200
    assert response.json() == {"got": DATA, "encoding": None, "length": None}


@pytest.mark.parametrize("coding, encode", [("gzip", gzip.compress), ("x-gzip", gzip.compress),
                                            ("deflate", zlib.compress), ("GZip", gzip.compress)])
def test_forms_and_plain_def_handlers_see_the_decoded_body(coding: str, encode: Any) -> None:
    with TestClient(make_app(decompress=True)) as client:
        form = client.post("/form", body=encode(b"name=heron&kind=bird"),
                           headers={"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": coding})
        assert form.status == 200 and form.json() == {"name": "heron", "kind": "bird"}
        echoed = client.post("/sync", body=encode(b"x" * 100_000), headers={"Content-Encoding": coding})
        assert echoed.status == 200 and echoed.body == b"x" * 100_000


def test_a_stream_comes_decoded_in_pieces_of_at_most_one_turns_work() -> None:
    with TestClient(make_app(decompress=True)) as client:
        response = client.post("/stream", body=gzip.compress(bytes(5 * PIECE)), headers={"Content-Encoding": "gzip"})
    assert response.json() == {"total": 5 * PIECE, "largest": PIECE}


@pytest.mark.parametrize("header, accepted", [("br", "gzip, deflate"), ("gzip, gzip", "gzip, deflate"),
                                              ("compress", "gzip, deflate"), ("gzip;q=1", "gzip, deflate")])
def test_codings_it_cannot_decode_are_415_saying_which_it_can(header: str, accepted: str) -> None:
    with TestClient(make_app(decompress=True)) as client:
        response = client.post("/json", body=b"\x00" * 10, headers={"Content-Encoding": header})
    assert response.status == 415 and response.headers["accept-encoding"] == accepted


def test_a_body_that_is_not_gzip_is_400() -> None:
    with TestClient(make_app(decompress=True)) as client:
        response = client.post("/json", body=b"plain text, not gzip", headers={"Content-Encoding": "gzip"})
    assert response.status == 400 and "not valid gzip" in response.text


class _Arrived:
    """A body stream whose bytes have all arrived, in the pieces given."""

    def __init__(self, *pieces: bytes) -> None:
        self._pieces = list(pieces)
        self.gone = False

    async def read_chunk(self) -> bytes:
        return self._pieces.pop(0) if self._pieces else b""

    def take_if_complete(self) -> bytes | None:
        whole, self._pieces = b"".join(self._pieces), []
        return whole

    async def wait_disconnected(self) -> None:
        await asyncio.Event().wait()


async def read_all(body: DecodedBody) -> int:
    total = 0
    while piece := await body.read_chunk():
        total += len(piece)
    return total


def test_a_zip_bomb_is_413_after_the_limit_not_after_the_bomb() -> None:
    bomb = gzip.compress(bytes(64 * 1024 * 1024), 9)
    body = DecodedBody(_Arrived(bomb[:1000], bomb[1000:]), BodyDecoder("gzip"), 3 * PIECE + 5)
    with pytest.raises(HTTPError) as raised:
        asyncio.run(read_all(body))
    assert raised.value.status == 413 and str(3 * PIECE + 5) in raised.value.detail
    whole = DecodedBody(_Arrived(bomb), BodyDecoder("gzip"), 100)
    with pytest.raises(HTTPError):
        whole.take_if_complete()


def test_exactly_the_limit_is_allowed() -> None:
    data = gzip.compress(b"y" * 1000)
    assert asyncio.run(read_all(DecodedBody(_Arrived(data), BodyDecoder("gzip"), 1000))) == 1000
    assert DecodedBody(_Arrived(data), BodyDecoder("gzip"), 1000).take_if_complete() == b"y" * 1000
