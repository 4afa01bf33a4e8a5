"""Events the request parser emits (protocol layer).

A request is always ``RequestHead``, zero or more ``Data``, then one
``EndOfMessage``; the next request (pipelined on the same connection) starts
with another ``RequestHead``. The events are immutable: the parser never
changes one after handing it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, NamedTuple


class RequestHead(NamedTuple):
    """The request line and header section of one request (RFC 9112 sections 3 and 5).

    ``headers`` keeps every field line in order, names with the case the
    client sent, values with surrounding whitespace removed (latin-1
    decoded: RFC 9110 section 5.5 treats other octets as opaque).
    The framing fields are what the parser decided, so layers above never
    re-derive the body length from the headers.

    A named tuple rather than a frozen dataclass: one is made per request,
    and a frozen dataclass's ``__init__`` sets its eleven fields through
    ``object.__setattr__``, four times the tuple's cost (bench/LOG.md).
    Immutable either way; ``_replace`` makes a changed copy.
    """

    method: str
    target: str
    """The request-target exactly as received (origin, absolute, authority or asterisk form)."""
    path: str
    """The path of the target, still percent-encoded ("*" for asterisk form, "" for authority form)."""
    query: str
    """The raw query string, without "?" ("" when absent)."""
    http_version: str
    """"1.1" or "1.0"."""
    headers: list[tuple[str, str]]
    authority: str
    """Host and port the request is for: the absolute-form authority if given, else Host."""
    keep_alive: bool
    """Whether the client allows the connection to be reused after this request."""
    expect_continue: bool
    """The client sent ``Expect: 100-continue`` and waits before sending the body."""
    content_length: int | None
    """Declared body length; None for chunked bodies."""
    chunked: bool
    upgrade: str = ""
    """Every ``Upgrade`` value, joined with "," ("" when none): the protocols the client would switch to
    (RFC 9110 section 7.8), such as ``websocket``."""


@dataclass(slots=True)
class Data:
    """A piece of the request body, with chunked framing already removed.

    Not frozen, unlike the other events: a frozen dataclass's ``__init__``
    costs twice as much, and one ``Data`` is made per piece of every body
    (and of every multipart part)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class EndOfMessage:
    """The body is complete; ``trailers`` holds chunked trailer fields, if any."""

    trailers: tuple[tuple[str, str], ...] = ()


class _NeedData:
    """Sentinel: the parser needs more bytes before it can emit an event."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()
END_OF_MESSAGE: Final = EndOfMessage()
"""The common EndOfMessage without trailers, shared to save an allocation per request."""

Event = RequestHead | Data | EndOfMessage
