"""Hypothesis strategies for valid HTTP/1.1 requests (shared by the property and differential tests).

A generated request is a ``Spec``: what was meant (method, target, fields,
body) next to the exact bytes that say it, so a test can check a parser
against the intent as well as against another parser.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Deterministic by default: the same examples on every run, so a test run
# never fails by luck. HERON_FUZZ=N explores N times as many fresh random ones.
_FUZZ = int(os.environ.get("HERON_FUZZ", "0"))


def property_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples * max(_FUZZ, 1),
        derandomize=not _FUZZ,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )

TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Visible ASCII except '#', for request targets.
PATH_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@%/"
VALUE_CHARS = "".join(chr(c) for c in range(0x21, 0x7F))
# Fields the generator controls itself, so random ones must not collide with them.
FRAMING_NAMES = {"host", "content-length", "transfer-encoding", "connection", "expect", "te", "trailer", "upgrade"}


@dataclass(frozen=True)
class Spec:
    method: str
    target: str
    version: str
    fields: tuple[tuple[str, str], ...]
    """Every field line sent, in order, including Host and framing fields."""
    body: bytes
    trailers: tuple[tuple[str, str], ...]
    raw: bytes

    @property
    def passed_on(self) -> tuple[tuple[str, str], ...]:
        """The fields the parser hands on: ``fields`` without Transfer-Encoding, which it decodes
        (the generated Content-Length is one plain number already, kept as sent)."""
        return tuple((n, v) for n, v in self.fields if n.lower() != "transfer-encoding")


tokens = st.text(TCHAR, min_size=1, max_size=12)
methods = st.one_of(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "QUERY"]),
                    tokens.filter(lambda m: m != "CONNECT"))  # CONNECT takes an authority, not a path
field_names = tokens.filter(lambda n: n.lower() not in FRAMING_NAMES)
# Values never start or end with whitespace: parsers strip it, so it would not round-trip.
field_values = st.one_of(
    st.just(""),
    st.text(VALUE_CHARS, min_size=1, max_size=1),
    st.builds(
        lambda first, middle, last: first + middle + last,
        st.text(VALUE_CHARS, min_size=1, max_size=1),
        st.text(VALUE_CHARS + " \t", max_size=20),
        st.text(VALUE_CHARS, min_size=1, max_size=1),
    ),
)
fields = st.lists(st.tuples(field_names, field_values), max_size=6)
hosts = st.sampled_from(["example.com", "example.com:8080", "127.0.0.1", "[::1]:443", "a-b.example", "x"])


@st.composite
def targets(draw: st.DrawFn) -> str:
    path = "/" + draw(st.text(PATH_CHARS, max_size=20))
    if draw(st.booleans()):
        path += "?" + draw(st.text(PATH_CHARS + "?", max_size=20))
    return path


@st.composite
def chunked_body(draw: st.DrawFn, body: bytes, bws: bool = True) -> tuple[bytes, tuple[tuple[str, str], ...]]:
    """``body`` cut into random chunks, optional extensions, optional trailers: (wire bytes, trailers).

    ``bws`` allows whitespace before the ";" of an extension (RFC 9112
    section 7.1.1 does; h11 does not).
    """
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=5)))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)])]
    wire = b""
    for piece in pieces:
        if not piece:
            continue
        size = b"%x" % len(piece)
        if draw(st.booleans()):
            size = size.upper()
        ext = draw(st.sampled_from([b"", b";a", b";name=value", b';q="x y"'] + ([b' ; q="x y"'] if bws else [])))
        wire += size + ext + b"\r\n" + piece + b"\r\n"
    trailers = tuple(draw(st.lists(st.tuples(field_names, field_values), max_size=2)))
    wire += b"0\r\n" + b"".join(f"{n}: {v}\r\n".encode() for n, v in trailers) + b"\r\n"
    return wire, trailers


@st.composite
def requests(draw: st.DrawFn, *, bws: bool = True) -> Spec:
    method = draw(methods)
    target = draw(targets())
    version = draw(st.sampled_from(["1.1", "1.1", "1.0"]))
    head_fields: list[tuple[str, str]] = []
    if version == "1.1" or draw(st.booleans()):
        head_fields.append((draw(st.sampled_from(["Host", "host", "HOST"])), draw(hosts)))
    head_fields += draw(fields)
    body = draw(st.binary(max_size=64))
    framing = draw(st.sampled_from(["length", "chunked", "none"] if version == "1.1" else ["length", "none"]))
    trailers: tuple[tuple[str, str], ...] = ()
    if framing == "none" or (framing == "length" and not body and draw(st.booleans())):
        body = b""
        wire_body = b""
    elif framing == "length":
        head_fields.append((draw(st.sampled_from(["Content-Length", "content-length"])), str(len(body))))
        wire_body = body
    else:
        head_fields.append(("Transfer-Encoding", "chunked"))
        wire_body, trailers = draw(chunked_body(body, bws))
    if draw(st.booleans()):
        head_fields.append(("Connection", draw(st.sampled_from(["close", "keep-alive", "Keep-Alive, Upgrade"]))))
    order = draw(st.permutations(range(len(head_fields))))
    head_fields = [head_fields[i] for i in order]
    ows = draw(st.sampled_from(["", " ", "  ", "\t"]))
    raw = f"{method} {target} HTTP/{version}\r\n".encode()
    raw += b"".join(f"{n}:{ows}{v}{ows}\r\n".encode() for n, v in head_fields)
    raw += b"\r\n" + wire_body
    return Spec(method, target, version, tuple(head_fields), body, trailers, raw)


@st.composite
def splits(draw: st.DrawFn, data: bytes) -> list[bytes]:
    """``data`` cut at random points (possibly every byte, possibly not at all)."""
    if data and draw(st.integers(0, 9)) == 0:
        return [data[i : i + 1] for i in range(len(data))]
    cuts = sorted(set(draw(st.lists(st.integers(0, len(data)), max_size=12))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]


INTERESTING_BYTES = [b"\r", b"\n", b"\r\n", b" ", b"\t", b":", b";", b",", b"\x00", b"\x7f", b"\xff", b"0", b"f",
                     b"-", b"#", b"/", b"HTTP/1.1", b"\r\n\r\n", b"Transfer-Encoding: chunked\r\n",
                     b"Content-Length: 3\r\n", b"Host: x\r\n"]


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few random insertions, deletions, duplications and byte flips."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(out)))
        op = draw(st.sampled_from(["insert", "delete", "duplicate", "flip"]))
        if op == "insert":
            out[i:i] = draw(st.one_of(st.sampled_from(INTERESTING_BYTES), st.binary(min_size=1, max_size=3)))
        elif op == "delete":
            del out[i : i + draw(st.integers(1, 4))]
        elif op == "duplicate":
            j = draw(st.integers(i, min(len(out), i + 20)))
            out[j:j] = out[i:j]
        elif out and i < len(out):
            out[i] = draw(st.integers(0, 255))
    return bytes(out)
