"""Shared helpers for the protocol tests: build requests, feed a parser, collect events."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from heron.errors import ProtocolError
from heron.limits import DEFAULT_LIMITS, Limits
from heron.protocol.events import NEED_DATA, Data, EndOfMessage, RequestHead
from heron.protocol.parser import RequestParser

Event = RequestHead | Data | EndOfMessage

# The statuses the parser may answer with: anything else is a bug.
PARSER_STATUSES = frozenset({400, 413, 414, 417, 431, 501, 505})


def request(
    line: bytes = b"GET / HTTP/1.1",
    *fields: bytes,
    host: bytes | None = b"example.com",
    body: bytes = b"",
) -> bytes:
    """A request head (plus ``body``); a Host field first unless ``host`` is None."""
    lines = [line]
    if host is not None:
        lines.append(b"Host: " + host)
    lines.extend(fields)
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def chunked(*chunks: bytes, trailers: bytes = b"") -> bytes:
    """A chunked body made of ``chunks`` (empty ones skipped) and an optional trailer section."""
    out = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c)
    return out + b"0\r\n" + trailers + b"\r\n"


def drain(parser: RequestParser) -> list[Event]:
    """Every event the parser can give without more bytes."""
    events: list[Event] = []
    while True:
        event = parser.next_event()
        if event is NEED_DATA:
            return events
        assert isinstance(event, (RequestHead, Data, EndOfMessage))
        events.append(event)


def merge_data(events: Iterable[Event]) -> list[Event]:
    """Join adjacent Data events: how a body is cut into pieces depends on how it arrived."""
    merged: list[Event] = []
    for event in events:
        if isinstance(event, Data) and merged and isinstance(merged[-1], Data):
            merged[-1] = Data(merged[-1].data + event.data)
        else:
            merged.append(event)
    return merged


def feed_pieces(pieces: Iterable[bytes], limits: Limits = DEFAULT_LIMITS) -> list[Event]:
    """Feed ``pieces`` one after another, draining after each; Data merged."""
    parser = RequestParser(limits)
    events: list[Event] = []
    for piece in pieces:
        parser.feed(piece)
        events.extend(drain(parser))
    assert all(not isinstance(e, Data) or e.data for e in events), "empty Data event"
    return merge_data(events)


def parse(data: bytes, limits: Limits = DEFAULT_LIMITS) -> list[Event]:
    """Events for ``data`` fed in one piece."""
    return feed_pieces([data], limits)


def parse_bytewise(data: bytes, limits: Limits = DEFAULT_LIMITS) -> list[Event]:
    """Events for ``data`` fed one byte at a time."""
    return feed_pieces([data[i : i + 1] for i in range(len(data))], limits)


def parse_one(data: bytes, limits: Limits = DEFAULT_LIMITS) -> RequestHead:
    """The head of the single complete request in ``data``, checked to parse the same bytewise."""
    events = parse(data, limits)
    assert events == parse_bytewise(data, limits)
    head = events[0]
    assert isinstance(head, RequestHead)
    assert isinstance(events[-1], EndOfMessage)
    return head


def body_of(events: list[Event]) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, Data))


def _reject(pieces: Iterable[bytes], limits: Limits) -> ProtocolError:
    parser = RequestParser(limits)
    with pytest.raises(ProtocolError) as info:
        for piece in pieces:
            parser.feed(piece)
            drain(parser)
    error = info.value
    # Dead after an error: the same error again, even if valid bytes follow.
    with pytest.raises(ProtocolError) as again:
        parser.next_event()
    assert again.value is error
    parser.feed(request())
    with pytest.raises(ProtocolError) as still:
        parser.next_event()
    assert still.value is error
    return error


def assert_rejected(data: bytes, status: int, limits: Limits = DEFAULT_LIMITS, *, bytewise: bool = True) -> None:
    """``data`` raises ProtocolError(status), fed whole and (unless told) fed a byte at a time."""
    assert _reject([data], limits).status == status
    if bytewise:
        assert _reject([data[i : i + 1] for i in range(len(data))], limits).status == status
