"""What the reverse proxies in front of heron say about a request (server layer).

Behind nginx or HAProxy the socket's peer is the proxy, not the client,
and the scheme is whatever the proxy used to reach heron. The proxy
reports the real values in ``Forwarded`` (RFC 7239) or the older
``X-Forwarded-For`` / ``X-Forwarded-Proto``. Any client can send those
headers too, so they are believed only from trusted peers
(``--proxy-headers`` with ``--forwarded-allow-ips``), and only as far as
the chain of trusted proxies goes: each proxy appends the address it saw,
so the list is walked from the right, past the trusted proxies, and the
first address that is not one of them is the client. The entries to its
left were written by someone nobody vouches for, which is why the
left-most entry is never taken while an untrusted hop stands to its right
(RFC 7239 section 8.1: the field "cannot be relied upon to be correct").

Decisions, each for a reason:

- Only one family of headers is read: ``X-Forwarded-For`` /
  ``X-Forwarded-Proto`` when the request has either, else ``Forwarded``.
  A proxy passes on the headers it does not manage, so whichever family
  the proxy does not write is the client's to forge. Nearly every proxy
  writes ``X-Forwarded-For`` (nginx, HAProxy's ``option forwardfor``,
  cloud load balancers) and few write ``Forwarded`` by default; preferring
  ``Forwarded`` would let any client of such a proxy pick its own address
  with ``Forwarded: for=127.0.0.1``. A proxy that writes only
  ``Forwarded`` must delete ``X-Forwarded-*`` (docs/proxy.md).
- ``X-Forwarded-Host`` and ``Forwarded: host=`` are not applied:
  ``request.host`` stays the ``Host`` header. Proxies can pass ``Host``
  through unchanged (nginx ``proxy_set_header Host $host``), and a
  forwarded host is what ends up in absolute links and password-reset
  mails, so it is not worth trusting a second source for it.
- An unreadable value from a trusted peer (a hop that is not an address,
  a proto that is not http/https/ws/wss) is ignored as if absent: the
  request is still answered, never with a 500, and the problem is logged
  once per process at info level, since every later request from the
  same misconfigured proxy would repeat it.
- ``'*'`` trusts every *peer* (the only choice for a Unix socket, or
  proxies with changing addresses) but not every hop: the walk still
  stops at the first hop outside the listed addresses, so ``'*'`` alone
  takes the right-most hop, never the left-most entry a client wrote.

Nothing here touches a socket; the server calls ``TrustedProxies.resolve``
when a request starts (``heron/server/connection.py``).
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple, TypeVar

from heron.protocol.events import RequestHead
from heron.protocol.headers import split_comma_list

logger = logging.getLogger("heron.error")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
T = TypeVar("T")

SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}
"""Accepted proto values and the request scheme each means.

