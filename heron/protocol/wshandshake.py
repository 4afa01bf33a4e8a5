"""The WebSocket opening handshake, the server's side (RFC 6455 section 4.2; protocol layer, sans-IO).

A handshake is an HTTP request, which ``RequestParser`` has already
read. ``read_upgrade`` checks it against section 4.2.1 and says what it
asks for (subprotocols, extensions); a request that is not a valid
handshake is an ``HTTPError``: 426 with ``Sec-WebSocket-Version: 13`` for
another protocol version, 400 naming what is wrong for anything else
(section 4.2.2, step 4). ``accept_headers`` makes the fields of the
``101 Switching Protocols`` answer once the application has chosen.

Every field is read strictly, as the HTTP parser reads framing: a key
that is not 16 bytes in base64, a subprotocol that is not a token
(granian crashed on a non-ASCII one), an extension list that does not
parse, are all refused, never guessed at.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Final, NamedTuple

from heron.errors import HTTPError
from heron.protocol.events import RequestHead
from heron.protocol.headers import Headers, split_comma_list
from heron.protocol.wsdeflate import Offer

__all__ = ["Upgrade", "accept_headers", "accept_key", "is_upgrade", "parse_extensions", "read_upgrade"]

GUID: Final = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
"""Section 1.3: appended to the client's key before hashing, so the answer proves a WebSocket server read it."""
VERSION: Final = "13"

_TOKEN: Final = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_TOKEN_RE: Final = re.compile(_TOKEN)
_QUOTED: Final = r'"(?:[\t \x21\x23-\x5b\x5d-\x7e]|\\[\t \x21-\x7e])*"'
# RFC 6455 section 9.1: extension = token *( ";" extension-param ), extension-param = token [ "=" value ].
_PARAM: Final = re.compile(rf"[ \t]*;[ \t]*({_TOKEN})(?:[ \t]*=[ \t]*({_TOKEN}|{_QUOTED}))?")
_NAME: Final = re.compile(rf"[ \t]*({_TOKEN})")
_ESCAPE: Final = re.compile(r"\\(.)")


class Upgrade(NamedTuple):
    """A valid handshake: the client's key, and the subprotocols and extensions it offers, in order."""

    key: str
    subprotocols: tuple[str, ...]
    extensions: tuple[Offer, ...]


def is_upgrade(head: RequestHead) -> bool:
    """Does the request ask to become a WebSocket (``Upgrade: websocket``)? Cheap: for routing."""
    return bool(head.upgrade) and "websocket" in (token.lower() for token in split_comma_list(head.upgrade))


def read_upgrade(head: RequestHead) -> Upgrade:
    """What a handshake asks for, once it is checked against section 4.2.1; ``HTTPError`` if it is none."""
    headers = Headers(head.headers)
    if head.method != "GET":
        raise HTTPError(400, "a WebSocket handshake is a GET request")
    if head.http_version != "1.1":
        raise HTTPError(400, "a WebSocket handshake needs HTTP/1.1")
    if "websocket" not in (token.lower() for token in headers.get_list("upgrade")):
        raise HTTPError(400, "Upgrade does not name websocket")
    if "upgrade" not in (token.lower() for token in headers.get_list("connection")):
        raise HTTPError(400, "Connection does not contain upgrade")
    versions = headers.get_all("sec-websocket-version")
    if versions != [VERSION]:
        raise HTTPError(426, "Sec-WebSocket-Version must be 13", [("Sec-WebSocket-Version", VERSION)])
    keys = headers.get_all("sec-websocket-key")
    if len(keys) != 1 or not _is_key(keys[0]):
        raise HTTPError(400, "Sec-WebSocket-Key is not 16 bytes in base64")
    subprotocols = headers.get_list("sec-websocket-protocol")
    if not all(_TOKEN_RE.fullmatch(protocol) for protocol in subprotocols):
        raise HTTPError(400, "Sec-WebSocket-Protocol is not a list of tokens")
    try:
        extensions = parse_extensions(headers.get_all("sec-websocket-extensions"))
    except ValueError:
        raise HTTPError(400, "Sec-WebSocket-Extensions does not parse") from None
    return Upgrade(keys[0], tuple(subprotocols), tuple(extensions))


def _is_key(key: str) -> bool:
    """Section 4.2.1 item 5: base64 (strictly, padding included) of 16 bytes."""
    try:
        return len(base64.b64decode(key.encode("ascii"), validate=True)) == 16
    except (ValueError, binascii.Error):  # UnicodeEncodeError is a ValueError
        return False


def parse_extensions(values: list[str]) -> list[Offer]:
    """The extensions of every ``Sec-WebSocket-Extensions`` value, in order; ValueError if one does not parse.

    A quoted parameter value is unquoted (section 9.1 requires it to be a
    token once unquoted; the extension judges its parameters). Empty list
    members are skipped (RFC 9110 section 5.6.1).
    """
    offers: list[Offer] = []
    for value in values:
        for member in _members(value):
            name = _NAME.match(member)
            if name is None:
                raise ValueError(f"not an extension: {member!r}")
            params: list[tuple[str, str | None]] = []
            pos = name.end()
            while pos < len(member):
                param = _PARAM.match(member, pos)
                if param is None:
                    if member[pos:].strip(" \t"):
                        raise ValueError(f"malformed extension parameters: {member!r}")
                    break
                raw = param[2]
                params.append((param[1], _ESCAPE.sub(r"\1", raw[1:-1]) if raw and raw.startswith('"') else raw))
                pos = param.end()
            offers.append((name[1], params))
    return offers


def _members(value: str) -> list[str]:
    """The comma-separated members of a list whose members may hold quoted strings (with commas)."""
    members, start, quoted, i = [], 0, False, 0
    while i < len(value):
        c = value[i]
        if c == '"':
            quoted = not quoted
        elif c == "\\" and quoted:
            i += 1
        elif c == "," and not quoted:
            members.append(value[start:i])
            start = i + 1
        i += 1
    if quoted:
        raise ValueError("unterminated quoted string")
    members.append(value[start:])
    return [m for m in members if m.strip(" \t")]


def accept_key(key: str) -> str:
    """Section 4.2.2 item 5.4: base64 of the SHA-1 of the key and the GUID."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode("ascii")).digest()).decode("ascii")


def accept_headers(upgrade: Upgrade, subprotocol: str | None = None,
                   extensions: str | None = None) -> list[tuple[str, str]]:
    """The fields of the ``101 Switching Protocols`` answer (section 4.2.2 item 5).

    ``subprotocol`` must be one the client offered (ValueError otherwise:
    the client would fail the connection), ``extensions`` the agreed
    ``Sec-WebSocket-Extensions`` value, if any.
    """
    if subprotocol is not None and subprotocol not in upgrade.subprotocols:
        raise ValueError(f"subprotocol {subprotocol!r} was not offered by the client")
    fields = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", accept_key(upgrade.key))]
    if subprotocol is not None:
        fields.append(("Sec-WebSocket-Protocol", subprotocol))
    if extensions:
        fields.append(("Sec-WebSocket-Extensions", extensions))
    return fields

