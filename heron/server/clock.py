"""The cached ``Date`` header value (server layer: the only layer with a clock).

RFC 9110 section 6.6.1 wants a Date on every response, but it only changes
once a second, so formatting it per response would be wasted work.
"""

from __future__ import annotations

import time

from heron.protocol.writer import format_http_date


class DateCache:
    """Formats the current time at most once per second."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._value = format_http_date(second)
        return self._value
