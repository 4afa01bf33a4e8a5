"""The opening handshake (RFC 6455 section 4.2): one test per rule of section 4.2.1 that read_upgrade
enforces, and the fields of the 101 answer (section 4.2.2).

Every request is real bytes read by ``RequestParser``, as the server
would read them, so a test also covers how a field arrives (latin-1
decoding, repeated fields, whitespace).
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heron.errors import HTTPError
from heron.protocol.events import RequestHead
from heron.protocol.wsdeflate import DeflateParams, Offer, negotiate
from heron.protocol.wshandshake import Upgrade, accept_headers, accept_key, is_upgrade, parse_extensions, read_upgrade

from .helpers import parse_one, request
from .strategies import property_settings

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 section 1.3's example
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
BASE = {b"Upgrade": b"websocket", b"Connection": b"Upgrade", b"Sec-WebSocket-Key": KEY.encode(),
        b"Sec-WebSocket-Version": b"13"}


def handshake(*extra: bytes, line: bytes = b"GET /chat HTTP/1.1", **replace: bytes | None) -> RequestHead:
    """The head of a valid handshake request, parsed; ``replace`` changes (None: removes) a base field,
    named with "_" for "-" (``Sec_WebSocket_Key=None``), and ``extra`` field lines are added after."""
    fields: dict[bytes, bytes | None] = dict(BASE)
    for name, value in replace.items():
        key = name.replace("_", "-").encode()
        assert key in fields, key
        fields[key] = value
    lines = [name + b": " + value for name, value in fields.items() if value is not None]
    return parse_one(request(line, *lines, *extra))


def refused(head: RequestHead) -> HTTPError:
    with pytest.raises(HTTPError) as info:
        read_upgrade(head)
    return info.value


# -- a valid handshake -----------------------------------------------------------


def test_rfc_6455_section_1_3_example_is_accepted() -> None:
    head = parse_one(request(
        b"GET /chat HTTP/1.1", b"Upgrade: websocket", b"Connection: Upgrade",
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", b"Origin: http://example.com",
        b"Sec-WebSocket-Protocol: chat, superchat", b"Sec-WebSocket-Version: 13", host=b"server.example.com"))
    upgrade = read_upgrade(head)
    assert upgrade == Upgrade(KEY, ("chat", "superchat"), ())
    assert accept_headers(upgrade, "chat") == [
        ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", ACCEPT),
        ("Sec-WebSocket-Protocol", "chat"),
    ]


def test_accept_key_of_the_rfc_example() -> None:
    """Section 1.3: SHA-1 of the key and 258EAFA5-E914-47DA-95CA-C5AB0DC85B11, in base64."""
    assert accept_key(KEY) == ACCEPT


@property_settings(50)
@given(nonce=st.binary(min_size=16, max_size=16))
def test_accept_key_is_sha1_of_key_and_guid_in_base64(nonce: bytes) -> None:
    key = base64.b64encode(nonce).decode()
    expected = base64.b64encode(hashlib.sha1(key.encode() + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    assert accept_key(key) == expected.decode()
    assert read_upgrade(handshake(Sec_WebSocket_Key=key.encode())).key == key


def test_minimal_handshake_offers_nothing() -> None:
    assert read_upgrade(handshake()) == Upgrade(KEY, (), ())
    assert accept_headers(read_upgrade(handshake())) == [
        ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", ACCEPT)]


# -- method and version (section 4.2.1 item 1) --------------------------------------


@pytest.mark.parametrize("method", [b"POST", b"HEAD", b"PUT", b"OPTIONS", b"DELETE", b"get"])
def test_method_other_than_get_is_refused_with_400(method: bytes) -> None:
    assert refused(handshake(line=method + b" /chat HTTP/1.1")).status == 400


def test_http_1_0_is_refused_with_400() -> None:
    """Section 4.1: "The method of the request MUST be GET, and the HTTP version MUST be at least 1.1"."""
    assert refused(handshake(line=b"GET /chat HTTP/1.0")).status == 400


# -- Upgrade and Connection (section 4.2.1 items 3 and 4) ----------------------------


@pytest.mark.parametrize("value", [None, b"h2c", b"websocketx", b"web socket", b"websocket/13", b"", b"xwebsocket"])
def test_upgrade_missing_or_not_websocket_is_refused_with_400(value: bytes | None) -> None:
    assert refused(handshake(Upgrade=value)).status == 400


@pytest.mark.parametrize("value", [b"websocket", b"WebSocket", b"WEBSOCKET", b"h2c, websocket", b"websocket, h2c"])
def test_upgrade_naming_websocket_in_any_case_is_accepted(value: bytes) -> None:
    """Section 4.2.1 item 3: the value is compared ASCII case-insensitively."""
    assert read_upgrade(handshake(Upgrade=value)).key == KEY


@pytest.mark.parametrize("value", [None, b"keep-alive", b"close", b"upgrades", b"up grade", b""])
def test_connection_without_upgrade_is_refused_with_400(value: bytes | None) -> None:
    assert refused(handshake(Connection=value)).status == 400


@pytest.mark.parametrize("value", [b"Upgrade", b"upgrade", b"UPGRADE", b"keep-alive, Upgrade", b"Upgrade, keep-alive",
                                   b"keep-alive,upgrade"])
def test_connection_containing_upgrade_in_any_case_is_accepted(value: bytes) -> None:
    """Section 4.2.1 item 4: Connection includes the token "Upgrade", case-insensitively (Firefox sends
    "keep-alive, Upgrade")."""
    assert read_upgrade(handshake(Connection=value)).key == KEY


def test_connection_upgrade_in_a_second_field_line_is_accepted() -> None:
    assert read_upgrade(handshake(b"Connection: Upgrade", Connection=b"keep-alive")).key == KEY


# -- Sec-WebSocket-Version (section 4.2.1 item 6, section 4.4) ----------------------


@pytest.mark.parametrize(("value", "extra"), [
    (None, ()), (b"8", ()), (b"13, 8", ()), (b"8, 13", ()), (b"12", ()), (b"14", ()), (b"", ()), (b"013", ()),
    (b"13", (b"Sec-WebSocket-Version: 8",)),
])
def test_version_other_than_13_is_refused_with_426_naming_13(value: bytes | None, extra: tuple[bytes, ...]) -> None:
    """Section 4.2.2 item 4: answer 426 with a Sec-WebSocket-Version field listing the versions understood."""
    error = refused(handshake(*extra, Sec_WebSocket_Version=value))
    assert error.status == 426
    assert error.headers == [("Sec-WebSocket-Version", "13")]


# -- Sec-WebSocket-Key (section 4.2.1 item 5) ----------------------------------------


@pytest.mark.parametrize("value", [
    None,
    b"",
    b"not base64 at all!!!!!!=",
    b"dGhlIHNhbXBsZSBub25jZQ",  # no padding
    b"dGhlIHNhbXBsZSBub25j",  # 15 bytes
    base64.b64encode(bytes(15)),
    base64.b64encode(bytes(17)),
    base64.b64encode(bytes(32)),
    b"dGhlIHNhbXBs ZSBub25jZQ==",  # a space inside
    b"dGhlIHNhbXBsZSBub25jZQ==\t==",
    b"dGhlIHNhbXBsZSBub25jZ\xe9==",  # latin-1, not base64
    b"dGhlIHNhbXBsZSBub25jZQ-_",  # the URL-safe alphabet
])
def test_key_that_is_not_16_bytes_in_base64_is_refused_with_400(value: bytes | None) -> None:
    assert refused(handshake(Sec_WebSocket_Key=value)).status == 400


def test_key_sent_twice_is_refused_with_400() -> None:
    assert refused(handshake(b"Sec-WebSocket-Key: " + base64.b64encode(bytes(range(16))))).status == 400
    assert refused(handshake(b"Sec-WebSocket-Key: " + KEY.encode())).status == 400


def test_refusal_does_not_echo_what_the_client_sent() -> None:
    """STYLE: canned error bodies that never echo the request."""
    marker = b"c2VjcmV0LXNlY3JldA=="
    for error in [refused(handshake(Sec_WebSocket_Key=marker)), refused(handshake(Sec_WebSocket_Version=marker)),
                  refused(handshake(b"Sec-WebSocket-Protocol: " + marker + b" x"))]:
        assert marker.decode() not in error.detail


# -- Sec-WebSocket-Protocol (section 4.2.1 item 8) -----------------------------------


@pytest.mark.parametrize(("fields", "subprotocols"), [
    ((b"Sec-WebSocket-Protocol: chat",), ("chat",)),
    ((b"Sec-WebSocket-Protocol: chat, superchat",), ("chat", "superchat")),
    ((b"Sec-WebSocket-Protocol: chat,superchat , v2.json",), ("chat", "superchat", "v2.json")),
    ((b"Sec-WebSocket-Protocol: chat", b"Sec-WebSocket-Protocol: superchat"), ("chat", "superchat")),
    ((b"Sec-WebSocket-Protocol: chat, , superchat",), ("chat", "superchat")),
    ((b"Sec-WebSocket-Protocol: graphql-transport-ws",), ("graphql-transport-ws",)),
])
def test_subprotocols_are_read_in_order(fields: tuple[bytes, ...], subprotocols: tuple[str, ...]) -> None:
    assert read_upgrade(handshake(*fields)).subprotocols == subprotocols


@pytest.mark.parametrize("value", [b"caf\xe9", b"chat, caf\xe9", b"ch at", b"chat;v=1", b'"chat"', b"chat/1", b"a@b",
                                   b"chat, super chat", b"{chat}"])
def test_subprotocol_that_is_not_a_token_is_refused_with_400(value: bytes) -> None:
    """Section 4.1: each subprotocol is a token (RFC 2616 section 2.2); a non-ASCII one arrives latin-1 decoded."""
    assert refused(handshake(b"Sec-WebSocket-Protocol: " + value)).status == 400


@pytest.mark.parametrize("chosen", ["chat", "superchat"])
def test_accept_headers_with_an_offered_subprotocol_names_it(chosen: str) -> None:
    upgrade = read_upgrade(handshake(b"Sec-WebSocket-Protocol: chat, superchat"))
    assert ("Sec-WebSocket-Protocol", chosen) in accept_headers(upgrade, chosen)


@pytest.mark.parametrize("chosen", ["mqtt", "Chat", "chat, superchat", ""])
def test_accept_headers_with_a_subprotocol_not_offered_raises_value_error(chosen: str) -> None:
    """Section 4.1: a client fails the connection if the server picks a subprotocol it did not offer."""
    with pytest.raises(ValueError):
        accept_headers(read_upgrade(handshake(b"Sec-WebSocket-Protocol: chat, superchat")), chosen)


def test_accept_headers_without_a_subprotocol_names_none() -> None:
    upgrade = read_upgrade(handshake(b"Sec-WebSocket-Protocol: chat"))
    assert all(name != "Sec-WebSocket-Protocol" for name, _ in accept_headers(upgrade))


# -- Sec-WebSocket-Extensions (section 4.2.1 item 9, section 9.1) ---------------------


@pytest.mark.parametrize(("values", "offers"), [
    (["permessage-deflate"], [("permessage-deflate", [])]),
    (["permessage-deflate; client_max_window_bits"], [("permessage-deflate", [("client_max_window_bits", None)])]),
    (["permessage-deflate ;client_max_window_bits = 10 ; server_no_context_takeover"],
     [("permessage-deflate", [("client_max_window_bits", "10"), ("server_no_context_takeover", None)])]),
    (['permessage-deflate; client_max_window_bits="10"'], [("permessage-deflate", [("client_max_window_bits", "10")])]),
    (['foo; a="x\\"y"; b="c,d"'], [("foo", [("a", 'x"y'), ("b", "c,d")])]),
    (['foo; a=""'], [("foo", [("a", "")])]),
    (["permessage-deflate, permessage-deflate; client_max_window_bits"],
     [("permessage-deflate", []), ("permessage-deflate", [("client_max_window_bits", None)])]),
    (["a", "b; x=1"], [("a", []), ("b", [("x", "1")])]),
    (["a, , b,"], [("a", []), ("b", [])]),
    ([""], []),
    ([], []),
])
def test_extensions_are_parsed_in_order_with_quoted_values_unquoted(values: list[str], offers: list[Offer]) -> None:
    """Section 9.1's grammar; a quoted-string value stands for the token inside it."""
    assert parse_extensions(values) == offers


