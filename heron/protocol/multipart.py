"""``multipart/form-data`` bodies, decoded as they arrive (RFC 7578 on RFC 2046 section 5.1; sans-IO).

Fed a body's bytes in pieces of any size, ``MultipartDecoder`` hands out
events as the request parser does: for each part a ``PartHeaders``, its
content as ``Data`` pieces, then ``PART_END``; after the close delimiter
one ``END_OF_MESSAGE``. It knows nothing of fields, files or where
content goes: that is the framework's (issue 16 wires it to
``request.form()``). ``form_part`` reads what a part's headers say it is
(field name, file name, type), refusing what two readers could read two
ways (``parse_content_disposition``).

The decoders this replaces shipped denial-of-service fixes for the same
few mistakes (../shared/ADVISORIES.md), so each is ruled out by design:

- every search is a ``find`` that resumes where the last one stopped:
  a preamble or epilogue of junk, or a part of one long line without CR
  or LF, is scanned once, never byte by byte and never rescanned as the
  buffer grows (at most a delimiter's length is looked at again);
- part headers are bounded in bytes and in number, parts in number,
  the padding after a boundary in bytes; exceeding one is a 413, a body
  that breaks the format a 400 (``ProtocolError``);
- every call either takes bytes out of the buffer or says it needs more:
  no input can make it loop.

Line ends are CRLF, as RFC 7578 section 4.1 (through RFC 2046) requires;
a producer that writes bare LF is refused, because a delimiter after a
bare LF cannot be told from content, and guessing is how two readers
come to see different parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, NamedTuple, NoReturn
from urllib.parse import unquote_to_bytes

from heron.errors import ProtocolError
from heron.protocol.events import END_OF_MESSAGE, NEED_DATA, Data, EndOfMessage
from heron.protocol.headers import parse_media_type

__all__ = ["PART_END", "FormPart", "MultipartDecoder", "PartEnd", "PartHeaders", "boundary_of", "encode_multipart",
           "form_part", "parse_content_disposition"]

_BOUNDARY: Final = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
"""RFC 2046 section 5.1.1: 1-70 ``bchars``, the last not a space."""
_BOUNDARY_PARAM: Final = re.compile(r';[ \t]*boundary[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"?|[^;]*)', re.IGNORECASE)
"""Every ``boundary`` parameter of a Content-Type, as written (quoted or not)."""
_UNQUOTED: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""What an unquoted parameter value may hold: an RFC 9110 token."""
_USUAL_NAMES: Final = frozenset({b"Content-Disposition", b"Content-Type", b"content-disposition", b"content-type"})
"""Header names every part has, known to be tokens without running the pattern."""
_TOKEN: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PARAM_NAME: Final = re.compile(r"[!#$%&'+\-.^_`|~0-9a-z]+\*?")
"""A parameter name: a token, lower-cased, with the ``*`` of an RFC 5987 extended one."""
_SHORT: Final = 4096
"""Bytes left over that ``feed`` copies in front of a new piece as ``bytes``; more go into a bytearray."""
_MAX_PADDING: Final = 256
"""Bytes allowed between a boundary and its line end (RFC 2046 lets senders pad it with white space)."""


@dataclass(slots=True)
class PartHeaders:
    """A part's header fields, in order: names as sent, values without surrounding white space,
    decoded as UTF-8 (what browsers send, RFC 7578 section 5.1.1), or latin-1 if they are not.
    (A plain dataclass: made once per part, it costs half a NamedTuple's creation.)"""

    headers: list[tuple[str, str]]


class PartEnd:
    """Sentinel: the current part's content is complete."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "PART_END"


PART_END: Final = PartEnd()

Event = PartHeaders | Data | PartEnd | EndOfMessage

_PREAMBLE, _DELIMITER, _HEADERS, _DATA, _EPILOGUE, _DONE = range(6)


def boundary_of(content_type: str) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type; ``ProtocolError`` 400 if it has none
    or it is not one RFC 2046 allows (a boundary is the only thing telling parts from content)."""
    media_type, params = parse_media_type(content_type)
    if media_type != "multipart/form-data":
        raise ProtocolError(400, "not a multipart/form-data body")
    given = _BOUNDARY_PARAM.findall(content_type)
    if len(given) != 1 or (not given[0].startswith('"') and not _UNQUOTED.fullmatch(given[0].strip(" \t"))):
        # Twice (which one counts?), or unquoted with characters a token cannot hold (where does it end?):
        # two readers could split the body at two different boundaries.
        raise ProtocolError(400, "multipart/form-data without exactly one valid boundary")
    boundary = params.get("boundary", "")
    if not _BOUNDARY.fullmatch(boundary):
        raise ProtocolError(400, "multipart/form-data without a valid boundary")
    return boundary.encode("ascii")