A WebSocket handshake reaches heron as an HTTP request, so a proxy that
says ``wss`` means the client used TLS: the request's scheme is ``https``.
Anything else (``ftp``, ``javascript``, garbage) is refused: the scheme
ends up in ``request.url`` and in redirects.
"""


class Node(NamedTuple):
    """One hop of a forwarding chain: RFC 7239 section 6 ``node``.

    ``host`` is the address in canonical form (an IPv4-mapped IPv6 address
    as plain IPv4), ``"unknown"``, or an obfuscated identifier such as
    ``_hidden``; ``ip`` is None for the last two, which never match a
    trusted network. ``port`` is 0 when absent or obfuscated.
    """

    host: str
    port: int
    ip: Address | None


class TrustedProxies:
    """The peers whose forwarding headers heron believes, and the resolution of a request's origin.

    Built once per process from ``--forwarded-allow-ips``
    (``parse_trusted_proxies``); None in the server when
    ``--proxy-headers`` is off, so that case costs nothing.
    """

    __slots__ = ("networks", "any_peer", "_reported")

    def __init__(self, networks: Sequence[Network], *, any_peer: bool = False) -> None:
        self.networks = tuple(networks)
        self.any_peer = any_peer
        """``'*'`` was given: every socket peer is trusted (hops still need a listed address)."""
        self._reported: set[str] = set()

    def trusts(self, ip: Address | None) -> bool:
        return ip is not None and any(ip in network for network in self.networks)

    def resolve(self, peer: tuple[str, int], scheme: str,
                headers: Sequence[tuple[str, str]]) -> tuple[tuple[str, int], str]:
        """The request's ``(client, scheme)``: ``peer`` and ``scheme`` unless a trusted peer says otherwise."""
        if not (self.any_peer or self.trusts(_peer_ip(peer[0]))):
            return peer, scheme
        forwarded: list[str] = []
        for_values: list[str] = []
        proto_values: list[str] = []
        for name, value in headers:
            lname = name.lower()
            if lname == "x-forwarded-for":
                for_values.append(value)
            elif lname == "x-forwarded-proto":
                proto_values.append(value)
            elif lname == "forwarded":
                forwarded.append(value)
        if for_values or proto_values:
            return self._resolve_x_forwarded(peer, scheme, for_values, proto_values)
        if forwarded:
            return self._resolve_forwarded(peer, scheme, forwarded)
        return peer, scheme

    def _resolve_x_forwarded(self, peer: tuple[str, int], scheme: str, for_values: list[str],
                             proto_values: list[str]) -> tuple[tuple[str, int], str]:
        """``X-Forwarded-For`` gives the hops; ``X-Forwarded-Proto`` the scheme of the chosen one.

        Several field lines make one list (RFC 9110 section 5.3). Proxies
        append to ``X-Forwarded-For`` but usually *set* ``X-Forwarded-Proto``,
        so a single proto is taken as is; a list as long as the hops is read
        at the client's position; any other list cannot be matched to the
        hops and is ignored.
        """
        hops = [hop for value in for_values for hop in split_comma_list(value)]
        client, index = peer, -1
        try:
            chosen = self._first_untrusted(
                (parse_node(hops[i], bracketed_ipv6=False), i) for i in range(len(hops) - 1, -1, -1))
        except ValueError:
            self._report("an X-Forwarded-For entry is not an IP address", peer)
        else:
            if chosen is not None:
                (host, port, _), index = chosen
                client = (host, port)
        protos = [proto for value in proto_values for proto in split_comma_list(value)]
        if len(protos) == 1:
            scheme = self._scheme(protos[0], scheme, peer)
        elif len(protos) == len(hops) and index >= 0:
            scheme = self._scheme(protos[index], scheme, peer)
        elif protos:
            self._report("X-Forwarded-Proto has several entries that do not match the X-Forwarded-For hops", peer)
        return client, scheme

    def _resolve_forwarded(self, peer: tuple[str, int], scheme: str,
                           values: list[str]) -> tuple[tuple[str, int], str]:
        """The element of the chosen hop gives both the client (``for``) and the scheme (``proto``).

        Each proxy appends one element describing the connection it
        received (RFC 7239 sections 4 and 5.4), so the ``proto`` next to the
        client's ``for`` is the scheme the client used. An element without
        ``for`` is a hop whose identity was not disclosed: ``unknown``
        (section 6.2). Field lines are parsed from the last one back, as far
        as the walk goes, so a broken line a client sent ahead of the
        proxy's does not hide the proxy's.
        """
        try:
            chosen = self._first_untrusted(
                (parse_node(element.get("for", "unknown"), bracketed_ipv6=True), element)
                for element in _elements_from_right(values))
        except ValueError:
            self._report("a Forwarded header is not valid RFC 7239 syntax", peer)
            return peer, scheme
        if chosen is None:
            return peer, scheme
        (host, port, _), element = chosen
        proto = element.get("proto")
        return (host, port), scheme if proto is None else self._scheme(proto, scheme, peer)

    def _first_untrusted(self, hops_from_right: Iterable[tuple[Node, T]]) -> tuple[Node, T] | None:
        """The first hop that is not a trusted proxy; the left-most if all are; None if there are none.

        ``hops_from_right`` is consumed lazily, so entries left of the
        client (which the client wrote) are never parsed and cannot make
        the header unreadable.
        """
        hop = None
        for hop in hops_from_right:
            if not self.trusts(hop[0].ip):
                break
        return hop

    def _scheme(self, proto: str, scheme: str, peer: tuple[str, int]) -> str:
        resolved = SCHEMES.get(proto.lower())
        if resolved is None:
            self._report("a forwarded proto is not http, https, ws or wss", peer)
            return scheme
        return resolved

    def _report(self, problem: str, peer: tuple[str, int]) -> None:
        """Log ``problem`` the first time it happens in this process; the value itself is never logged."""
        if problem not in self._reported:
            self._reported.add(problem)
            logger.info("proxy headers from %s ignored: %s; check the proxy's configuration"
                        " (docs/proxy.md; logged once per process)", peer[0], problem)


