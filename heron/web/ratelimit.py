"""Rate limiting: GCRA per key, 429 with Retry-After and the RateLimit fields (web layer).

Each limit is a GCRA meter (``heron.web.gcra``: exact, O(1), one number
per key and limit) kept in a store (``heron.web.ratestores``: this
process's memory, or a table shared by the processes of ``--workers``).

Who counts as "one key" is the limit's ``key`` function: by default the
client's address as the server resolved it (``request.client``, which
honours ``--proxy-headers`` only from trusted proxies, never a header any
client can write), IPv6 clients by their /64 (one host usually has a
whole /64 to pick addresses from); ``everyone`` makes one budget for all
clients; any function of the request can key by user or API token.

Answers: a refused request is a 429 with ``Retry-After`` (RFC 9110 section
10.2.3, RFC 6585 section 4); every answer carries ``RateLimit-Policy`` and
``RateLimit`` in the form of draft-ietf-httpapi-ratelimit-headers-09
(``"default";q=100;w=60`` and ``"default";r=50;t=30``), and optionally
the older ``RateLimit-Limit``, ``-Remaining`` and ``-Reset`` trio.
"""

from __future__ import annotations

import functools
import inspect
import ipaddress
import itertools
import math
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

from heron.blocking import run_blocking
from heron.errors import HTTPError
from heron.messages.request import Request
from heron.messages.response import Response
from heron.web.gcra import Decision, Rate
from heron.web.ratestores import MAX_RATES, SharedStore, shared_store
from heron.web.rendering import to_response

__all__ = ["Rate", "RateLimit", "client_address", "everyone"]

F = TypeVar("F", bound=Callable[..., Any])
_numbers = itertools.count()
_NAME: Final = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+")
"""A policy name, sent as a Structured Field String (RFC 8941 section 3.3.3): printable ASCII but ``"`` and ``\\``."""


def client_address(request: Request) -> str:
    """The client's address as the server resolved it (trusted proxies only); an IPv6 client by its /64.

    An IPv4 address mapped into IPv6 (``::ffff:192.0.2.1``) counts as
    the IPv4 client it is; a zone (``%eth0``) is not part of the key.
    """
    client = request.client
    if client is None:
        return ""
    host = client[0]
    if ":" not in host:
        return host
    try:
        address = ipaddress.IPv6Address(host.partition("%")[0])
    except ValueError:
        return host
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return address.packed[:8].hex() + "::/64"


def everyone(request: Request) -> str:
    """One key for every client: the limit is the route's (or the app's) as a whole."""
    return ""


class RateLimit:
    """A set of limits, applied app-wide (``app.add_middleware(limit)``) or to routes (``@limit``).

    ``RateLimit("10/second", "1000/hour")``: each request is counted per
    ``key(request)`` (default ``client_address``) in ``store``: by default
    the process's ``shared_store()``, which the workers of ``--workers``
    share when the limit is made before they fork (at import, as an app's
    module makes it), so the limit holds for the server as a whole; a
    ``MemoryStore()`` is faster for a single process.
    One instance is one budget: put the same instance on two routes and
    they share it; give each route its own instance for separate ones.
    ``name`` names the policy in the RateLimit fields; ``legacy_headers``
    adds the older ``RateLimit-Limit``/``-Remaining``/``-Reset`` trio
    (the most constrained limit's); ``headers=False`` sends neither.
    """

    def __init__(self, *rates: str | Rate, key: Callable[[Request], str] = client_address,
                 store: Any = None, name: str = "default", headers: bool = True,
                 legacy_headers: bool = False) -> None:
        if not rates:
            raise ValueError("RateLimit needs at least one rate")
        if not _NAME.fullmatch(name):
            raise ValueError(f"a policy name is printable ASCII without quotes or backslashes: {name!r}")
        if store is None:
            store = shared_store()
        self.rates = tuple(rate if isinstance(rate, Rate) else Rate.parse(rate) for rate in rates)
        if isinstance(store, SharedStore) and len(self.rates) > MAX_RATES:  # refused now, not at the first request
            raise ValueError(f"a SharedStore keeps at most {MAX_RATES} rates per limit, got {len(self.rates)}")
        self.key = key
        self.store = store
        self.name = name
        self.headers = headers
        self.legacy_headers = legacy_headers
        self._async = inspect.iscoroutinefunction(store.hit)
        self._scope = f"{name}\x00{next(_numbers)}\x00"  # the same in every worker, when made before the fork
        names = [name] if len(self.rates) == 1 else [f"{name}-{i}" for i in range(1, len(self.rates) + 1)]
        self._policy = ", ".join(f'"{n}";q={rate.count};w={math.ceil(rate.period)}' for n, rate in zip(names, self.rates))
        self._states = [f'"{n}";r=' for n in names]

    def hit(self, request: Request) -> Any:
        """Count ``request`` in the store: a ``Decision``, or with an async store a coroutine giving one.

        Not a coroutine itself: with a store in memory, the request is
        spared one more coroutine to create and run.
        """
        return self.store.hit(self._scope + self.key(request), self.rates, time.time())

    def refusal(self, decision: Decision) -> HTTPError:
        """The 429 for a refused ``decision``: Retry-After in whole seconds, and the RateLimit fields."""
        wait = math.ceil(decision.retry_after)
        return HTTPError(429, f"Too many requests: try again in {wait} s",
                         [("Retry-After", str(wait)), *self.fields(decision)])

    def fields(self, decision: Decision) -> list[tuple[str, str]]:
        """The RateLimit fields that tell a client where it stands after ``decision``."""
        if not self.headers:
            return []
        remaining, reset = decision.remaining, decision.reset
        if len(remaining) == 1:  # the usual case, spared a join: this runs on every request
            state = f"{self._states[0]}{remaining[0]};t={reset[0]}"
        else:
            state = ", ".join([f"{prefix}{r};t={t}" for prefix, r, t in zip(self._states, remaining, reset)])
        out = [("RateLimit-Policy", self._policy), ("RateLimit", state)]
        if self.legacy_headers:
            tightest = remaining.index(min(remaining))
            out += [("RateLimit-Limit", str(self.rates[tightest].count)),
                    ("RateLimit-Remaining", str(remaining[tightest])),
                    ("RateLimit-Reset", str(reset[tightest]))]
        return out

    def __call__(self, handler: F) -> F:
        """Wrap a handler: the next one (as middleware, ``app.add_middleware(limit)``) or a route's
        (as a decorator under the route's). A plain ``def`` route still runs in the thread pool."""
        call: Callable[..., Awaitable[Any]] = handler
        if not inspect.iscoroutinefunction(handler):
            async def in_thread(request: Request, *args: Any, **kwargs: Any) -> Any:
                return await run_blocking(functools.partial(handler, request, *args, **kwargs))
            call = in_thread

        @functools.wraps(handler)
        async def limited(request: Request, *args: Any, **kwargs: Any) -> Response:
            decision: Decision = self.hit(request)
            if self._async:
                decision = await decision  # type: ignore[misc]  # the async store's coroutine
            if not decision.allowed:
                raise self.refusal(decision)
            response = to_response(await call(request, *args, **kwargs))
            response.headers += self.fields(decision)
            return response

        return limited  # type: ignore[return-value]
