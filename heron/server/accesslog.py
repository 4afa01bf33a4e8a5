"""The access log: one line per response, in Combined Log Format or as JSON (server layer).

Written to the ``heron.access`` logger, which the command line sends to
stderr (``--no-access-log`` turns it off, ``--access-log-format json``
picks JSON). Every value a client can influence (the client address,
which ``--proxy-headers`` may take from a header, the target, Referer,
User-Agent) is escaped, so a request cannot forge log lines or fields:
backslash escapes in Combined (and, in the space-delimited client field,
for a space too), ``json.dumps`` (ASCII only, so no raw control
character or line separator) in JSON.

The client is ``request.client``: the address ``--proxy-headers``
resolved, else the socket's peer. The target is the request-target as
received (before ``--root-path`` is put back in front of the path). An
answer sent without a request head (a malformed head, one that did not
arrive in time, a refused connection) is logged too, with no request:
``"-"`` in Combined, null method, target, version and duration in JSON.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import Final

from heron.protocol.events import RequestHead
from heron.server.clock import SecondCache

logger = logging.getLogger("heron.access")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_JSON = json.JSONEncoder(ensure_ascii=True, separators=(", ", ": "))


def _escape(value: str) -> str:
    """Backslash-escape quotes, backslashes and non-printable characters."""
    if value.isprintable() and '"' not in value and "\\" not in value:
        return value
    return value.encode("unicode_escape").decode("ascii").replace('"', '\\"')


_ADDRESS: Final = re.compile(r"[0-9A-Za-z.:%_\[\]-]+")
"""What a client field holds: an IP address (a link-local peer with its ``%interface``), ``unknown``, or an
obfuscated RFC 7239 identifier such as ``_hidden``."""


def _escape_client(client: str) -> str:
    """The client field of a Combined line: any character an address does not use written as ``\\xNN``
    (``\\uNNNN`` past latin-1), spaces and quotes included, so the field stays one field."""
    if _ADDRESS.fullmatch(client):
        return client
    return "".join(c if _ADDRESS.fullmatch(c) else ("\\x%02x" if ord(c) < 256 else "\\u%04x") % ord(c)
                   for c in client) or "-"


def _clf_time(second: int) -> str:
    """``10/Oct/2000:13:55:36 +0000``: the timestamp of Common Log Format, in UTC."""
    t = time.gmtime(second)
    return "%02d/%s/%04d:%02d:%02d:%02d +0000" % (
        t.tm_mday, _MONTHS[t.tm_mon - 1], t.tm_year, t.tm_hour, t.tm_min, t.tm_sec)


def _iso_time(second: int) -> str:
    """``2000-10-10T13:55:36Z``: ISO 8601 in UTC, which every log pipeline parses."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))


def _referer_and_user_agent(head: RequestHead | None) -> tuple[str | None, str | None]:
    referer = user_agent = None
    for name, value in head.headers if head is not None else ():
        lname = name.lower()
        if lname == "referer":
            referer = value
        elif lname == "user-agent":
            user_agent = value
    return referer, user_agent


def _combined(when: str, client: str, head: RequestHead | None, status: int, size: int,
              duration: float | None) -> str:
    """Combined Log Format, as Apache and nginx write it; no duration, so every CLF parser still reads it."""
    referer, user_agent = _referer_and_user_agent(head)
    request = "-" if head is None else "%s %s HTTP/%s" % (head.method, _escape(head.target), head.http_version)
    return '%s - - [%s] "%s" %d %s "%s" "%s"' % (
        _escape_client(client), when, request, status, size if size else "-",
        "-" if referer is None else _escape(referer), "-" if user_agent is None else _escape(user_agent))


def _json(when: str, client: str, head: RequestHead | None, status: int, size: int, duration: float | None) -> str:
    """One JSON object; an absent Referer or User-Agent is null; the duration in milliseconds."""
    referer, user_agent = _referer_and_user_agent(head)
    return _JSON.encode({
        "time": when, "client": client, "method": head and head.method, "target": head and head.target,
        "http_version": head and head.http_version, "status": status, "bytes": size,
        "referer": referer, "user_agent": user_agent,
        "duration_ms": None if duration is None else round(duration * 1000, 3),
    })


_Format = Callable[[str, str, RequestHead | None, int, int, float | None], str]
_FORMATS: dict[str, tuple[Callable[[int], str], _Format]] = {
    "combined": (_clf_time, _combined),
    "json": (_iso_time, _json),
}


class AccessLog:
    """Formats and emits access lines; the timestamp is formatted once a second."""

    __slots__ = ("_clock", "_line")

    def __init__(self, format: str = "combined") -> None:
        if format not in _FORMATS:
            raise ValueError(f"access log format {format!r}: expected one of {', '.join(_FORMATS)}")
        clock, self._line = _FORMATS[format]
        self._clock = SecondCache(clock)

    def record(self, client: str, head: RequestHead | None, status: int, size: int, duration: float | None) -> None:
        """Log one response: ``size`` body bytes sent, ``duration`` seconds from its head to its last byte.

        ``head`` and ``duration`` are None for an answer sent before any
        request head was read (a malformed one, a timeout, a refusal).
        """
        if logger.isEnabledFor(logging.INFO):
            logger.info("%s", self._line(self._clock.now(), client, head, status, size, duration))
