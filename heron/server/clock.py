"""Timestamps formatted once a second (server layer: the only layer with a clock).

RFC 9110 section 6.6.1 wants a Date on every response and the access log
stamps every line, but both only change once a second, so formatting them
per response would be wasted work.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from heron.protocol.writer import format_http_date


class SecondCache:
    """The current time through ``format``, recomputed at most once per second."""

    __slots__ = ("_format", "_second", "_value")

    def __init__(self, format: Callable[[int], str]) -> None:
        self._format = format
        self._second = -1
        self._value = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._value = self._format(second)
        return self._value


def http_date_clock() -> SecondCache:
    """The value of the ``Date`` header (IMF-fixdate), cached for the current second."""
    return SecondCache(format_http_date)
