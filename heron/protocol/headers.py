"""Header fields: a case-insensitive ordered multidict and list parsing (protocol layer).

Field names are case-insensitive (RFC 9110 section 5.1) but a field may
appear more than once, and order matters for some (``Set-Cookie``,
``X-Forwarded-For``), so a plain dict is the wrong shape. ``Headers`` keeps
the list of pairs as received and builds a lower-cased index only when it
is first asked for a field by name.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping


def split_comma_list(value: str) -> list[str]:
    """The members of a ``#rule`` list (RFC 9110 section 5.6.1), empty ones dropped."""
    return [item for item in (part.strip(" \t") for part in value.split(",")) if item]


def parse_digits(text: str, ceiling: int) -> int | None:
    """``text`` as ``1*DIGIT`` (RFC 9110 section 5.6.1's DIGIT: ASCII only), or None if it is not.

    A value above ``ceiling`` is returned as ``ceiling``, so the caller
    decides with one comparison what "too large" means (413, past the end
    of a file) and ``int()`` never sees more digits than ``ceiling`` has.
    Every decimal number a client writes (Content-Length, Range, a route's
    ``{x:int}``) goes through here: CPython's ``int()`` refuses strings of
    more than 4300 digits with ValueError (a 500 where a client error was
    due), and below that limit its cost grows with the square of the
    length. Leading zeros are valid and do not count.
    """
    if not text.isdigit() or not text.isascii():  # isdigit alone takes "²" and Arabic-Indic digits
        return None
    if len(text) < 19:  # the usual case, below 10**18: one quick int(), leading zeros and all
        return min(int(text), ceiling)
    digits = text.lstrip("0")
    if len(digits) > len(str(ceiling)):
        return ceiling
    return min(int(digits) if digits else 0, ceiling)


class Headers(Mapping[str, str]):
    """Ordered, case-insensitive header fields that may repeat.

    ``headers["accept"]`` gives the first value (``KeyError`` if absent);
    ``get_all("set-cookie")`` gives every value in order; iterating yields
    the distinct lower-cased names. ``raw`` is the list of ``(name, value)``
    pairs as sent, original case kept.
    """

    __slots__ = ("raw", "_index")

    def __init__(self, raw: Iterable[tuple[str, str]] = ()) -> None:
        self.raw: list[tuple[str, str]] = list(raw)
        self._index: dict[str, list[str]] | None = None

    def _lookup(self) -> dict[str, list[str]]:
        index = self._index
        if index is None:
            index = {}
            for name, value in self.raw:
                index.setdefault(name.lower(), []).append(value)
            self._index = index
        return index

    def __getitem__(self, name: str) -> str:
        return self._lookup()[name.lower()][0]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lookup()

    def __iter__(self) -> Iterator[str]:
        return iter(self._lookup())

    def __len__(self) -> int:
        return len(self._lookup())

    def has_any(self, names: Collection[str]) -> bool:
        """Is any of ``names`` (lower-case) present? One test where a handler would otherwise make several."""
        return not self._lookup().keys().isdisjoint(names)

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, in the order received (empty list if absent)."""
        return list(self._lookup().get(name.lower(), ()))

    def get_list(self, name: str) -> list[str]:
        """The members of every ``name`` field read as one comma-separated list."""
        return [item for value in self.get_all(name) for item in split_comma_list(value)]

    def add(self, name: str, value: str) -> None:
        """Append a field, keeping any existing ones of the same name."""
        self.raw.append((name, value))
        self._index = None

    def set(self, name: str, value: str) -> None:
        """Replace every field of ``name`` with one field."""
        self.remove(name)
        self.raw.append((name, value))

    def remove(self, name: str) -> None:
        """Drop every field of ``name``."""
        lname = name.lower()
        self.raw = [(n, v) for n, v in self.raw if n.lower() != lname]
        self._index = None

    def __repr__(self) -> str:
        return f"Headers({self.raw!r})"


def parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    """``(type/subtype, parameters)`` of a Content-Type value (RFC 9110 section 8.3.1).

    The media type and parameter names are lower-cased (they are
    case-insensitive); parameter values keep their case, with a
    quoted-string unquoted (RFC 9110 section 5.6.4). Parsing is tolerant:
    a parameter without ``=`` is skipped rather than failing the whole
    field, and a repeated parameter keeps its first value. A value with no
    ``/`` gives ``("", {})``: not a media type at all.
    """
    media_type, _, rest = value.partition(";")
    media_type = media_type.strip(" \t").lower()
    if "/" not in media_type:
        return "", {}
    params: dict[str, str] = {}
    while rest:
        name, eq, rest = rest.partition("=")
        name = name.strip(" \t").lower()
        if not eq:
            break
        rest = rest.lstrip(" \t")
        if rest.startswith('"'):
            param, rest = _quoted_string(rest)
            _, _, rest = rest.partition(";")
        else:
            param, _, rest = rest.partition(";")
            param = param.strip(" \t")
        if ";" in name:  # a parameter with no "=" came before this one
            name = name.rpartition(";")[2].strip(" \t")
        if name:
            params.setdefault(name, param)
    return media_type, params


def _quoted_string(text: str) -> tuple[str, str]:
    """Unquote the quoted-string at the start of ``text``; (value, what follows it)."""
    chars: list[str] = []
    i = 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            chars.append(text[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(chars), text[i + 1 :]
        chars.append(c)
        i += 1
    return "".join(chars), ""  # unterminated: take what there is
