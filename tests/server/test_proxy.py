"""Trusted proxies, Forwarded / X-Forwarded-* resolution and the root path, without a socket."""

from __future__ import annotations

import ipaddress
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heron.protocol.events import RequestHead
from heron.server.proxy import (Node, normalize_root_path, parse_forwarded, parse_node, parse_trusted_proxies,
                             under_root_path)

PROXY = ("10.0.0.1", 40000)
"""The socket peer in most tests: a proxy inside 10.0.0.0/8."""
TRUSTED = parse_trusted_proxies("10.0.0.0/8, fd00::/8")


def resolve(*headers: tuple[str, str], peer: tuple[str, int] = PROXY, scheme: str = "http",
            trusted: str = "10.0.0.0/8, fd00::/8") -> tuple[tuple[str, int], str]:
    return parse_trusted_proxies(trusted).resolve(peer, scheme, list(headers))


# -- --forwarded-allow-ips ---------------------------------------------------------


def test_addresses_and_ranges_of_both_families_are_trusted() -> None:
    proxies = parse_trusted_proxies("127.0.0.1, ::1,10.0.0.0/8 ,2001:db8::/32")
    trusted = ["127.0.0.1", "::1", "10.255.0.3", "2001:db8::17"]
    untrusted = ["127.0.0.2", "::2", "11.0.0.1", "2001:db9::1"]
    assert all(proxies.trusts(ipaddress.ip_address(a)) for a in trusted)
    assert not any(proxies.trusts(ipaddress.ip_address(a)) for a in untrusted)


