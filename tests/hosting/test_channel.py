"""BodyChannel: the producer waits while the consumer is behind, and learns when it is gone."""

from __future__ import annotations

import asyncio

import pytest

from heron.errors import ClientDisconnected
from heron.hosting.channel import HIGH_WATER, BodyChannel


async def collect(channel: BodyChannel) -> list[bytes]:
    return [piece async for piece in channel]


def test_pieces_arrive_in_order_and_the_end_stops_iteration() -> None:
    async def main() -> list[bytes]:
        channel = BodyChannel()
        consumer = asyncio.ensure_future(collect(channel))
        for piece in (b"a", b"", b"bc"):
            await channel.send(piece)
        channel.finish()
        return await consumer

    assert asyncio.run(main()) == [b"a", b"bc"]  # an empty piece is no piece


def test_the_producer_waits_once_it_is_a_high_water_mark_ahead() -> None:
    async def main() -> tuple[bool, bool]:
        channel = BodyChannel()
        await channel.send(b"x" * HIGH_WATER)  # up to the mark: no wait
        blocked = asyncio.ensure_future(channel.send(b"y"))
        await asyncio.sleep(0.01)
        waited = not blocked.done()
        await channel.__anext__()  # the consumer catches up
        await asyncio.wait_for(blocked, 1)
        return waited, blocked.done()

    assert asyncio.run(main()) == (True, True)


def test_a_closed_consumer_releases_a_waiting_producer_with_client_disconnected() -> None:
    async def main() -> None:
        channel = BodyChannel()
        blocked = asyncio.ensure_future(channel.send(b"x" * (HIGH_WATER + 1)))
        await asyncio.sleep(0)
        await channel.aclose()
        with pytest.raises(ClientDisconnected):
            await asyncio.wait_for(blocked, 1)
        with pytest.raises(OSError):  # ASGI 2.4: send() on a closed connection raises an OSError
            await channel.send(b"more")

    asyncio.run(main())


def test_a_broken_body_raises_its_error_to_the_consumer_after_what_was_sent() -> None:
    async def main() -> None:
        channel = BodyChannel()
        await channel.send(b"part")
        channel.finish(RuntimeError("app failed"))
        assert await channel.__anext__() == b"part"
        with pytest.raises(RuntimeError, match="app failed"):
            await channel.__anext__()

    asyncio.run(main())
