"""A request head read into what it means: method, target, fields, framing (protocol layer, sans-IO).

Pure functions over one complete head, which ``RequestParser`` has cut
out of its buffer: the request line (RFC 9112 section 3), the header
section checked with one regular expression for every field at once
(section 5, RFC 9110 section 5.5), the target split by its form
(section 3.2), and the framing decided from Content-Length and
Transfer-Encoding (section 6.3). Anything that is not a valid head, or
whose framing is ambiguous, raises ``ProtocolError`` with the status to
answer and a message naming the rule, never the bytes.
"""

from __future__ import annotations

import re
from typing import Final

from heron.errors import ProtocolError
from heron.protocol.headers import parse_digits, split_comma_list

__all__ = ["FIELD_LINES", "Fields", "canonical_framing", "diagnose_fields", "expects_continue", "framing",
           "keeps_alive", "parse_request_line", "read_fields", "split_target", "valid_host"]

# RFC 9110 section 5.6.2: token = 1*tchar.
_TCHAR: Final = rb"!#$%&'*+\-.^_`|~0-9A-Za-z"
# RFC 9112 section 3: method SP request-target SP HTTP-version. The target is
# visible ASCII only: no CTL, no space, no obs-text, no fragment.
_REQUEST_LINE: Final = re.compile(rb"([%s]+) ([\x21-\x22\x24-\x7e]+) HTTP/([0-9])\.([0-9])" % _TCHAR)
# RFC 9112 section 5 + RFC 9110 section 5.5: a whole header section, each line
# `token ":" OWS field-value OWS CRLF`, values of HTAB, SP, VCHAR and
# obs-text. One fullmatch rules out obs-fold, space before the colon, bare CR
# or LF, and control characters, for every field at once.
FIELD_LINES: Final = re.compile(rb"(?:[%s]+:[\t\x20-\x7e\x80-\xff]*\r\n)*" % _TCHAR)
# RFC 3986 section 3.2.2: IP-literal or reg-name (the IPv6 literal loosely).
_IP_LITERAL: Final = r"\[[0-9A-Fa-f:.]+\]"
_REG_NAME_CHAR: Final = r"[A-Za-z0-9\-._~!$&'()*+,;=%]"
# RFC 9112 section 3.2: Host = uri-host [ ":" port ]; the host may be empty
# when the target URI has no authority.
_HOST: Final = re.compile(r"(?:%s|%s*)(?::[0-9]*)?" % (_IP_LITERAL, _REG_NAME_CHAR))
# RFC 9110 section 4.2.1: an http(s) URI with an empty host is invalid.
_URI_AUTHORITY: Final = re.compile(r"(?:%s|%s+)(?::[0-9]*)?" % (_IP_LITERAL, _REG_NAME_CHAR))
# RFC 9112 section 3.2.3: authority-form = uri-host ":" port, both required.
_AUTHORITY_FORM: Final = re.compile(r"(?:%s|%s+):[0-9]+" % (_IP_LITERAL, _REG_NAME_CHAR))
# Transfer codings we know by name (RFC 9110 section 18.6); only chunked is decoded.
_KNOWN_CODINGS: Final = frozenset({"chunked", "gzip", "x-gzip", "deflate", "compress", "x-compress"})


Fields = tuple[list[tuple[str, str]], list[str], list[str], list[str], str, str, str]
"""What ``read_fields`` gives: every field line as ``(name, value)``; then, gathered as they came,
the Host values, the Content-Length values, the Transfer-Encoding members (lower-cased), and every
Connection, Expect and Upgrade value, each joined with ",". A plain tuple: it is made for every request."""


