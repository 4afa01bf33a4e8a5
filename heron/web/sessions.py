"""Sessions: ``request.session`` kept across requests in a signed cookie or a store (web layer).

``app.add_middleware(sessions(secret_key))`` gives every request a
``Session`` (``heron.messages.session``). Where it lives is the store's:

- ``CookieStore`` (the default): the whole session, signed, in the
  cookie. No server state, nothing to share between workers; the client
  can read (not change) what is in it, and a cookie once issued stays
  valid until it expires: logging out cannot revoke a copy an attacker
  kept. Cookies hold about 4 KiB.
- ``MemoryStore``: the cookie holds a signed random id, the data stays in
  this process, with an expiry and a bound on entries (least recently used
  dropped first). One process only: with ``--workers`` each worker has its
  own, so use a shared store there.
- any object with ``load``/``save``/``delete``, async (``SessionStore``)
  or plain (``SyncSessionStore``, run in the thread pool).

The session is saved only when it changed, and its cookie set only then.
When the handler read it, the response says ``Vary: Cookie`` and
``Cache-Control: private``: a shared cache must never hand one user's
page to another.
"""

from __future__ import annotations

import inspect
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

from heron.blocking import run_blocking
from heron.messages.contracts import Handler
from heron.messages.request import Request
from heron.messages.response import Response
from heron.messages.session import Session
from heron.web.caching import directive_name
from heron.web.middleware import Middleware
from heron.web.signing import BadSignature, Signer

__all__ = ["CookieStore", "MemoryStore", "SessionStore", "SyncSessionStore", "sessions"]

logger = logging.getLogger("heron.error")

T = TypeVar("T")

MAX_COOKIE_BYTES = 4096
"""What every browser keeps for one cookie, name and attributes included (RFC 6265 section 6.1's minimum)."""


class SessionStore(Protocol):
    """Server-side session data by id, awaited on the event loop."""

    async def load(self, session_id: str) -> dict[str, Any] | None: ...
    async def save(self, session_id: str, data: dict[str, Any], max_age: int) -> None: ...
    async def delete(self, session_id: str) -> None: ...


class SyncSessionStore(Protocol):
    """The same with plain methods (a database driver without asyncio): each call runs in the thread pool."""

    def load(self, session_id: str) -> dict[str, Any] | None: ...
    def save(self, session_id: str, data: dict[str, Any], max_age: int) -> None: ...
    def delete(self, session_id: str) -> None: ...


class CookieStore:
    """The session is the cookie: signed JSON, no server state (the default)."""


class MemoryStore:
    """Sessions in this process's memory: expire ``max_age`` after their last save, at most
    ``max_entries`` of them (the least recently used go first). Values are kept as JSON, so what
    comes back is a copy, as from any other store."""

    def __init__(self, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()

    async def load(self, session_id: str) -> dict[str, Any] | None:
        entry = self._entries.get(session_id)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._entries[session_id]
            return None
        self._entries.move_to_end(session_id)
        data: dict[str, Any] = json.loads(entry[1])
        return data

    async def save(self, session_id: str, data: dict[str, Any], max_age: int) -> None:
        self._entries[session_id] = (time.monotonic() + max_age, json.dumps(data, separators=(",", ":")))
        self._entries.move_to_end(session_id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def delete(self, session_id: str) -> None:
        self._entries.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._entries)


def sessions(
    secret_key: str | bytes,
    *,
    store: SessionStore | SyncSessionStore | CookieStore | None = None,
    fallback_keys: Iterable[str | bytes] = (),
    cookie_name: str = "session",
    max_age: int = 14 * 24 * 3600,
    path: str = "/",
    domain: str | None = None,
    secure: bool | None = None,
    samesite: str = "lax",
) -> Middleware:
    """Middleware giving each request a ``request.session``, kept in ``store`` (``CookieStore()`` by default).

    The cookie is signed with ``secret_key`` (``fallback_keys`` still
    verify, for rotation), HttpOnly, ``SameSite=Lax``, Secure over HTTPS
    (``secure=None``), and lives ``max_age`` seconds (two weeks) from the
    session's last change; a cookie that is tampered with, expired or
    signed with an unknown key is ignored (a fresh, empty session).
    """
    keeper = _Keeper(Signer(secret_key, fallback_keys=fallback_keys, salt="heron.session"),
                     store if store is not None else CookieStore(), max_age)

    def middleware(next_handler: Handler) -> Handler:
        async def handler(request: Request) -> Response:
            raw = request.cookies.get(cookie_name)
            session = request.session = await keeper.load(raw)
            response = await next_handler(request)
            if session.accessed:
                response.vary("Cookie")
                _make_private(response)
            if session.modified:
                value = await keeper.save(session)
                if value is not None:
                    response.set_cookie(cookie_name, value, max_age=max_age, path=path, domain=domain, secure=secure,
                                        samesite=samesite)
                elif raw is not None:
                    response.delete_cookie(cookie_name, path, domain, secure=secure, samesite=samesite)
            return response

        return handler

    return middleware


class _Keeper:
    """Loads and saves sessions through one store, with the cookie's signer."""

    __slots__ = ("signer", "store", "max_age", "_call")

    def __init__(self, signer: Signer, store: SessionStore | SyncSessionStore | CookieStore, max_age: int) -> None:
        self.signer = signer
        self.store = store
        self.max_age = max_age
        blocking = not isinstance(store, CookieStore) and not inspect.iscoroutinefunction(store.load)
        self._call: Callable[..., Awaitable[Any]] = _in_thread if blocking else _awaited

    async def load(self, raw: str | None) -> Session:
        payload = None
        if raw:
            try:
                payload = self.signer.unsign(raw, max_age=self.max_age)
            except BadSignature:
                payload = None
        if isinstance(self.store, CookieStore):
            return Session(payload if isinstance(payload, dict) else {})
        if not isinstance(payload, str):
            return Session()
        data = await self._call(self.store.load, payload)
        return Session(data, payload) if isinstance(data, dict) else Session()

    async def save(self, session: Session) -> str | None:
        """Store ``session``; the cookie value to send, or None if the cookie should go (an empty session)."""
        store = self.store
        if session.regenerated and session.id is not None:
            assert not isinstance(store, CookieStore)
            await self._call(store.delete, session.id)
            session.id = None
        data = session.data()
        if not data:
            return None
        if isinstance(store, CookieStore):
            value = self.signer.sign(data)
            if len(value) > MAX_COOKIE_BYTES - 200:  # room for the name and attributes
                raise ValueError(f"the session is {len(value)} bytes signed, too big for a cookie; "
                                 "keep less in it or use a server-side store")
            return value
        if session.id is None:
            session.id = secrets.token_urlsafe(32)
        await self._call(store.save, session.id, data, self.max_age)
        return self.signer.sign(session.id)


async def _awaited(method: Callable[..., Awaitable[T]], *args: Any) -> T:
    return await method(*args)


async def _in_thread(method: Callable[..., T], *args: Any) -> T:
    return await run_blocking(method, *args)


def _make_private(response: Response) -> None:
    """``Cache-Control: private`` (RFC 9111 section 5.2.2.7), unless the response already forbids storing
    it or says private; a ``public`` it said is dropped, since this response is for one user only."""
    directives = response.list_header("cache-control")
    lowered = [directive_name(item) for item in directives]
    if "no-store" in lowered or "private" in lowered:
        return
    kept = [item for item, name in zip(directives, lowered) if name != "public"]
    response.set_header("Cache-Control", ", ".join(["private", *kept]))