class MultipartDecoder:
    """Body bytes in, part events out; ``ProtocolError`` for a body that breaks the format or a limit.

    ``max_parts`` bounds the number of parts, ``max_header_bytes`` the
    header block of each (without its blank line), ``max_headers`` its
    fields. Sizes of content are the caller's to bound: it sees every
    ``Data`` piece as it comes. After an error the decoder is dead: every
    further call raises the same error.
    """

    __slots__ = ("_delimiter", "_max_parts", "_max_header_bytes", "_max_headers", "_buf", "_pos", "_scan_from",
                 "_state", "_parts", "_error")

    def __init__(self, boundary: bytes, *, max_parts: int, max_header_bytes: int, max_headers: int) -> None:
        self._delimiter = b"\r\n--" + boundary
        self._max_parts = max_parts
        self._max_header_bytes = max_header_bytes
        self._max_headers = max_headers
        # A CRLF in front, so that a first boundary at the very start is found as every later one is.
        self._buf: bytes | bytearray = b"\r\n"
        self._pos = 0
        self._scan_from = 0  # where the search for the current delimiter or blank line resumes
        self._state = _PREAMBLE
        self._parts = 0
        self._error: ProtocolError | None = None

    def feed(self, data: bytes) -> None:
        if self._state >= _EPILOGUE:
            return  # the epilogue is ignored (RFC 2046 section 5.1.1), never held
        pos, buf = self._pos, self._buf
        self._scan_from -= pos
        self._pos = 0
        if pos == len(buf):  # all taken: the piece becomes the buffer, and content is handed out uncopied
            self._buf = data
        elif isinstance(buf, bytes) and len(buf) - pos <= _SHORT:  # a held-back tail, a boundary line
            self._buf = buf[pos:] + data
        else:  # a header block on its way: a bytearray, so that a trickle is not copied again and again
            if isinstance(buf, bytes):
                self._buf = buf = bytearray(buf[pos:])
            else:
                del buf[:pos]
            buf += data

    def end(self) -> None:
        """The body is over: a ``ProtocolError`` 400 unless the close delimiter came."""
        if self._error is not None:
            raise self._error
        if self._state < _EPILOGUE:
            self._fail(ProtocolError(400, "multipart body ended before its closing boundary"))

    def next_event(self) -> Event | object:
        """The next event, or ``NEED_DATA``."""
        if self._error is not None:
            raise self._error
        try:
            state = self._state
            if state == _DATA:
                return self._data()
            return self._next(state)
        except ProtocolError as exc:
            self._fail(exc)

    def _fail(self, exc: ProtocolError) -> NoReturn:
        """The decoder is dead from now on: drop what it holds, and raise ``exc`` now and at every call."""
        self._error = exc
        self._buf = b""
        raise exc

    def _next(self, state: int) -> Event | object:
        if state == _DELIMITER:
            return self._after_delimiter()
        if state == _HEADERS:
            return self._headers()
        if state == _PREAMBLE:
            return self._preamble()
        if state == _EPILOGUE:
            self._state = _DONE
            self._buf = b""
            return END_OF_MESSAGE
        return NEED_DATA

    def _preamble(self) -> object:
        """Skip to the first delimiter; of the skipped bytes only a delimiter's length is kept."""
        buf, delimiter, start = self._buf, self._delimiter, self._scan_from
        # Every delimiter holds a "-": junk without one (CR/LF padding, CVE-2024-53981's body) is passed
        # over at memchr speed, where the delimiter's own search would take each CR as a possible start.
        dash = buf.find(b"-", start)
        found = -1 if dash < 0 else buf.find(delimiter, max(start, dash - 2))  # its first "-" is its third byte
        if found < 0:
            self._buf = buf[max(0, len(buf) - len(delimiter) + 1):]  # what could be a delimiter's start
            self._scan_from = 0
            return NEED_DATA
        self._pos = found + len(delimiter)
        self._state = _DELIMITER
        return self._after_delimiter()

    def _after_delimiter(self) -> Event | object:
        """After a delimiter: ``--`` closes the body; else padding, a line end, and the next part."""
        buf, pos = self._buf, self._pos
        if len(buf) - pos < 2:
            return NEED_DATA
        if buf.startswith(b"--", pos):
            self._state = _EPILOGUE
            return self._next(_EPILOGUE)
        line_end = buf.find(b"\r\n", pos, pos + _MAX_PADDING + 2)
        if line_end < 0:
            if len(buf) - pos > _MAX_PADDING + 1:
                raise ProtocolError(400, "multipart boundary followed by something other than a line end")
            return NEED_DATA
        if line_end > pos and buf[pos:line_end].strip(b" \t"):
            raise ProtocolError(400, "multipart boundary followed by something other than a line end")
        self._parts += 1
        if self._parts > self._max_parts:
            raise ProtocolError(413, f"more than {self._max_parts} parts in a multipart body")
        self._pos = self._scan_from = line_end + 2
        self._state = _HEADERS
        return self._headers()

    def _headers(self) -> PartHeaders | object:
        buf, pos = self._buf, self._pos
        if buf.startswith(b"\r\n", pos):  # no header fields at all
            end = pos
        else:
            end = buf.find(b"\r\n\r\n", self._scan_from)  # never before pos in this state
            if end < 0:
                if len(buf) - pos > self._max_header_bytes + 1:  # one more: the CR of a line end on its way
                    raise ProtocolError(413, "multipart part headers too large")
                self._scan_from = max(pos, len(buf) - 3)
                return NEED_DATA
            end += 2  # the block ends with its last field's CRLF
        if end - pos > self._max_header_bytes:
            raise ProtocolError(413, "multipart part headers too large")
        headers = self._parse_headers(_take(buf, pos, end))
        self._pos = self._scan_from = end + 2
        self._state = _DATA
        return PartHeaders(headers)

    def _parse_headers(self, block: bytes) -> list[tuple[str, str]]:
        lines = block.split(b"\r\n")
        lines.pop()  # the block ends with CRLF
        if len(lines) > self._max_headers:
            raise ProtocolError(413, f"more than {self._max_headers} header fields in a multipart part")
        if block.count(b"\r") != len(lines) or block.count(b"\n") != len(lines):
            raise ProtocolError(400, "malformed multipart part header")  # a CR or LF alone, inside a field
        headers = []
        for line in lines:
            name, colon, value = line.partition(b":")
            if not colon or (name not in _USUAL_NAMES and not _TOKEN.fullmatch(name)):
                raise ProtocolError(400, "malformed multipart part header")
            headers.append((name.decode("ascii"), _text(value.strip(b" \t"))))
        return headers

    def _data(self) -> Data | PartEnd | object:
        """Content up to the next delimiter; what could be the start of one is held back."""
        buf, pos, delimiter = self._buf, self._pos, self._delimiter
        found = buf.find(delimiter, self._scan_from)  # never before pos in this state
        if found == pos:
            self._pos = pos + len(delimiter)
            self._state = _DELIMITER
            return PART_END
        if found > pos:
            self._pos = self._scan_from = found
            return Data(_take(buf, pos, found))
        # Not here (yet): everything before a CR in the last delimiter's length is content.
        tail = max(pos, len(buf) - len(delimiter) + 1)
        cr = buf.rfind(b"\r", tail)
        keep = cr if cr >= 0 else len(buf)
        self._scan_from = keep
        if keep == pos:
            return NEED_DATA
        self._pos = keep
        return Data(_take(buf, pos, keep))


