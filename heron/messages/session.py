"""The session a handler sees as ``request.session`` (messages layer).

A ``Session`` is a mapping of JSON values that lives across requests. It
only records what happens to it (read, changed, regenerated, cleared);
``heron.web.sessions`` loads it before the handler and saves it after,
and only when it changed, so a request that never touches the session
costs no store write and sets no cookie.

Flash messages (a message shown once on the next page, the usual answer
to a form post) and the CSRF token for forms are kept in the session under
reserved keys, ``_flashes`` and ``_csrf``.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterator, MutableMapping
from typing import Any

__all__ = ["Session"]

_FLASHES = "_flashes"
_CSRF = "_csrf"


class Session(MutableMapping[str, Any]):
    """A mapping of JSON-serialisable values, remembered across requests.

    ``accessed`` is true once anything read or wrote it (the response then
    varies by cookie); ``modified`` once anything changed it (it is then
    saved). Mutating a value in place (``session["cart"].append(x)``) is not
    seen: assign it again, or set ``session.modified = True``.
    """

    __slots__ = ("_data", "id", "accessed", "modified", "regenerated")

    def __init__(self, data: dict[str, Any] | None = None, session_id: str | None = None) -> None:
        self._data: dict[str, Any] = data if data is not None else {}
        self.id = session_id
        """The id a server-side store keeps it under (None for a new session, or with the cookie store)."""
        self.accessed = False
        self.modified = False
        self.regenerated = False
        """``regenerate()`` or ``clear()`` was called: the old id must stop working."""

    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.accessed = self.modified = True
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        self.accessed = self.modified = True
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        self.accessed = True
        return iter(self._data)

    def __len__(self) -> int:
        self.accessed = True
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return key in self._data

    def data(self) -> dict[str, Any]:
        """What is saved: the values, reserved keys included (a copy)."""
        return dict(self._data)

    def clear(self) -> None:
        """Forget everything and take a new id: what logging out does."""
        self.accessed = self.modified = self.regenerated = True
        self._data.clear()

    def regenerate(self) -> None:
        """Keep the data under a new id (and a fresh CSRF token), and make the old id worthless.

        Call it when the user's privileges change, above all on login: an
        id an attacker planted or saw before (session fixation, OWASP) then
        opens nothing.
        """
        self.accessed = self.modified = self.regenerated = True
        self._data.pop(_CSRF, None)

    def flash(self, message: str, category: str = "message") -> None:
        """Keep ``message`` for the next page that calls ``flashes()``."""
        self[_FLASHES] = [*self._data.get(_FLASHES, []), [category, message]]

    def flashes(self) -> list[tuple[str, str]]:
        """The flashed ``(category, message)`` pairs, oldest first; they are gone afterwards."""
        self.accessed = True
        if _FLASHES not in self._data:
            return []
        return [(category, message) for category, message in self.pop(_FLASHES)]

    def csrf_token(self) -> str:
        """This session's CSRF token, made on first use: put it in every form (``heron.web.csrf``)."""
        token = self.get(_CSRF)
        if not isinstance(token, str):
            token = self[_CSRF] = secrets.token_urlsafe(32)
        return token

    def check_csrf_token(self, supplied: str) -> bool:
        """Whether ``supplied`` is this session's CSRF token (compared in constant time)."""
        token = self._data.get(_CSRF)
        return isinstance(token, str) and hmac.compare_digest(token.encode(), supplied.encode())

    def __repr__(self) -> str:
        return f"<Session {self.id!r} keys={list(self._data)}>"
