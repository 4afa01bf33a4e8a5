"""Signed values for cookies: JSON a client can carry but not change (web layer).

``Signer(secret).sign(value)`` gives a cookie-safe string: the value as
compact JSON (never pickle: unpickling what a client sent runs its code),
the time it was signed, and an HMAC-SHA256 over both. ``unsign`` gives the
value back if, and only if, one of the keys made that signature (compared
in constant time) and it is younger than ``max_age``; else ``BadSignature``.
The client can read the value (base64 is not encryption): never sign a
secret into a cookie.

Keys are derived per purpose (``salt``) with HMAC, so the same secret
signing sessions and, say, e-mail confirmation links makes signatures
that cannot stand in for each other. Rotation: sign with the new key and
list the old ones as ``fallback_keys`` until every cookie they signed has
expired.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Iterable
from typing import Any

__all__ = ["BadSignature", "Signer"]

_MAX_SIGNED = 8192
"""Longest signed string ``unsign`` looks at: a cookie holds at most 4096 bytes; nothing longer is ours."""


class BadSignature(ValueError):
    """The value was not signed by any of our keys, was changed, is malformed or has expired."""


class Signer:
    """Signs JSON values with HMAC-SHA256; verifies with the current key or any fallback key."""

    __slots__ = ("_keys",)

    def __init__(self, secret_key: str | bytes, *, fallback_keys: Iterable[str | bytes] = (),
                 salt: str = "heron.signed-cookie") -> None:
        secrets = [secret_key, *fallback_keys]
        if any(len(_bytes(key)) < 16 for key in secrets):
            raise ValueError("a signing key must be at least 16 bytes; use secrets.token_urlsafe(32)")
        self._keys = [hmac.new(_bytes(key), salt.encode(), hashlib.sha256).digest() for key in secrets]

    def sign(self, value: Any, *, now: float | None = None) -> str:
        """``payload.timestamp.signature``, all cookie-octets: ``value`` as compact JSON, base64url."""
        payload = _b64(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        signed = f"{payload}.{int(time.time() if now is None else now)}"
        return f"{signed}.{_b64(self._mac(self._keys[0], signed))}"

    def unsign(self, signed: str, *, max_age: float | None = None, now: float | None = None) -> Any:
        """The value ``sign`` was given; ``BadSignature`` unless a key of ours signed exactly this
        string no more than ``max_age`` seconds ago (not at all in the future, give or take a minute)."""
        if len(signed) > _MAX_SIGNED or not signed.isascii():
            raise BadSignature("signed value too long, or not ASCII")
        message, dot, signature = signed.rpartition(".")
        payload, dot2, stamp = message.partition(".")
        if not dot or not dot2 or not stamp.isdigit():
            raise BadSignature("malformed signed value")
        if not any(hmac.compare_digest(_b64(self._mac(key, message)), signature) for key in self._keys):
            raise BadSignature("signature does not match")
        age = (time.time() if now is None else now) - int(stamp)
        if age < -60 or (max_age is not None and age > max_age):
            raise BadSignature("signed value expired")
        try:
            return json.loads(_unb64(payload))
        except ValueError:  # our own key signed it, so this is a bug, not an attack: still never a 500
            raise BadSignature("signed payload is not JSON") from None

    @staticmethod
    def _mac(key: bytes, message: str) -> bytes:
        return hmac.new(key, message.encode("ascii"), hashlib.sha256).digest()


def _bytes(key: str | bytes) -> bytes:
    return key.encode() if isinstance(key, str) else key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict base64url: a character outside the alphabet fails instead of being skipped."""
    try:
        return base64.b64decode(text.encode("ascii") + b"=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature("malformed signed value") from None
