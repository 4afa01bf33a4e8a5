"""Query strings and urlencoded form bodies, and the multi-valued mapping that holds them (messages layer).

``?tag=a&tag=b`` and a ``application/x-www-form-urlencoded`` body are the
same format (WHATWG URL standard, section 5.1), and a name may repeat, so
a plain dict would lose values. ``MultiDict`` keeps every pair in order and
answers ``get(name)`` with the first value, which is what a handler wants
nine times out of ten; ``get_all(name)`` gives the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TypeVar
from urllib.parse import unquote_to_bytes

V = TypeVar("V")


class FormTooLarge(ValueError):
    """An urlencoded string holds more fields, or a bigger field, than the caller allows."""


class MultiDict(Mapping[str, V]):
    """An ordered, case-sensitive mapping in which a name may have several values.

    As a ``Mapping`` it shows each distinct name once with its first value,
    so ``dict(multidict)``, ``multidict.get("page", "1")`` and
    ``multidict.items()`` behave as they would on a dict. Every value, in
    the order received, comes from ``get_all(name)`` (alias ``getlist``)
    and every pair from ``multi_items()``. Immutable: it describes what
    the client sent. Query strings and urlencoded forms hold ``str``
    values; a multipart form (``heron.messages.forms.FormData``) holds
    ``str`` and ``UploadFile`` ones.
    """

    __slots__ = ("_pairs", "_index")

    def __init__(self, pairs: Iterable[tuple[str, V]] = ()) -> None:
        self._pairs: list[tuple[str, V]] = list(pairs)
        index: dict[str, list[V]] = {}
        for name, value in self._pairs:
            index.setdefault(name, []).append(value)
        self._index = index

    def __getitem__(self, name: str) -> V:
        return self._index[name][0]

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def get_all(self, name: str) -> list[V]:
        """Every value of ``name`` in the order received (empty list if absent)."""
        return list(self._index.get(name, ()))

    getlist = get_all

    def multi_items(self) -> list[tuple[str, V]]:
        """Every ``(name, value)`` pair, repeats included, in the order received."""
        return list(self._pairs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._pairs!r})"


def parse_urlencoded(data: str | bytes, max_fields: int | None = None,
                     max_field_bytes: int | None = None) -> MultiDict[str]:
    """Parse ``application/x-www-form-urlencoded`` data (WHATWG URL section 5.1).

    Fields are split on ``&`` (not ``;``), empty ones skipped; a field
    without ``=`` is a name with an empty value. ``+`` means a space and
    percent-escapes are decoded to bytes, which are then read as UTF-8 with
    invalid sequences replaced by U+FFFD, as browsers do: a malformed
    escape never fails the request. ``FormTooLarge`` when there are more
    than ``max_fields`` fields (counted before empty fields are skipped, so
    ``&&&&`` cannot get round it) or a field's name and value decode to
    more than ``max_field_bytes`` (the limits a multipart form has too).
    """
    raw = data.encode("latin-1") if isinstance(data, str) else data
    if not raw:
        return MultiDict()
    fields = raw.split(b"&")
    if max_fields is not None and len(fields) > max_fields:
        raise FormTooLarge(f"too many form fields (the limit is {max_fields})")
    pairs: list[tuple[str, str]] = []
    for field in fields:
        if not field:
            continue
        name, _, value = field.partition(b"=")
        name, value = _unescape(name), _unescape(value)
        if max_field_bytes is not None and len(name) + len(value) > max_field_bytes:
            raise FormTooLarge(f"a form field is larger than {max_field_bytes} bytes")
        pairs.append((name.decode("utf-8", "replace"), value.decode("utf-8", "replace")))
    return MultiDict(pairs)


def _unescape(component: bytes) -> bytes:
    if b"+" in component:
        component = component.replace(b"+", b" ")
    if b"%" in component:
        component = unquote_to_bytes(component)
    return component
