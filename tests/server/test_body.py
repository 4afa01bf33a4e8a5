"""RequestBody: what the connection pushes, the handler reads, in order, with the end and failures marked."""

from __future__ import annotations

import asyncio

import pytest

from heron.errors import ClientDisconnected
from heron.protocol.events import RequestHead
from heron.server.body import RequestBody
from heron.messages.request import Request


class Owner:
    """Records what the body asks of its connection."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def body_wanted(self) -> None:
        self.calls.append("wanted")

    def pause_reading(self) -> None:
        self.calls.append("pause")

    def resume_reading(self) -> None:
        self.calls.append("resume")


def head(content_length: int) -> RequestHead:
    headers = [("Host", "x"), ("Content-Length", str(content_length))]
    return RequestHead("POST", "/", "/", "", "1.1", headers, "x", True, False, content_length, False)


def test_a_body_that_has_all_arrived_is_taken_whole_without_waiting() -> None:
    async def main() -> None:
        body = RequestBody(Owner(), asyncio.get_running_loop())
        body.push(b"ab")
        assert body.take_if_complete() is None  # more may come
        body.push(b"c")
        body.finish()
        request = Request(head(3), body)
        assert request.received_body() == b"abc"
        assert await request.body() == b"abc"  # kept, as body() keeps it

    asyncio.run(main())


def test_a_failed_body_is_never_taken_as_complete() -> None:
    async def main() -> None:
        body = RequestBody(Owner(), asyncio.get_running_loop())
        body.push(b"ab")
        body.client_gone("gone")
        assert body.take_if_complete() is None
        assert body.gone
        with pytest.raises(ClientDisconnected):
            await body.read_chunk()
            await body.read_chunk()

    asyncio.run(main())


def test_waiting_for_the_client_to_leave_ends_when_it_does() -> None:
    async def main() -> None:
        body = RequestBody(Owner(), asyncio.get_running_loop())
        body.finish()
        request = Request(head(0), body)
        waiting = asyncio.ensure_future(request.disconnected())
        await asyncio.sleep(0.01)
        assert not waiting.done() and not request.is_disconnected
        body.client_gone("client closed the connection")
        await asyncio.wait_for(waiting, 1)
        assert request.is_disconnected

    asyncio.run(main())
