"""request.form() on multipart bodies in-process: fields and files, spooling, every form limit, and files closed
whatever happens (the request ends, the body is malformed, the client leaves)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import pytest

from heron import HTTPError, Request
from heron.errors import ClientDisconnected
from heron.limits import Limits
from heron.messages.uploads import UploadFile
from heron.protocol.events import RequestHead
from heron.protocol.multipart import encode_multipart

from .test_request import in_thread, run

BOUNDARY = "----heronFormTest1x2y3z"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


class PieceBody:
    """A body handed out in fixed pieces; ``fail_after`` pieces, then the client is gone."""

    def __init__(self, data: bytes, piece: int = 7000, fail_after: int | None = None) -> None:
        self.pieces = [data[i : i + piece] for i in range(0, len(data), piece)]
        self.fail_after = fail_after

    async def read_chunk(self) -> bytes:
        if self.fail_after is not None:
            if self.fail_after == 0:
                raise ClientDisconnected("the client closed the connection")
            self.fail_after -= 1
        return self.pieces.pop(0) if self.pieces else b""

    def take_if_complete(self) -> None:
        return None  # the pieces are still on their way: read them one by one


def form_request(body: bytes, limits: Limits = Limits(), *, content_type: str = MULTIPART, piece: int = 7000,
                 fail_after: int | None = None, loop: asyncio.AbstractEventLoop | None = None) -> Request:
    fields = [("Host", "example.com"), ("Content-Type", content_type)]
    head = RequestHead("POST", "/upload", "/upload", "", "1.1", fields, "example.com", True, False, len(body), False)
    return Request(head, PieceBody(body, piece, fail_after), limits=limits, loop=loop)  # type: ignore[arg-type]


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_fields_and_files_come_back_in_order_with_their_names_and_types() -> None:
    body = encode_multipart([
        ("title", "Holiday, day 1"),
        ("photo", ("beach.jpg", b"\xff\xd8 jpeg bytes", "image/jpeg")),
        ("tag", "sea"), ("tag", "sun"),
        ("notes", ("notes.txt", b"", "text/plain")),
    ], BOUNDARY)

    async def go() -> None:
        form = await form_request(body, piece=5).form()
        assert form["title"] == "Holiday, day 1"
        assert form.get_all("tag") == ["sea", "sun"]
        photo = form["photo"]
        assert isinstance(photo, UploadFile)
        assert (photo.filename, photo.content_type, photo.size) == ("beach.jpg", "image/jpeg", 13)
        assert await photo.read() == b"\xff\xd8 jpeg bytes"
        assert [f.name for f in form.files()] == ["photo", "notes"]
        assert await form["notes"].read() == b""  # type: ignore[union-attr]

    run(go())


def test_a_field_is_text_and_a_part_with_a_filename_is_a_file_even_an_empty_one() -> None:
    body = encode_multipart([("a", "café"), ("empty", ("", b"", "application/octet-stream"))], BOUNDARY)
    form = run(form_request(body).form())
    assert form["a"] == "café"
    empty = form["empty"]
    assert isinstance(empty, UploadFile) and empty.filename == "" and empty.size == 0


def test_file_past_the_memory_threshold_is_spooled_to_disk_and_read_back_whole() -> None:
    content = os.urandom(3 * 1024 * 1024 + 5)
    small = b"tiny"
    body = encode_multipart([("big", ("big.bin", content, "application/octet-stream")),
                             ("small", ("s.bin", small, "application/octet-stream"))], BOUNDARY)
    limits = Limits(upload_memory_bytes=64 * 1024)

    async def go() -> None:
        request = form_request(body, limits, piece=65536)
        form = await request.form()
        big, little = form["big"], form["small"]
        assert isinstance(big, UploadFile) and isinstance(little, UploadFile)
        assert not big.in_memory and little.in_memory
        assert big.size == len(content)
        head = await big.read(10)
        await big.seek(0)
        assert head == content[:10] and await big.read() == content
        request.close()
        assert big.file.closed and little.file.closed

    run(go())


def test_save_writes_the_whole_file_whatever_the_position(tmp_path: os.PathLike[str]) -> None:
    content = os.urandom(200_000)
    body = encode_multipart([("f", ("a.bin", content, "application/octet-stream"))], BOUNDARY)

    async def go() -> None:
        form = await form_request(body, Limits(upload_memory_bytes=1000)).form()
        upload = form["f"]
        assert isinstance(upload, UploadFile)
        await upload.read(100)
        await upload.save(os.path.join(tmp_path, "a.bin"))
        upload.seek_sync(5)
        upload.save_sync(os.path.join(tmp_path, "b.bin"))

    run(go())
    for name in ("a.bin", "b.bin"):
        with open(os.path.join(tmp_path, name), "rb") as saved:
            assert saved.read() == content


def test_read_form_works_from_a_def_handler_thread() -> None:
    content = os.urandom(100_000)
    body = encode_multipart([("x", "1"), ("f", ("f.bin", content, "application/octet-stream"))], BOUNDARY)

    def handler(request: Request) -> bytes:
        form = request.read_form(upload_memory_bytes=4096)
        upload = form["f"]
        assert isinstance(upload, UploadFile) and not upload.in_memory and form["x"] == "1"
        return upload.read_sync()

    assert in_thread(lambda loop: form_request(body, loop=loop), handler) == content


def test_the_form_is_read_once_and_kept() -> None:
    body = encode_multipart([("a", "1")], BOUNDARY)

    async def go() -> None:
        request = form_request(body)
        assert await request.form() is await request.form()

    run(go())


def test_form_after_body_reads_the_kept_body() -> None:
    body = encode_multipart([("a", "1"), ("f", ("f.txt", b"x", "text/plain"))], BOUNDARY)

    async def go() -> None:
        request = form_request(body)
        assert await request.body() == body
        assert (await request.form())["a"] == "1"

    run(go())


def many_parts(count: int) -> bytes:
    return encode_multipart([(f"f{i}", "v") for i in range(count)], BOUNDARY)


@pytest.mark.parametrize("limits, body, detail", [
    (Limits(max_form_fields=10), many_parts(11), "more than 10 parts in a multipart body"),
    (Limits(max_form_files=3), encode_multipart([("f", ("a", b"x", "a/b"))] * 4 + [("x", "y")], BOUNDARY),
     "more than 3 files in a form"),
    (Limits(max_form_field_bytes=100), encode_multipart([("a", "x" * 101)], BOUNDARY),
     "a form field is larger than 100 bytes"),
    (Limits(max_upload_bytes=1000), encode_multipart([("f", ("f", b"x" * 1001, "a/b"))], BOUNDARY),
     "an uploaded file is larger than 1000 bytes"),
    (Limits(max_part_header_bytes=200),
     encode_multipart([("f", ("n" * 200, b"x", "text/plain"))], BOUNDARY), "multipart part headers too large"),
    (Limits(max_part_headers=2),
     f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\nX-A: 1\r\nX-B: 2\r\n\r\nv\r\n--{BOUNDARY}--\r\n'
     .encode(), "more than 2 header fields in a multipart part"),
], ids=["parts", "files", "field size", "file size", "header bytes", "header count"])
def test_each_form_limit_is_a_413_with_a_message(limits: Limits, body: bytes, detail: str) -> None:
    with pytest.raises(HTTPError) as info:
        run(form_request(body, limits).form())
    assert (type(info.value), info.value.status, info.value.detail) == (HTTPError, 413, detail)


def test_the_limits_sit_exactly_at_their_values() -> None:
    body = encode_multipart([("a", "x" * 100), ("f", ("f", b"y" * 1000, "a/b"))], BOUNDARY)
    form = run(form_request(body, Limits(max_form_fields=2, max_form_files=1, max_form_field_bytes=100,
                                         max_upload_bytes=1000)).form())
    assert form["a"] == "x" * 100


@pytest.mark.parametrize("body", [
    b"--" + BOUNDARY.encode() + b"\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv",  # no closing boundary
    b"no boundary at all",
    b"--" + BOUNDARY.encode() + b"\r\nContent-Type: text/plain\r\n\r\nv\r\n--" + BOUNDARY.encode() + b"--\r\n",
])
def test_a_malformed_body_is_a_plain_400_so_the_connection_may_be_kept(body: bytes) -> None:
    """400, as an ``HTTPError`` and not a ``ProtocolError``: HTTP's own framing is intact."""
    with pytest.raises(HTTPError) as info:
        run(form_request(body).form())
    assert (type(info.value), info.value.status) == (HTTPError, 400)


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=\"\"",
                                          "multipart/form-data; boundary=" + "x" * 71])