@pytest.mark.parametrize("value", [
    "permessage-deflate;", "permessage-deflate x", "permessage-deflate; =10", "permessage-deflate; a=",
    'permessage-deflate; client_max_window_bits="10', "; foo", "=", "foo; a=b c", "foo; a b", "f\xe9o", "foo; a=\xe9",
    "foo; a=(b)", 'foo; a="b"c',
])
def test_extension_list_that_does_not_parse_raises_value_error(value: str) -> None:
    with pytest.raises(ValueError):
        parse_extensions([value])


@pytest.mark.parametrize("value", [b"permessage-deflate;", b"permessage-deflate x", b'foo; a="b', b"f\xe9o", b"; x"])
def test_extensions_that_do_not_parse_are_refused_with_400(value: bytes) -> None:
    assert refused(handshake(b"Sec-WebSocket-Extensions: " + value)).status == 400


def test_extensions_from_several_field_lines_are_kept_in_order() -> None:
    upgrade = read_upgrade(handshake(b"Sec-WebSocket-Extensions: x-one", b"Sec-WebSocket-Extensions: x-two; a=1"))
    assert upgrade.extensions == (("x-one", []), ("x-two", [("a", "1")]))


def test_chrome_offer_is_agreed_and_answered() -> None:
    """What Chrome sends, through parsing, negotiation (RFC 7692 section 7.1) and the 101's fields."""
    upgrade = read_upgrade(handshake(b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"))
    agreed = negotiate(list(upgrade.extensions))
    assert agreed == (DeflateParams(client_max_window_bits=12), "permessage-deflate; client_max_window_bits=12")
    assert accept_headers(upgrade, extensions=agreed[1])[-1] == (
        "Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits=12")


def test_quoted_window_bits_are_negotiated_like_plain_ones() -> None:
    upgrade = read_upgrade(handshake(b'Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits="10"'))
    assert negotiate(list(upgrade.extensions)) == (DeflateParams(server_max_window_bits=10),
                                                   "permessage-deflate; server_max_window_bits=10")


@pytest.mark.parametrize("extensions", [None, ""])
def test_accept_headers_without_extensions_names_none(extensions: str | None) -> None:
    assert all(name != "Sec-WebSocket-Extensions"
               for name, _ in accept_headers(read_upgrade(handshake()), extensions=extensions))


# -- is_upgrade -------------------------------------------------------------------


@pytest.mark.parametrize("fields", [
    (b"Upgrade: websocket",), (b"Upgrade: WebSocket",), (b"Upgrade: h2c, websocket",),
    (b"Upgrade: h2c", b"Upgrade: websocket"),
])
def test_is_upgrade_when_upgrade_names_websocket(fields: tuple[bytes, ...]) -> None:
    assert is_upgrade(parse_one(request(b"GET / HTTP/1.1", *fields)))


@pytest.mark.parametrize("fields", [(), (b"Upgrade: h2c",), (b"Upgrade: websocketx",), (b"X-Upgrade: websocket",),
                                    (b"Connection: Upgrade",), (b"Sec-WebSocket-Key: " + KEY.encode(),)])
def test_is_not_upgrade_without_websocket_in_upgrade(fields: tuple[bytes, ...]) -> None:
    assert not is_upgrade(parse_one(request(b"GET / HTTP/1.1", *fields)))


def test_is_upgrade_does_not_validate_the_handshake() -> None:
    """Cheap, for routing: the request still goes through read_upgrade, which refuses this one."""
    head = handshake(Sec_WebSocket_Key=None)
    assert is_upgrade(head)
    assert refused(head).status == 400