@pytest.mark.parametrize(("value", "message"), [
    ("10.0.0.300", r"'10\.0\.0\.300' is not an IP address or CIDR range"),
    ("proxy.internal", r"'proxy\.internal' is not an IP address"),
    ("[::1]", r"'\[::1\]' is not an IP address"),
    ("127.0.0.1,10.0.0.1/8", r"'10\.0\.0\.1/8' has host bits set: did you mean 10\.0\.0\.0/8\?"),
    ("fe80::1%eth0", r"'fe80::1%eth0' has an IPv6 zone"),
    ("", "forwarded_allow_ips is empty"),
    (" , ", "forwarded_allow_ips is empty"),
])
def test_bad_trusted_entry_is_refused_with_a_clear_message(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_trusted_proxies(value)


def test_an_ipv4_mapped_peer_matches_an_ipv4_range() -> None:
    """A dual-stack socket reports an IPv4 proxy as ::ffff:10.0.0.1."""
    assert resolve(("X-Forwarded-For", "192.0.2.1"), peer=("::ffff:10.0.0.1", 1)) == (("192.0.2.1", 0), "http")


# -- who is trusted ------------------------------------------------------------------


def test_headers_from_an_untrusted_peer_are_ignored() -> None:
    peer = ("192.0.2.66", 5555)
    assert resolve(("X-Forwarded-For", "1.2.3.4"), ("X-Forwarded-Proto", "https"), peer=peer) == (peer, "http")
    assert resolve(("Forwarded", "for=1.2.3.4;proto=https"), peer=peer) == (peer, "http")


def test_a_trusted_peer_without_forwarding_headers_is_the_client() -> None:
    assert resolve(("Host", "t")) == (PROXY, "http")


def test_star_trusts_any_peer_but_takes_the_right_most_hop() -> None:
    """'*' is not "trust every hop": the left-most entry, which the client wrote, is never taken."""
    hops = ("X-Forwarded-For", "6.6.6.6, 192.0.2.1")
    assert resolve(hops, peer=("203.0.113.9", 1), trusted="*") == (("192.0.2.1", 0), "http")
    assert resolve(hops, peer=("", 0), trusted="*") == (("192.0.2.1", 0), "http")  # a Unix socket peer


def test_star_with_ranges_still_skips_the_listed_proxies() -> None:
    assert resolve(("X-Forwarded-For", "192.0.2.1, 10.0.0.7"), peer=("203.0.113.9", 1),
                   trusted="*, 10.0.0.0/8") == (("192.0.2.1", 0), "http")


# -- X-Forwarded-For -------------------------------------------------------------------


def test_the_right_most_untrusted_hop_is_the_client_never_the_left_most() -> None:
    assert resolve(("X-Forwarded-For", "6.6.6.6, 192.0.2.1, 10.0.0.2")) == (("192.0.2.1", 0), "http")


def test_when_every_hop_is_trusted_the_left_most_is_the_client() -> None:
    assert resolve(("X-Forwarded-For", "10.9.9.9, 10.0.0.2")) == (("10.9.9.9", 0), "http")


def test_several_field_lines_make_one_list_in_order() -> None:
    assert resolve(("X-Forwarded-For", "192.0.2.1"), ("X-Forwarded-For", "10.0.0.2")) == (("192.0.2.1", 0), "http")
    assert resolve(("X-Forwarded-For", "10.0.0.2"), ("x-forwarded-for", "192.0.2.1")) == (("192.0.2.1", 0), "http")


@pytest.mark.parametrize(("entry", "client"), [
    ("2001:db8::1", ("2001:db8::1", 0)),
    ("2001:DB8:0::1", ("2001:db8::1", 0)),
    ("[2001:db8::1]:8443", ("2001:db8::1", 8443)),
    ("[2001:db8::1]", ("2001:db8::1", 0)),
    ("192.0.2.1:51234", ("192.0.2.1", 51234)),
    ("::ffff:192.0.2.1", ("192.0.2.1", 0)),
    ("unknown", ("unknown", 0)),
])
def test_x_forwarded_for_entries(entry: str, client: tuple[str, int]) -> None:
    assert resolve(("X-Forwarded-For", f"{entry}, 10.0.0.2")) == (client, "http")


@pytest.mark.parametrize("entry", ["", " , ,"])
def test_an_empty_x_forwarded_for_leaves_the_peer(entry: str) -> None:
    assert resolve(("X-Forwarded-For", entry)) == (PROXY, "http")


@pytest.mark.parametrize("entry", ["proxy.example", "192.0.2.1:99999", "[2001:db8::1", "1.2.3.4.5", "010.0.0.1"])
def test_an_unreadable_hop_leaves_the_peer_and_is_logged_once(entry: str, caplog: pytest.LogCaptureFixture) -> None:
    proxies = parse_trusted_proxies("10.0.0.0/8")
    with caplog.at_level(logging.INFO, logger="heron.error"):
        for _ in range(3):
            assert proxies.resolve(PROXY, "http", [("X-Forwarded-For", entry)]) == (PROXY, "http")
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "X-Forwarded-For entry is not an IP address" in message and "10.0.0.1" in message
    assert entry not in message, "the client's value reached the log"


@pytest.mark.parametrize("entry", [
    "fe80::1%eth0", "fe80::1%x y", 'fe80::1%" - - [x] "GET /forged', "fe80::1%<script>", "::1%x", "[fe80::1%x]:80",
])
def test_a_hop_with_an_ipv6_zone_is_no_address(entry: str, caplog: pytest.LogCaptureFixture) -> None:
    """ipaddress takes almost any text after %: it would become request.client and the access log's first field."""
    with caplog.at_level(logging.INFO, logger="heron.error"):
        assert resolve(("X-Forwarded-For", entry)) == (PROXY, "http")
    assert "X-Forwarded-For entry is not an IP address" in caplog.text


@pytest.mark.parametrize("value", ['for="[fe80::1%eth0]"', 'for="[::1%x]:80"', 'for="[fe80::1%25x y]"'])
def test_a_forwarded_node_with_an_ipv6_zone_is_no_address(value: str) -> None:
    assert resolve(("Forwarded", value)) == (PROXY, "http")


def test_a_zone_does_not_make_a_hop_a_trusted_proxy() -> None:
    """::1%x compared equal to a trusted ::1: the walk went past it to the address the client wrote."""
    proxies = parse_trusted_proxies("::1")
    peer = ("::1", 1)
    assert proxies.resolve(peer, "http", [("X-Forwarded-For", "192.0.2.9, ::1%x")]) == (peer, "http")


def test_a_link_local_proxy_peer_is_trusted_whatever_its_interface() -> None:
    """The kernel names a link-local peer with its interface; that is the socket's own, not a client's text."""
    proxies = parse_trusted_proxies("fe80::/10")
    assert proxies.resolve(("fe80::1%eth0", 1), "http", [("X-Forwarded-For", "192.0.2.9")]) == (("192.0.2.9", 0),
                                                                                                    "http")


def test_garbage_left_of_the_client_does_not_matter() -> None:
    """Only the hops the walk reaches are parsed: what the client wrote cannot hide its address."""
    assert resolve(("X-Forwarded-For", "not an address, 192.0.2.1, 10.0.0.2")) == (("192.0.2.1", 0), "http")


# -- X-Forwarded-Proto -------------------------------------------------------------------


@pytest.mark.parametrize(("proto", "scheme"), [("https", "https"), ("HTTPS", "https"), ("http", "http"),
                                               ("wss", "https"), ("ws", "http")])
def test_x_forwarded_proto_sets_the_scheme(proto: str, scheme: str) -> None:
    assert resolve(("X-Forwarded-For", "192.0.2.1"), ("X-Forwarded-Proto", proto)) == (("192.0.2.1", 0), scheme)


def test_x_forwarded_proto_alone_sets_only_the_scheme() -> None:
    assert resolve(("X-Forwarded-Proto", "https")) == (PROXY, "https")


def test_a_proto_list_is_read_at_the_clients_position() -> None:
    headers = (("X-Forwarded-For", "192.0.2.1, 10.0.0.2"), ("X-Forwarded-Proto", "https, http"))
    assert resolve(*headers) == (("192.0.2.1", 0), "https")


def test_a_proto_list_that_does_not_match_the_hops_is_ignored() -> None:
    headers = (("X-Forwarded-For", "192.0.2.1, 10.0.0.2, 10.0.0.3"), ("X-Forwarded-Proto", "https, http"))
    assert resolve(*headers, scheme="http") == (("192.0.2.1", 0), "http")


@pytest.mark.parametrize("proto", ["ftp", "javascript", "https://x", "", "http s"])
def test_other_protos_are_ignored(proto: str) -> None:
    assert resolve(("X-Forwarded-For", "192.0.2.1"), ("X-Forwarded-Proto", proto)) == (("192.0.2.1", 0), "http")


# -- Forwarded ----------------------------------------------------------------------------


def test_forwarded_gives_the_client_and_its_proto() -> None:
    headers = ("Forwarded", "for=192.0.2.60;proto=https;by=203.0.113.43")
    assert resolve(headers) == (("192.0.2.60", 0), "https")


def test_forwarded_proto_comes_from_the_clients_element() -> None:
    """The CDN saw https from the client; the inner proxy saw http from the CDN."""
    headers = ("Forwarded", "for=6.6.6.6;proto=http, for=192.0.2.60;proto=https, for=10.0.0.9;proto=http")
    assert resolve(headers) == (("192.0.2.60", 0), "https")


def test_forwarded_field_lines_and_elements_are_one_list() -> None:
    headers = [("Forwarded", "for=192.0.2.60"), ("Forwarded", "for=10.0.0.9, for=10.0.0.8")]
    assert resolve(*headers) == (("192.0.2.60", 0), "http")


@pytest.mark.parametrize(("value", "client"), [
    ('for="[2001:db8:cafe::17]:4711"', ("2001:db8:cafe::17", 4711)),
    ('for="[2001:db8:cafe::17]"', ("2001:db8:cafe::17", 0)),
    ('For="192.0.2.43:47011"', ("192.0.2.43", 47011)),
    ("for=unknown", ("unknown", 0)),
    ("for=UNKNOWN", ("unknown", 0)),
    ("for=_hidden", ("_hidden", 0)),
    ('for="_SEVKISEK:_port"', ("_SEVKISEK", 0)),
    ("proto=https", ("unknown", 0)),  # RFC 7239 section 6.2: a hop not disclosed
    ('for = 192.0.2.1', None),  # no whitespace around "="
])
def test_forwarded_node_identifiers(value: str, client: tuple[str, int] | None) -> None:
    resolved_client, _ = resolve(("Forwarded", value))
    assert resolved_client == (client or PROXY)


@pytest.mark.parametrize("value", [
    "for=2001:db8::1",  # IPv6 must be quoted and bracketed (RFC 7239 section 6.1)
    'for="2001:db8::1"',
    'for="192.0.2.1',
    "for=192.0.2.1;for=192.0.2.2",
    "for=192.0.2.1 proto=https",
    "for=proxy.example",
])
def test_unreadable_forwarded_leaves_the_peer(value: str) -> None:
    assert resolve(("Forwarded", value), ("X-Other", "x")) == (PROXY, "http")


def test_a_broken_forwarded_line_left_of_the_client_does_not_matter() -> None:
    assert resolve(("Forwarded", 'for="oops'), ("Forwarded", "for=192.0.2.60")) == (("192.0.2.60", 0), "http")


def test_x_forwarded_headers_win_over_forwarded() -> None:
    """A proxy that writes X-Forwarded-For passes a client's Forwarded through: it must not be believed."""
    headers = (("Forwarded", "for=10.0.0.5;proto=https"), ("X-Forwarded-For", "192.0.2.1"))
    assert resolve(*headers) == (("192.0.2.1", 0), "http")


# -- the Forwarded grammar --------------------------------------------------------------


def test_parse_forwarded_elements_pairs_and_quoted_strings() -> None:
    value = 'for=192.0.2.43;Proto=HTTP ; by="a\\"b", ,for="_x,y";host="example.com:8080",'
    assert parse_forwarded(value) == [
        {"for": "192.0.2.43", "proto": "HTTP", "by": 'a"b'},
        {"for": "_x,y", "host": "example.com:8080"},
    ]


@pytest.mark.parametrize("value", ['for="unterminated', "for", "=x", "for=a=b", 'for="a"b', "for=a,;x"])
def test_parse_forwarded_refuses_what_is_not_rfc_7239(value: str) -> None:
    with pytest.raises(ValueError):
        parse_forwarded(value)


def test_parse_node_forms() -> None:
    assert parse_node("[::1]:80", bracketed_ipv6=True) == Node("::1", 80, ipaddress.ip_address("::1"))
    assert parse_node("::1", bracketed_ipv6=False).host == "::1"
    with pytest.raises(ValueError):
        parse_node("::1", bracketed_ipv6=True)
    with pytest.raises(ValueError):
        parse_node("_", bracketed_ipv6=True)


# -- properties -----------------------------------------------------------------------

ipv4 = st.ip_addresses(v=4).map(str)


@given(st.lists(st.tuples(ipv4, st.booleans()), min_size=1, max_size=8), st.text(max_size=40))
def test_resolution_is_the_right_most_untrusted_hop(hops: list[tuple[str, bool]], forged: str) -> None:
    """Whatever a client puts in front, the client is the first hop from the right not in the trusted range."""
    trusted = parse_trusted_proxies("10.0.0.0/8")
    entries = [f"10.{ip.split('.', 1)[1]}" if is_proxy else ip for ip, is_proxy in hops]
    expected = next((e for e in reversed(entries) if not e.startswith("10.")), entries[0])
    if any(not e.startswith("10.") for e in entries):  # the forged part is left of an untrusted hop
        entries.insert(0, forged.replace(",", ""))
    value = ", ".join(entries)
    assert trusted.resolve(PROXY, "http", [("X-Forwarded-For", value)])[0] == (expected, 0)


@given(st.lists(st.tuples(st.sampled_from(["forwarded", "x-forwarded-for", "x-forwarded-proto", "x"]),
                          st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60)), max_size=5))