def parse_request_line(line: bytes) -> tuple[str, str, str]:
    """``(method, target, version)`` of a request line; ``version`` is "1.0" or "1.1"."""
    m = _REQUEST_LINE.fullmatch(line)
    if m is None:
        raise ProtocolError(400, _diagnose_request_line(line))
    raw_method, raw_target, major, minor = m.groups()
    if major != b"1":
        raise ProtocolError(505, "HTTP version not supported")
    # RFC 9112 section 2.3: a higher 1.x minor version is answered as 1.1.
    return raw_method.decode("ascii"), raw_target.decode("ascii"), "1.0" if minor == b"0" else "1.1"


def read_fields(block: bytes, max_count: int) -> Fields:
    """The field lines of a header section (each ending in CRLF), checked whole first."""
    if block.count(b"\r\n") > max_count:
        raise ProtocolError(431, "too many header fields")
    if FIELD_LINES.fullmatch(block) is None:
        raise ProtocolError(400, diagnose_fields(block))
    headers: list[tuple[str, str]] = []
    hosts: list[str] = []
    lengths: list[str] = []
    codings: list[str] = []
    connection = expect = upgrade = ""
    for field_line in block[:-2].decode("latin-1").split("\r\n") if block else ():
        name, _, value = field_line.partition(":")
        value = value.strip(" \t")
        headers.append((name, value))
        lname = name.lower()
        if lname == "host":
            hosts.append(value)
        elif lname == "content-length":
            lengths.append(value)
        elif lname == "transfer-encoding":
            codings.extend(_transfer_codings(value))
        elif lname == "connection":
            connection = connection + "," + value if connection else value
        elif lname == "expect":
            expect = expect + "," + value if expect else value
        elif lname == "upgrade":
            upgrade = upgrade + "," + value if upgrade else value
    return headers, hosts, lengths, codings, connection, expect, upgrade


def valid_host(value: str) -> bool:
    """RFC 9112 section 3.2: ``uri-host [ ":" port ]``, the host possibly empty."""
    return _HOST.fullmatch(value) is not None


def framing(version: str, lengths: list[str], codings: list[str], max_body_bytes: int) -> tuple[int | None, bool]:
    """Body length per RFC 9112 section 6.3: (content_length, chunked)."""
    if codings:
        if lengths:
            raise ProtocolError(400, "both Content-Length and Transfer-Encoding")
        if version == "1.0":
            raise ProtocolError(400, "Transfer-Encoding in an HTTP/1.0 request")
        if any(c not in _KNOWN_CODINGS for c in codings):
            raise ProtocolError(501, "unknown transfer coding")
        if codings[-1] != "chunked" or codings.count("chunked") > 1:
            raise ProtocolError(400, "chunked is not the final transfer coding")
        if len(codings) > 1:
            raise ProtocolError(501, "unsupported transfer coding")
        return None, True
    if not lengths:
        return 0, False
    if len(lengths) == 1 and "," not in lengths[0]:  # the usual case: one field, one value
        value = lengths[0].strip(" \t")
    else:
        values = {v.strip(" \t") for item in lengths for v in item.split(",")}
        if len(values) > 1:
            raise ProtocolError(400, "conflicting Content-Length values")
        value = values.pop()
    length = parse_digits(value, max_body_bytes + 1)
    if length is None:
        raise ProtocolError(400, "invalid Content-Length")
    if length > max_body_bytes:
        raise ProtocolError(413, "request body too large")
    return length, False


def keeps_alive(version: str, connection: str) -> bool:
    """May the connection carry another request after this one, as the client sees it (RFC 9112 section 9.3)?"""
    tokens = split_comma_list(connection.lower()) if connection else ()
    if version == "1.1":
        return "close" not in tokens
    return "keep-alive" in tokens and "close" not in tokens


def expects_continue(version: str, expect: str, has_body: bool) -> bool:
    """Does the client wait for ``100 Continue`` before sending its body? 417 for another expectation."""
    if not expect:
        return False
    if any(e != "100-continue" for e in split_comma_list(expect.lower())):
        raise ProtocolError(417, "unsupported expectation")
    # RFC 9110 section 10.1.1: ignore 100-continue from HTTP/1.0 clients.
    return version == "1.1" and has_body