def parse_trusted_proxies(value: str) -> TrustedProxies:
    """``--forwarded-allow-ips``: comma-separated addresses and CIDR ranges (IPv4 or IPv6), or ``*``.

    Raises ValueError naming the first bad entry. Host names are refused:
    resolving them would make trust depend on DNS at startup.
    """
    networks: list[Network] = []
    any_peer = False
    for entry in split_comma_list(value):
        if entry == "*":
            any_peer = True
        else:
            networks.append(_parse_network(entry))
    if not networks and not any_peer:
        raise ValueError("forwarded_allow_ips is empty: list the proxies' addresses (e.g. 127.0.0.1,10.0.0.0/8)")
    return TrustedProxies(networks, any_peer=any_peer)


def _parse_network(entry: str) -> Network:
    if "%" in entry:
        raise ValueError(f"forwarded_allow_ips: {entry!r} has an IPv6 zone (%...): list the address without it")
    try:
        return ipaddress.ip_network(entry)
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(entry, strict=False)
    except ValueError:
        raise ValueError(f"forwarded_allow_ips: {entry!r} is not an IP address or CIDR range"
                         " (e.g. 10.0.0.1, 10.0.0.0/8, fd00::/8, or '*')") from None
    raise ValueError(f"forwarded_allow_ips: {entry!r} has host bits set: did you mean {loose}?")


# -- parsing the headers -----------------------------------------------------------

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
_PAIR = re.compile(rf"[ \t]*({_TOKEN})=({_TOKEN}|{_QUOTED})[ \t]*")
_QUOTED_PAIR = re.compile(r"\\(.)")
_OBFUSCATED = re.compile(r"_[A-Za-z0-9._-]+")
_PORT = re.compile(r"[0-9]{1,5}")


def parse_forwarded(value: str) -> list[dict[str, str]]:
    """The elements of one ``Forwarded`` field value, in order; ValueError if it is not RFC 7239 syntax.

    Grammar (RFC 7239 section 4): elements separated by commas, each
    ``name=value`` pairs separated by semicolons, a value a token or a
    quoted-string (RFC 9110 section 5.6.4, unquoted here). Parameter names
    are case-insensitive and may occur once per element; empty list
    members are skipped (RFC 9110 section 5.6.1). Whitespace around ``;``
    is tolerated, as some proxies write it.
    """
    elements: list[dict[str, str]] = []
    element: dict[str, str] = {}
    pos, end = 0, len(value)
    while True:
        match = _PAIR.match(value, pos)
        if match is not None:
            name = match[1].lower()
            if name in element:
                raise ValueError(f"parameter {name!r} occurs twice in one element")
            raw = match[2]
            element[name] = _QUOTED_PAIR.sub(r"\1", raw[1:-1]) if raw.startswith('"') else raw
            pos = match.end()
        else:
            while pos < end and value[pos] in " \t":
                pos += 1
        if pos == end or value[pos] == ",":
            if element:
                elements.append(element)
                element = {}
            if pos == end:
                return elements
        elif value[pos] != ";":
            raise ValueError(f"unexpected {value[pos]!r} at position {pos}")
        pos += 1


