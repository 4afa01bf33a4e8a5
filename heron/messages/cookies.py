"""Reading the Cookie header and writing Set-Cookie (messages layer, RFC 6265).

Reading is tolerant, writing is strict. Browsers and other clients send
all sorts of things in ``Cookie`` (pairs without ``=``, stray spaces,
values nobody quoted properly), and one bad pair must not cost the user
the others, so ``parse_cookie_header`` skips what it cannot read. What the
server sends, on the other hand, is under the app's control: a name or
value outside the RFC 6265 section 4.1.1 grammar is refused with
``ValueError`` when the cookie is set, instead of being sent and then
mangled or dropped by some browser.

Quoting: heron never quotes or encodes a value for you. A value must
already consist of cookie-octets (printable ASCII without space, ``"``,
``,``, ``;`` and ``\\``); encode anything else yourself (URL-safe base64,
or percent-encoding) and decode it when you read it back. This keeps what
the app sets and what it reads back identical, byte for byte, whatever
the client does with quotes. On reading, a value wrapped in one pair of
double quotes (allowed by the grammar) has them removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Final

from heron.protocol.writer import format_http_date

# RFC 6265 section 4.1.1: cookie-name = token (RFC 9110 section 5.6.2).
_NAME: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# cookie-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
_VALUE: Final = re.compile(r'[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*')
# av-value (Path, Domain) = any CHAR except CTLs or ";"
_ATTRIBUTE: Final = re.compile(r"[\x20-\x3a\x3c-\x7e]*")
_SAMESITE: Final = {"lax": "Lax", "strict": "Strict", "none": "None"}


def parse_cookie_header(values: Iterable[str]) -> dict[str, str]:
    """Name to value for every cookie in the given ``Cookie`` field values.

    RFC 6265 section 5.4 has the client send ``name=value`` pairs joined by
    ``"; "``, most specific path first, so when a name repeats the first
    value wins. Pairs without ``=`` or with an empty name are skipped;
    whitespace around names and values is dropped. Values are not
    percent-decoded.
    """
    cookies: dict[str, str] = {}
    for header in values:
        for pair in header.split(";"):
            name, eq, value = pair.partition("=")
            name = name.strip(" \t")
            if not eq or not name or name in cookies:
                continue
            value = value.strip(" \t")
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            cookies[name] = value
    return cookies


def set_cookie_header(
    name: str,
    value: str,
    *,
    max_age: int | None = None,
    expires: datetime | float | None = None,
    path: str | None = "/",
    domain: str | None = None,
    secure: bool = False,
    httponly: bool = True,
    samesite: str | None = "lax",
    partitioned: bool = False,
) -> str:
    """The value of one ``Set-Cookie`` field (RFC 6265 section 4.1).

    ``expires`` is a timezone-aware ``datetime`` or seconds since the
    epoch, sent as an IMF-fixdate; ``max_age`` (seconds) takes precedence
    over it in every current browser. ``samesite`` is ``"lax"``,
    ``"strict"``, ``"none"`` or ``None`` (attribute left out). Raises
    ``ValueError`` for a name or value outside the RFC 6265 grammar, a
    ``;`` or control character in ``path`` or ``domain``, ``SameSite=None``
    or ``partitioned`` without ``secure`` (browsers drop such cookies), and
    a ``__Secure-`` or ``__Host-`` prefixed name whose attributes break
    the prefix's rules (RFC 6265bis section 4.1.3).
    """
    if _NAME.fullmatch(name) is None:
        raise ValueError(f"invalid cookie name {name!r}: it must be an RFC 9110 token")
    if _VALUE.fullmatch(value) is None:
        raise ValueError(
            f"invalid value for cookie {name!r}: only printable ASCII without space, '\"', ',', ';' "
            "and '\\' is allowed; encode the value (e.g. URL-safe base64) first")
    parts = [f"{name}={value}"]
    if max_age is not None:
        if isinstance(max_age, bool) or not isinstance(max_age, int):
            raise ValueError(f"max_age must be an int number of seconds, got {max_age!r}")
        parts.append(f"Max-Age={max_age}")
    if expires is not None:
        parts.append(f"Expires={_format_expires(expires)}")
    if domain is not None:
        parts.append(f"Domain={_attribute('domain', domain)}")
    if path is not None:
        parts.append(f"Path={_attribute('path', path)}")
    if secure:
        parts.append("Secure")
    if httponly:
        parts.append("HttpOnly")
    if samesite is not None:
        same = _SAMESITE.get(samesite.lower())
        if same is None:
            raise ValueError(f"samesite must be 'lax', 'strict', 'none' or None, got {samesite!r}")
        if same == "None" and not secure:
            raise ValueError("samesite='none' requires secure=True: browsers reject it otherwise")
        parts.append(f"SameSite={same}")
    if partitioned:
        if not secure:
            raise ValueError("partitioned=True requires secure=True: browsers reject it otherwise")
        parts.append("Partitioned")
    _check_prefix(name, secure, path, domain)
    return "; ".join(parts)


def delete_cookie_header(
    name: str,
    *,
    path: str | None = "/",
    domain: str | None = None,
    secure: bool = False,
    httponly: bool = True,
    samesite: str | None = "lax",
) -> str:
    """A ``Set-Cookie`` value that makes the browser drop cookie ``name``.

    A browser only replaces the cookie with the same name, path and domain,
    so pass the ones it was set with. ``Max-Age=0`` and an ``Expires`` in
    1970 cover both old and new clients.
    """
    return set_cookie_header(name, "", max_age=0, expires=0, path=path, domain=domain, secure=secure,
                             httponly=httponly, samesite=samesite)


def _format_expires(expires: datetime | float) -> str:
    if isinstance(expires, datetime):
        if expires.tzinfo is None:
            raise ValueError("expires must be a timezone-aware datetime (e.g. datetime.now(timezone.utc))")
        return format_http_date(expires.astimezone(timezone.utc).timestamp())
    if isinstance(expires, bool) or not isinstance(expires, (int, float)):
        raise ValueError(f"expires must be a datetime or seconds since the epoch, got {expires!r}")
    try:
        return format_http_date(expires)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"expires {expires!r} is out of range") from None


def _attribute(what: str, value: str) -> str:
    if _ATTRIBUTE.fullmatch(value) is None:
        raise ValueError(f"invalid cookie {what} {value!r}: no ';' or control characters allowed")
    return value


def needs_secure(name: str, samesite: str | None, partitioned: bool) -> bool:
    """Whether browsers drop this cookie unless it is ``Secure``: a ``__Secure-`` or ``__Host-`` name
    (RFC 6265bis section 4.1.3), ``SameSite=None``, or ``Partitioned`` (CHIPS)."""
    lowered = name.lower()
    return (lowered.startswith(("__secure-", "__host-")) or partitioned
            or (samesite is not None and samesite.lower() == "none"))


def _check_prefix(name: str, secure: bool, path: str | None, domain: str | None) -> None:
    """Cookie name prefixes (RFC 6265bis section 4.1.3), matched case-insensitively as browsers do."""
    lowered = name.lower()
    if lowered.startswith("__secure-") and not secure:
        raise ValueError(f"cookie {name!r}: the __Secure- prefix requires secure=True")
    if lowered.startswith("__host-") and (not secure or path != "/" or domain is not None):
        raise ValueError(f"cookie {name!r}: the __Host- prefix requires secure=True, path='/' and no domain")
