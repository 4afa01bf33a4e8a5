"""``wsgi.input`` reads like a file (``io.BytesIO``), however the body arrives and however it is read.

The body comes from a real event loop in another thread, in pieces of
random sizes; the reads run in this thread, as a WSGI app's do in the
pool. Every mix of ``read(n)``, ``read()``, ``readline(n)`` and
``readline()`` must give exactly what the same calls on a ``BytesIO`` of
the whole body give.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heron.hosting.wsgiinput import InputStream
from heron.protocol.events import RequestHead
from heron.messages.request import Request


class PiecesBody:
    """A body stream that hands out the given pieces, one per read (b"" only at the end, as a real one)."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = [piece for piece in pieces if piece]

    async def read_chunk(self) -> bytes:
        await asyncio.sleep(0)
        return self._pieces.pop(0) if self._pieces else b""

    def take_if_complete(self) -> None:
        return None  # never all here at once: every read goes through the loop

    @property
    def gone(self) -> bool:
        return False

    async def wait_disconnected(self) -> None:
        await asyncio.get_running_loop().create_future()


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def input_stream(loop: asyncio.AbstractEventLoop, pieces: list[bytes], chunked: bool) -> InputStream:
    length = sum(map(len, pieces))
    head = RequestHead("POST", "/", "/", "", "1.1", [], "h", True, False, None if chunked else length, chunked)
    return InputStream(Request(head, PiecesBody(pieces), loop=loop), loop)


reads = st.lists(st.one_of(
    st.tuples(st.just("read"), st.integers(-1, 40)),
    st.tuples(st.just("readline"), st.integers(-1, 40)),
), max_size=30)


@settings(max_examples=150, deadline=None)
@given(pieces=st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\x00", b"\n")), max_size=12),
       calls=reads, chunked=st.booleans())
def test_reads_match_a_file_of_the_whole_body(loop: asyncio.AbstractEventLoop, pieces: list[bytes],
                                              calls: list[tuple[str, int]], chunked: bool) -> None:
    stream = input_stream(loop, pieces, chunked)
    reference = io.BytesIO(b"".join(pieces))
    for method, size in calls:
        assert getattr(stream, method)(size) == getattr(reference, method)(size), (method, size)
    assert stream.read() == reference.read()
    assert stream.read(1) == b"" and stream.readline() == b""


def test_iteration_and_readlines_give_the_lines(loop: asyncio.AbstractEventLoop) -> None:
    pieces = [b"one\ntw", b"o\n", b"", b"thr", b"ee\nfour"]
    assert list(input_stream(loop, pieces, True)) == [b"one\n", b"two\n", b"three\n", b"four"]
    assert input_stream(loop, pieces, False).readlines() == [b"one\n", b"two\n", b"three\n", b"four"]
    assert input_stream(loop, pieces, False).readlines(5) == [b"one\n", b"two\n"]
