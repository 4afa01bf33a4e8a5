"""Saying how long a response may be reused: Cache-Control, Expires and validators (web layer).

``CacheControl`` builds a ``Cache-Control`` value from keyword arguments
(RFC 9111 section 5.2.2, RFC 8246 ``immutable``, RFC 5861
``stale-while-revalidate`` and ``stale-if-error``) and refuses the
combinations that contradict each other, so a typo or a mix-up fails at
import time rather than in somebody's CDN. ``@cache_control(...)`` puts
one on a route's responses::

    @app.get("/styles/{name}")
    @cache_control(public=True, max_age=timedelta(days=365), immutable=True)
    async def style(request, name): ...

Only successful answers a cache may store by default are marked (RFC
9110 section 15.1: 200, 203, 204, 206, 300, 301, 308), and 304s, which
repeat their 200's policy: a 404 or a 500 raised on the way is not kept
for a year. A Cache-Control the handler set
itself wins. ``set_last_modified`` and ``set_etag`` give a dynamic
response its validators, which ``heron.web.revalidation`` compares with
the request's conditions.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

from heron.messages.response import Response
from heron.protocol.writer import format_http_date
from heron.web.rendering import to_response

__all__ = ["CACHEABLE_STATUS", "CacheControl", "cache_control", "directive_name", "entity_tag", "epoch_seconds",
           "set_etag", "set_last_modified"]

F = TypeVar("F", bound=Callable[..., Any])
Seconds = int | timedelta
CACHEABLE_STATUS: Final = frozenset({200, 203, 204, 206, 300, 301, 308})
"""Successful statuses a cache may store without being told (RFC 9110 section 15.1; 404, 405, 410, 414
and 501 are too, but an error is not what a route's caching policy is about)."""
_MARKED: Final = CACHEABLE_STATUS | {304}
"""What ``cache_control`` marks: a 304 carries the Cache-Control its 200 would have (RFC 9110 section 15.4.5)."""
_MAX_SECONDS: Final = 2**31 - 1
"""RFC 9111 section 1.2.2: a delta-seconds larger than this is sent as this."""


@dataclass(frozen=True, slots=True)
class CacheControl:
    """The directives of a ``Cache-Control`` response field; ``str()`` is the field's value.

    Durations are whole seconds or a ``timedelta``. ``private`` and
    ``public`` exclude each other, as do ``no_store`` and any freshness
    (``max_age``, ``s_maxage``, ``immutable``, the ``stale_*`` extensions):
    a response that may not be stored has no lifetime.
    """

    public: bool = False
    private: bool = False
    no_cache: bool = False
    no_store: bool = False
    max_age: Seconds | None = None
    s_maxage: Seconds | None = None
    must_revalidate: bool = False
    proxy_revalidate: bool = False
    no_transform: bool = False
    immutable: bool = False
    stale_while_revalidate: Seconds | None = None
    stale_if_error: Seconds | None = None

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.type == "bool":
                wrong = not isinstance(value, bool)
            else:
                wrong = value is not None and (isinstance(value, bool) or not isinstance(value, (int, timedelta)))
            if wrong:
                raise TypeError(f"{field.name} must be {field.type}, got {value!r}")
        for name in ("max_age", "s_maxage", "stale_while_revalidate", "stale_if_error"):
            if (seconds := _seconds(getattr(self, name))) is not None and seconds < 0:
                raise ValueError(f"{name} must not be negative")
        if self.public and self.private:
            raise ValueError("a response is either public or private, not both")
        lifetimes = (self.max_age, self.s_maxage, self.stale_while_revalidate, self.stale_if_error)
        if self.no_store and (self.immutable or any(value is not None for value in lifetimes)):
            raise ValueError("no_store: the response is not stored, so it has no lifetime to give")
        if self.immutable and self.max_age is None:
            raise ValueError("immutable means nothing without max_age (RFC 8246 section 2)")

    def __str__(self) -> str:
        parts = []
        for field in fields(self):
            value = getattr(self, field.name)
            name = field.name.replace("_", "-")
            if value is True:
                parts.append(name)
            elif value is not None and value is not False:
                parts.append(f"{name}={min(_seconds(value) or 0, _MAX_SECONDS)}")
        return ", ".join(parts)

    def apply(self, response: Response, *, expires: bool = False) -> Response:
        """Set this as ``response``'s Cache-Control (replacing any), and with ``expires`` an ``Expires``
        of now plus ``max_age`` for HTTP/1.0 caches (RFC 9111 section 5.3: newer ones read max-age)."""
        response.set_header("Cache-Control", str(self))
        if expires and self.max_age is not None:
            response.set_header("Expires", format_http_date(time.time() + (_seconds(self.max_age) or 0)))
        return response


def _seconds(value: Seconds | None) -> int | None:
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return value


def cache_control(policy: CacheControl | None = None, /, *, expires: bool = False, **directives: Any) -> Callable[[F], F]:
    """A decorator for route handlers: their cacheable answers get ``policy`` (or ``CacheControl(**directives)``).

    Put it under the route decorator. The handler may still set its own
    Cache-Control, which is kept; answers whose status is not in
    ``CACHEABLE_STATUS`` are left alone.
    """
    if policy is None:
        policy = CacheControl(**directives)
    elif directives:
        raise TypeError("give a CacheControl or directives, not both")
    chosen = policy

    def mark(result: Any) -> Response:
        response = to_response(result)
        if response.status in _MARKED and response.header("cache-control") is None:
            chosen.apply(response, expires=expires)
        return response

    def decorate(handler: F) -> F:
        if inspect.iscoroutinefunction(handler):
            @functools.wraps(handler)
            async def marked(*args: Any, **kwargs: Any) -> Response:
                return mark(await handler(*args, **kwargs))
        else:
            @functools.wraps(handler)
            def marked(*args: Any, **kwargs: Any) -> Response:
                return mark(handler(*args, **kwargs))
        return marked  # type: ignore[return-value]

    return decorate


def set_last_modified(response: Response, when: float | datetime) -> Response:
    """Give a dynamic response its ``Last-Modified`` (seconds since the epoch, or an aware ``datetime``)."""
    response.set_header("Last-Modified", format_http_date(epoch_seconds(when)))
    return response


def set_etag(response: Response, tag: str, *, weak: bool = False) -> Response:
    """Give a dynamic response the entity-tag ``tag`` (see ``entity_tag``)."""
    response.set_header("ETag", entity_tag(tag, weak=weak))
    return response


def entity_tag(tag: str, *, weak: bool = False) -> str:
    """The ``ETag`` value for the opaque ``tag``: quoted, ``W/`` first if ``weak`` (RFC 9110 section 8.8.3).

    Strong unless ``weak``: a strong tag promises the same bytes, a weak
    one only the same meaning (a page whose ads differ, say).
    """
    if not tag or any(char == '"' or not "\x21" <= char <= "\x7e" for char in tag):
        raise ValueError(f"an entity-tag is visible ASCII without '\"': {tag!r}")
    return f'{"W/" if weak else ""}"{tag}"'


def directive_name(directive: str) -> str:
    """A Cache-Control directive's name, lower-cased: ``Max-Age=60`` gives ``max-age`` (RFC 9111 section 5.2)."""
    return directive.partition("=")[0].strip().lower()


def epoch_seconds(when: float | datetime) -> float:
    """A modification time as seconds since the epoch; a ``datetime`` must say its time zone."""
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise ValueError("a naive datetime has no time zone to convert from: give an aware one")
        return when.timestamp()
    return when