def test_resolve_never_raises(headers: list[tuple[str, str]]) -> None:
    (host, port), scheme = TRUSTED.resolve(PROXY, "http", headers)
    assert isinstance(host, str) and 0 <= port <= 65535 and scheme in ("http", "https")


# -- --root-path ------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "normalized"), [
    ("", ""), ("/", ""), ("/app", "/app"), ("/app/", "/app"), ("/api/v1", "/api/v1"), ("/a:b@c~", "/a:b@c~"),
])
def test_root_path_is_normalized(value: str, normalized: str) -> None:
    assert normalize_root_path(value) == normalized


@pytest.mark.parametrize("value", ["app", "/a b", "/a//b", "/a/../b", "/./a", "/a%20b", "/a?b", "/a#b", "/é"])
def test_bad_root_path_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="is not a path prefix like /app"):
        normalize_root_path(value)


def head(path: str, target: str) -> RequestHead:
    return RequestHead("GET", target, path, "", "1.1", [], "h", True, False, 0, False)


def test_under_root_path_prefixes_the_path_and_keeps_the_target() -> None:
    prefixed = under_root_path(head("/x", "/x?q=1"), "/app")
    assert (prefixed.path, prefixed.target) == ("/app/x", "/x?q=1")


def test_under_root_path_leaves_asterisk_and_authority_forms() -> None:
    for path, target in (("*", "*"), ("", "example.com:443")):
        assert under_root_path(head(path, target), "/app").path == path