def test_a_missing_or_invalid_boundary_is_400(content_type: str) -> None:
    """A plain ``HTTPError`` like any malformed form: HTTP's framing is intact, the connection may stay."""
    with pytest.raises(HTTPError) as info:
        run(form_request(b"--x--\r\n", content_type=content_type).form())
    assert (type(info.value), info.value.status) == (HTTPError, 400)


def failing_then_count(make: Callable[[], Request]) -> None:
    """The form fails part way, with files already spooled: every file it made is closed again."""
    async def go() -> None:
        request = make()
        before = open_fds()
        with pytest.raises((HTTPError, ClientDisconnected)):
            await request.form()
        await asyncio.sleep(0.05)  # a write that was in flight finishes in its thread
        assert open_fds() <= before

    run(go())


def spooled_then(tail: bytes) -> bytes:
    return encode_multipart([("a", ("a.bin", b"a" * 300_000, "application/octet-stream")),
                             ("b", ("b.bin", b"b" * 300_000, "application/octet-stream"))], BOUNDARY)[:-8] + tail


def test_files_are_closed_when_the_body_turns_out_malformed() -> None:
    failing_then_count(lambda: form_request(spooled_then(b"junk"), Limits(upload_memory_bytes=1000)))


def test_files_are_closed_when_a_later_file_is_too_large() -> None:
    body = encode_multipart([("a", ("a.bin", b"a" * 300_000, "x/y")), ("b", ("b.bin", b"b" * 600_000, "x/y"))],
                            BOUNDARY)
    failing_then_count(lambda: form_request(body, Limits(upload_memory_bytes=1000, max_upload_bytes=500_000)))


def test_files_are_closed_when_the_client_leaves_mid_upload() -> None:
    failing_then_count(lambda: form_request(spooled_then(b""), Limits(upload_memory_bytes=1000), piece=65536,
                                            fail_after=8))


def test_files_are_closed_when_the_handler_is_cancelled_mid_upload() -> None:
    class Stalling(PieceBody):
        async def read_chunk(self) -> bytes:
            if len(self.pieces) < 4:
                await asyncio.sleep(3600)
            return await super().read_chunk()

    async def go() -> None:
        request = form_request(spooled_then(b""), Limits(upload_memory_bytes=1000), piece=65536)
        request._body_stream = Stalling(spooled_then(b""), 65536)
        before = open_fds()
        task = asyncio.ensure_future(request.form())
        await asyncio.sleep(0.2)
        assert open_fds() > before  # a file was spooled
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.05)
        assert open_fds() <= before

    run(go())
