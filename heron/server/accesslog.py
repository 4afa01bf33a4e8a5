"""The access log, one line per response in Combined Log Format (server layer).

Written to the ``heron.access`` logger, which the command line sends to
stderr (``--no-access-log`` turns it off). Values that come from the client
(target, Referer, User-Agent) are escaped, so a request cannot forge log
lines.
"""

from __future__ import annotations

import logging
import time

from heron.protocol.events import RequestHead
from heron.server.clock import SecondCache

logger = logging.getLogger("heron.access")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _escape(value: str) -> str:
    """Backslash-escape quotes, backslashes and non-printable characters."""
    if value.isprintable() and '"' not in value and "\\" not in value:
        return value
    return value.encode("unicode_escape").decode("ascii").replace('"', '\\"')


def _clf_time(second: int) -> str:
    """``10/Oct/2000:13:55:36 +0000``: the timestamp of Common Log Format, in UTC."""
    t = time.gmtime(second)
    return "%02d/%s/%04d:%02d:%02d:%02d +0000" % (
        t.tm_mday, _MONTHS[t.tm_mon - 1], t.tm_year, t.tm_hour, t.tm_min, t.tm_sec)


class AccessLog:
    """Formats and emits access lines; the timestamp is formatted once a second."""

    __slots__ = ("_clock",)

    def __init__(self) -> None:
        self._clock = SecondCache(_clf_time)

    def record(self, client: str, head: RequestHead, status: int, size: int) -> None:
        if not logger.isEnabledFor(logging.INFO):
            return
        referer = user_agent = "-"
        for name, value in head.headers:
            lname = name.lower()
            if lname == "referer":
                referer = _escape(value)
            elif lname == "user-agent":
                user_agent = _escape(value)
        logger.info(
            '%s - - [%s] "%s %s HTTP/%s" %d %s "%s" "%s"',
            client, self._clock.now(), head.method, _escape(head.target), head.http_version,
            status, size if size else "-", referer, user_agent,
        )