class FormPart(NamedTuple):
    """What a form part says it is (RFC 7578 section 4.2): its field name, the file name if it is
    a file (as sent: the framework sanitises it for saving), and its Content-Type."""

    name: str
    filename: str | None
    content_type: str


def form_part(headers: list[tuple[str, str]]) -> FormPart:
    """Read a part's ``Content-Disposition: form-data; name=...`` and Content-Type; ``ProtocolError``
    400 if it has none, or says it ambiguously (two, or a parameter given twice)."""
    dispositions = [value for name, value in headers if name.lower() == "content-disposition"]
    if len(dispositions) != 1:
        raise ProtocolError(400, "a multipart part needs exactly one Content-Disposition")
    kind, params = parse_content_disposition(dispositions[0])
    if kind != "form-data" or "name" not in params:
        raise ProtocolError(400, "a multipart part that is not form-data with a name")
    types = [value for name, value in headers if name.lower() == "content-type"]
    if len(types) > 1:
        raise ProtocolError(400, "a multipart part with more than one Content-Type")
    default = "application/octet-stream" if "filename" in params else "text/plain"
    return FormPart(params["name"], params.get("filename"), types[0] if types else default)


def parse_content_disposition(value: str) -> tuple[str, dict[str, str]]:
    """``(type, parameters)`` of a Content-Disposition value; ``ProtocolError`` 400 where two readers
    could disagree on what it says.

    Names are lower-cased. A quoted value is read as browsers write it
    (the WHATWG form encoding): they send ``"``, CR and LF as ``%22``,
    ``%0D`` and ``%0A`` and a backslash as itself, so a backslash escapes
    only a following ``"`` or backslash and is otherwise kept (Windows
    paths stay whole); the percent-escapes are left as sent. A parameter
    given twice is refused, and so is ``name*`` or ``filename*`` (RFC
    5987, which RFC 7578 section 4.2 says senders must not use) unless it
    says the same as the plain one: a reader taking one and another
    reader the other would see two different files (parameter smuggling).
    """
    kind, _, rest = value.partition(";")
    params: dict[str, str] = {}
    at = 0
    while at < len(rest):
        eq = rest.find("=", at)
        if eq < 0:
            if rest[at:].strip(" \t;"):
                raise ProtocolError(400, "a Content-Disposition parameter without a value")
            break
        name = rest[at:eq].strip(" \t").lower()
        at = eq + 1
        while at < len(rest) and rest[at] in " \t":
            at += 1
        if at < len(rest) and rest[at] == '"':
            param, at = _quoted(rest, at + 1)
            after = rest.find(";", at)
            if rest[at:len(rest) if after < 0 else after].strip(" \t"):
                raise ProtocolError(400, "text after a quoted Content-Disposition parameter")
            at = len(rest) if after < 0 else after + 1
        else:
            end = rest.find(";", at)
            end = len(rest) if end < 0 else end
            param, at = rest[at:end].strip(" \t"), end + 1
        if not _PARAM_NAME.fullmatch(name) or name in params:
            raise ProtocolError(400, "a Content-Disposition parameter without a proper name, or given twice")
        params[name] = param
    for plain in ("name", "filename"):
        extended = params.pop(plain + "*", None)
        if extended is not None:
            decoded = _ext_value(extended)
            if params.setdefault(plain, decoded) != decoded:
                raise ProtocolError(400, f"Content-Disposition {plain}* says something else than {plain}")
    return kind.strip(" \t").lower(), params