def _transfer_codings(value: str) -> list[str]:
    """The codings of one Transfer-Encoding field line, lower-cased; 400 for an empty member.

    RFC 9110 section 5.6.1 lets a recipient skip empty list members, but
    parsers in front of heron disagree about them (h11 refuses ``chunked,``
    and ``, chunked``; llhttp refuses some of the forms), and a proxy that
    reads the framing differently from the server is how smuggling starts.
    So, as for ``chunked, chunked``, heron refuses rather than picks a reading.
    """
    codings = [part.strip(" \t") for part in value.lower().split(",")]
    if "" in codings:
        raise ProtocolError(400, "empty member in Transfer-Encoding")
    return codings


def canonical_framing(headers: list[tuple[str, str]], content_length: int | None) -> list[tuple[str, str]]:
    """``headers`` with the framing the parser settled on, written once and plainly.

    Identical Content-Length values (``5, 5``, two fields, ``005``) become
    one ``Content-Length: 5`` where the first stood, and Transfer-Encoding
    goes: the parser has removed the chunked coding, as RFC 9112 section
    7.1.3 says a recipient that decodes it does. What handlers and hosted
    apps read (``CONTENT_LENGTH``, the ASGI headers) then always parses as
    one number, whatever list form the client chose.
    """
    fields: list[tuple[str, str]] = []
    for name, value in headers:
        lname = name.lower()
        if lname == "content-length":
            if content_length is None:
                continue
            value, content_length = str(content_length), None
        elif lname == "transfer-encoding":
            continue
        fields.append((name, value))
    return fields


def split_target(method: str, target: str) -> tuple[str, str, str]:
    """(path, query, authority) of a request-target (RFC 9112 section 3.2)."""
    if method == "CONNECT":
        # RFC 9110 section 9.3.6: CONNECT names only a host and port.
        if _AUTHORITY_FORM.fullmatch(target) is None:
            raise ProtocolError(400, "invalid authority-form target")
        return "", "", target
    if target[0] == "/":
        path, _, query = target.partition("?")
        return path, query, ""
    if target == "*":
        if method != "OPTIONS":
            raise ProtocolError(400, "asterisk-form target outside OPTIONS")
        return "*", "", ""
    scheme, sep, rest = target.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise ProtocolError(400, "invalid request target")
    slash = len(rest)
    for delimiter in "/?":
        i = rest.find(delimiter)
        if 0 <= i < slash:
            slash = i
    authority = rest[:slash]
    if _URI_AUTHORITY.fullmatch(authority) is None:
        raise ProtocolError(400, "invalid authority in absolute-form target")
    path, _, query = rest[slash:].partition("?")
    return path or "/", query, authority


def _diagnose_request_line(line: bytes) -> str:
    """Name what is wrong with a request line (only on the error path)."""
    parts = line.split(b" ")
    if len(parts) != 3:
        return "malformed request line"
    method, target, version = parts
    if not method or re.fullmatch(rb"[%s]+" % _TCHAR, method) is None:
        return "invalid method"
    if re.fullmatch(rb"HTTP/[0-9]\.[0-9]", version) is None:
        return "malformed HTTP version"
    return "invalid request target"


def diagnose_fields(block: bytes) -> str:
    """Name which rule a header section broke (only on the error path)."""
    for line in block.split(b"\r\n"):
        if b"\r" in line or b"\n" in line:
            return "bare CR or LF in header section"
        if line[:1] in (b" ", b"\t"):
            return "obsolete line folding in header section"
        name, colon, value = line.partition(b":")
        if not colon:
            if line:
                return "header line without a colon"
            continue
        if name != name.rstrip(b" \t"):
            return "whitespace between header name and colon"
        if re.fullmatch(rb"[%s]+" % _TCHAR, name) is None:
            return "invalid header name"
        if re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", value):
            return "control character in header value"
    return "malformed header section"