def parse_node(text: str, *, bracketed_ipv6: bool) -> Node:
    """One hop: ``192.0.2.43``, ``[2001:db8::1]:4711``, ``unknown``, ``_hidden:_port`` (RFC 7239 section 6).

    ``Forwarded`` must bracket IPv6 addresses (section 6.1);
    ``X-Forwarded-For`` writes them bare (section 7.4), though some
    proxies bracket them to add a port, so both are read there.
    ValueError for anything else, including host names.
    """
    if not bracketed_ipv6:
        ip = _ip(text)
        if ip is not None:
            return Node(str(ip), 0, ip)
    if text.startswith("["):
        name, bracket, port = text[1:].partition("]")
        if not bracket or (port and not port.startswith(":")):
            raise ValueError("not a bracketed IPv6 address")
        ip = _unmapped(_unscoped(ipaddress.IPv6Address(name)))
        return Node(str(ip), _port(port[1:]) if port else 0, ip)
    name, colon, port = text.partition(":")
    port_number = _port(port) if colon else 0
    if name.lower() == "unknown":
        return Node("unknown", port_number, None)
    if _OBFUSCATED.fullmatch(name):
        return Node(name, port_number, None)
    ip = ipaddress.IPv4Address(name)
    return Node(str(ip), port_number, ip)


def _elements_from_right(values: list[str]) -> Iterator[dict[str, str]]:
    """The elements of every ``Forwarded`` field line, last first, each line parsed only when reached."""
    for value in reversed(values):
        yield from reversed(parse_forwarded(value))


def _port(text: str) -> int:
    """``node-port``: 1 to 5 digits, or an obfuscated port (which tells nothing: 0)."""
    if _OBFUSCATED.fullmatch(text):
        return 0
    if _PORT.fullmatch(text) and int(text) <= 65535:
        return int(text)
    raise ValueError("not a port")


def _ip(text: str) -> Address | None:
    """The address a hop names, or None if it is not a plain IP address."""
    try:
        return _unmapped(_unscoped(ipaddress.ip_address(text)))
    except ValueError:
        return None


def _unscoped(ip: Address) -> Address:
    """``ip``, or ValueError if it carries an IPv6 zone (``fe80::1%eth0``, RFC 4007 section 11).

    ``ipaddress`` takes almost any text after the ``%``: spaces, quotes,
    angle brackets, so a hop could become a client "address" that forges
    access-log entries, and ``::1%x`` would still compare equal to a
    trusted ``::1``. A zone names an interface of the machine that wrote
    it, which means nothing to heron, so a hop with one is refused.
    """
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id is not None:
        raise ValueError("an IPv6 zone is not part of a forwarded address")
    return ip


def _peer_ip(text: str) -> Address | None:
    """The socket peer's address for the trust check. The kernel writes a link-local peer with its
    interface (``fe80::1%eth0``): that zone is dropped, not refused, so such a proxy can be trusted."""
    return _ip(text.partition("%")[0])


def _unmapped(ip: Address) -> Address:
    """``::ffff:10.0.0.1`` (a dual-stack socket's view of an IPv4 peer) as ``10.0.0.1``, so IPv4 ranges match it."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


# -- the path prefix a proxy strips ----------------------------------------------------

_ROOT_SEGMENT = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@-]+")


def normalize_root_path(value: str) -> str:
    """``--root-path`` as ``""`` or ``/prefix`` (no trailing slash); ValueError if it is not a plain path.

    Segments may hold only characters that need no percent-encoding in a
    path (RFC 3986 section 3.3), so the prefix is the same decoded and
    raw, and ``.``/``..`` or empty segments are refused: the prefix is
    prepended to every request path and must not change what it means.
    """
    path = value.rstrip("/")
    if not path:
        return ""
    segments = path.split("/")
    if segments[0] or not all(_ROOT_SEGMENT.fullmatch(s) and s not in (".", "..") for s in segments[1:]):
        raise ValueError(f"root_path: {value!r} is not a path prefix like /app or /api/v1"
                         " (plain segments, no '.', '..', '//', '%', '?' or '#')")
    return path


def under_root_path(head: RequestHead, root_path: str) -> RequestHead:
    """``head`` as if the proxy had not stripped ``root_path``: the path gets it back in front.

    So ``request.path`` is the full path the client asked for and
    ``request.root_path`` its prefix, exactly as inside ``app.mount``: the
    app routes what follows the prefix, and ``request.url``, redirects and
    ``request.root_path + app.url_for(...)`` carry it. ``target`` stays as
    received, for the access log; ``OPTIONS *`` and CONNECT have no path
    to prefix.
    """
    if not head.path.startswith("/"):
        return head
    return head._replace(path=root_path + head.path)