def _quoted(text: str, at: int) -> tuple[str, int]:
    """The quoted value starting at ``text[at]`` (after its opening quote) and where it ends."""
    out: list[str] = []
    while True:
        end = text.find('"', at)
        if end < 0:
            raise ProtocolError(400, "an unterminated quoted Content-Disposition parameter")
        chunk = text[at:end]
        if chunk.endswith("\\") and (len(chunk) - len(chunk.rstrip("\\"))) % 2:  # \" : a quote inside
            out.append(chunk[:-1] + '"')
            at = end + 1
            continue
        out.append(chunk)
        return "".join(out).replace("\\\\", "\\"), end + 1


def _ext_value(value: str) -> str:
    """An RFC 5987 ext-value (``charset'language'percent-encoded``), decoded; 400 if it is not one."""
    charset, quote, rest = value.partition("'")
    _, quote2, encoded = rest.partition("'")
    if not (quote and quote2) or charset.lower() not in ("utf-8", "iso-8859-1"):
        raise ProtocolError(400, "a Content-Disposition name* or filename* that is not RFC 5987")
    try:
        return unquote_to_bytes(encoded).decode(charset)
    except UnicodeDecodeError:
        raise ProtocolError(400, "a Content-Disposition name* or filename* that is not RFC 5987") from None


def _take(buf: bytes | bytearray, start: int, end: int) -> bytes:
    """``buf[start:end]`` as bytes, copied once (a whole ``bytes`` buffer not at all)."""
    if isinstance(buf, bytes):
        return buf[start:end]
    with memoryview(buf) as view:
        return view[start:end].tobytes()


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def encode_multipart(parts: list[tuple[str, str | tuple[str, bytes, str]]], boundary: str) -> bytes:
    """A ``multipart/form-data`` body as browsers write it (RFC 7578 section 4; WHATWG's form encoding
    escapes ``"``, CR and LF in names as ``%22``, ``%0D``, ``%0A``): for clients and tests.

    Each part is ``(name, text)`` for a field or ``(name, (filename, content, content_type))`` for a
    file. The caller picks a ``boundary`` that occurs in no content.
    """
    out = bytearray()
    for name, value in parts:
        disposition = f'form-data; name="{_escape(name)}"'
        if isinstance(value, str):
            head, content = f"Content-Disposition: {disposition}\r\n", value.encode()
        else:
            filename, content, content_type = value
            head = (f'Content-Disposition: {disposition}; filename="{_escape(filename)}"\r\n'
                    f"Content-Type: {content_type}\r\n")
        out += b"--%s\r\n%s\r\n%s\r\n" % (boundary.encode("ascii"), head.encode(), content)
    out += b"--%s--\r\n" % boundary.encode("ascii")
    return bytes(out)


def _escape(name: str) -> str:
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
