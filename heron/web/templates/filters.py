"""The built-in filters (``{{ name|upper }}``) and tests (``{% if n is odd %}``) (web layer, templates).

The names, arguments and results are Jinja2's, so a template moves
between the two engines unchanged: ``default``, ``join``, ``length``,
``truncate``, ``tojson`` and the rest. Filters that look up attributes
(``sort(attribute="name")``, ``map(attribute="user.email")``) go through
the same guarded lookup as ``a.b`` in a template.
"""

from __future__ import annotations

import json
import math
import pprint
import re
from collections.abc import Callable, Iterable, Mapping
from itertools import chain
from numbers import Number
from typing import Any, Final, NamedTuple
from urllib.parse import quote

from heron.web.templates.errors import TemplateError
from heron.web.templates.runtime import Markup, Undefined, attribute, escape

__all__ = ["FILTERS", "GLOBALS", "MAX_RANGE", "TESTS"]

MAX_RANGE: Final = 100_000
"""Most numbers ``range()`` makes in a template (Jinja2's limit too): a loop a template can run is bounded."""

_WORD: Final = re.compile(r"\w+")
_TITLE_SPLIT: Final = re.compile(r"([-\s({\[<]+)")
_TAG: Final = re.compile(r"(<!--.*?-->|<[^>]*>)", re.DOTALL)
_SPACES: Final = re.compile(r"\s+")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _getter(name: str | int | None) -> Callable[[Any], Any]:
    """``item -> item.a.b`` for ``"a.b"`` (or ``item[n]`` for an int), through the template's guarded lookup."""
    if name is None:
        return lambda value: value
    if isinstance(name, int):
        return lambda value: value[name]
    parts = name.split(".")
    if any(part.startswith("_") for part in parts):
        raise ValueError(f"attribute names starting with '_' are not allowed in templates: {name!r}")

    def get(value: Any) -> Any:
        for part in parts:
            value = value[int(part)] if part.isdigit() else attribute(value, part)
        return value

    return get


def _sort_key(case_sensitive: bool, key: Callable[[Any], Any]) -> Callable[[Any], Any]:
    if case_sensitive:
        return key
    return lambda value: (lambda k: k.lower() if isinstance(k, str) else k)(key(value))


def do_default(value: Any, default: Any = "", boolean: bool = False) -> Any:
    return default if isinstance(value, Undefined) or (boolean and not value) else value


def do_join(value: Iterable[Any], separator: str = "", attribute: str | None = None) -> str:
    items = [_getter(attribute)(v) for v in value] if attribute is not None else list(value)
    if any(hasattr(v, "__html__") for v in chain(items, [separator])):
        return Markup(escape(separator).join(escape(v) for v in items))
    return separator.join(_text(v) for v in items)


def do_truncate(value: str, length: int = 255, killwords: bool = False, end: str = "...", leeway: int = 5) -> str:
    value = _text(value)
    if len(value) <= length + leeway:
        return value
    if killwords:
        return value[:length - len(end)] + end
    return value[:length - len(end)].rsplit(" ", 1)[0] + end


def do_title(value: str) -> str:
    return "".join(item[0].upper() + item[1:].lower() for item in _TITLE_SPLIT.split(_text(value)) if item)


def do_indent(value: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    """Jinja2's ``indent``: every line but the first (``first``: that one too); empty lines only with
    ``blank``."""
    indent = width if isinstance(width, str) else " " * width
    lines = (_text(value) + "\n").splitlines()
    if blank:
        text = ("\n" + indent).join(lines)
    else:
        text = lines.pop(0)
        if lines:
            text += "\n" + "\n".join(indent + line if line else line for line in lines)
    return indent + text if first else text


def do_round(value: float, precision: int = 0, method: str = "common") -> float:
    if method == "common":
        return round(value, precision)
    if method not in ("ceil", "floor"):
        raise ValueError("method must be 'common', 'ceil' or 'floor'")
    scale: float = 10.0 ** precision
    rounded: int = (math.ceil if method == "ceil" else math.floor)(value * scale)
    return rounded / scale


def do_int(value: Any, default: int = 0, base: int = 10) -> int:
    try:
        return int(value, base) if isinstance(value, str) else int(value)
    except (TypeError, ValueError, OverflowError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return default


def do_float(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def do_sort(value: Iterable[Any], reverse: bool = False, case_sensitive: bool = False,
            attribute: str | int | None = None) -> list[Any]:
    return sorted(value, key=_sort_key(case_sensitive, _getter(attribute)), reverse=reverse)


def do_dictsort(value: Mapping[Any, Any], case_sensitive: bool = False, by: str = "key",
                reverse: bool = False) -> list[tuple[Any, Any]]:
    position = {"key": 0, "value": 1}[by]
    return sorted(value.items(), key=_sort_key(case_sensitive, lambda pair: pair[position]), reverse=reverse)


def do_unique(value: Iterable[Any], case_sensitive: bool = False, attribute: str | int | None = None) -> list[Any]:
    key, seen, out = _sort_key(case_sensitive, _getter(attribute)), set(), []
    for item in value:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


def _extreme(pick: Callable[..., Any]) -> Callable[..., Any]:
    def do(value: Iterable[Any], case_sensitive: bool = False, attribute: str | int | None = None) -> Any:
        items = list(value)
        return pick(items, key=_sort_key(case_sensitive, _getter(attribute))) if items else \
            Undefined("no items to compare")
    return do


def do_sum(value: Iterable[Any], attribute: str | int | None = None, start: Any = 0) -> Any:
    return sum((_getter(attribute)(v) for v in value), start)


def do_first(value: Iterable[Any]) -> Any:
    for item in value:
        return item
    return Undefined("no first item, sequence was empty")


def do_last(value: Any) -> Any:
    items = list(value)
    return items[-1] if items else Undefined("no last item, sequence was empty")


def do_reverse(value: Any) -> Any:
    if isinstance(value, str):
        return value[::-1]
    try:
        return reversed(value)
    except TypeError:
        return list(value)[::-1]


def do_batch(value: Iterable[Any], linecount: int, fill_with: Any = None) -> list[list[Any]]:
    items, batches = list(value), []
    for at in range(0, len(items), linecount):
        batch = items[at:at + linecount]
        if fill_with is not None and len(batch) < linecount:
            batch += [fill_with] * (linecount - len(batch))
        batches.append(batch)
    return batches


def do_tojson(value: Any, indent: int | None = None) -> Markup:
    """JSON safe to put in HTML, even in a ``<script>``: ``<``, ``>``, ``&`` and ``'`` as ``\\u`` escapes."""
    text = json.dumps(value, indent=indent, sort_keys=True)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
                  .replace("'", "\\u0027"))


def do_urlencode(value: Any) -> str:
    """A path (``/`` kept), or a query string from a dict or pairs (spaces as ``+``), as Jinja2 writes them."""
    if isinstance(value, Mapping):
        pairs: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, str) or not isinstance(value, Iterable):
        return quote(_text(value), safe="/")
    else:
        pairs = value
    return "&".join(f"{_query_part(k)}={_query_part(v)}" for k, v in pairs)


def _query_part(value: Any) -> str:
    return quote(_text(value), safe="").replace("%20", "+")


def _selecting(by_attribute: bool, keep: bool) -> Callable[..., list[Any]]:
    def do(value: Iterable[Any], *args: Any) -> list[Any]:
        get = _getter(args[0]) if by_attribute else (lambda v: v)
        rest = args[1:] if by_attribute else args
        if rest:
            test, test_args = TESTS[rest[0]], rest[1:]
            check: Callable[[Any], bool] = lambda v: bool(test(get(v), *test_args))
        else:
            check = lambda v: bool(get(v))  # noqa: E731
        return [v for v in value if check(v) == keep]
    return do


def do_map(value: Iterable[Any], *args: Any, attribute: str | int | None = None, default: Any = None) -> list[Any]:
    if attribute is not None:
        get = _getter(attribute)
        return [default if default is not None and isinstance(r, Undefined) else r for r in map(get, value)]
    name, rest = args[0], args[1:]
    return [FILTERS[name](v, *rest) for v in value]


def do_striptags(value: Any) -> str:
    return _SPACES.sub(" ", _TAG.sub("", _text(value))).strip()


def do_filesizeformat(value: Any, binary: bool = False) -> str:
    size, base = float(value), 1024 if binary else 1000
    units = [p + ("iB" if binary else "B") for p in ("K", "M", "G", "T", "P", "E", "Z", "Y")]
    if not binary:
        units[0] = "kB"
    if size == 1:
        return "1 Byte"
    if size < base:
        return f"{int(size)} Bytes"
    for i, unit in enumerate(units):
        unit_size = base ** (i + 2)
        if size < unit_size:
            break
    return f"{base * size / unit_size:.1f} {unit}"


def do_groupby(value: Iterable[Any], attribute: str | int, default: Any = None,
               case_sensitive: bool = False) -> list[tuple[Any, list[Any]]]:
    """Items grouped by ``attribute``, groups sorted by it: ``(grouper, list)`` pairs, as Jinja2's."""
    get = _getter(attribute)

    def key(item: Any) -> Any:
        found = get(item)
        return default if default is not None and isinstance(found, Undefined) else found

    ordered = sorted(value, key=_sort_key(case_sensitive, key))
    groups: list[tuple[Any, list[Any]]] = []
    for item in ordered:
        k = key(item)
        if groups and (_folded(groups[-1][0]) == _folded(k) if not case_sensitive else groups[-1][0] == k):
            groups[-1][1].append(item)
        else:
            groups.append((k, [item]))
    return [_Group(grouper, items) for grouper, items in groups]


class _Group(NamedTuple):
    """One group of ``groupby``: its ``grouper`` and its ``list`` of items."""

    grouper: Any
    list: list[Any]


def _folded(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _iterable(value: Any) -> bool:
    try:
        iter(value)
    except TypeError:
        return False
    return True


def do_slice(value: Iterable[Any], slices: int, fill_with: Any = None) -> list[list[Any]]:
    """``value`` cut into ``slices`` columns, the first ones one longer when it does not divide evenly."""
    items = list(value)
    per, extra = divmod(len(items), slices)
    out, at = [], 0
    for number in range(slices):
        size = per + (1 if number < extra else 0)
        column = items[at:at + size]
        at += size
        if fill_with is not None and number >= extra and extra:
            column.append(fill_with)
        out.append(column)
    return out


FILTERS: dict[str, Callable[..., Any]] = {
    "abs": abs, "attr": lambda value, name: attribute(value, name) if not name.startswith("_") else Undefined(name),
    "batch": do_batch, "capitalize": lambda v: _text(v).capitalize(),
    "center": lambda v, width=80: _text(v).center(width), "count": len, "default": do_default, "d": do_default,
    "dictsort": do_dictsort, "escape": escape, "e": escape, "filesizeformat": do_filesizeformat,
    "first": do_first, "groupby": do_groupby, "slice": do_slice, "float": do_float, "forceescape": lambda v: escape(str(v)),
    "format": lambda v, *args, **kwargs: _text(v) % (kwargs or args), "indent": do_indent, "int": do_int,
    "items": lambda v: list(v.items()) if not isinstance(v, Undefined) else [], "join": do_join,
    "last": do_last, "length": len, "list": list, "lower": lambda v: _text(v).lower(), "map": do_map,
    "max": _extreme(max), "min": _extreme(min), "pprint": lambda v: pprint.pformat(v), "reject": _selecting(False, False),
    "rejectattr": _selecting(True, False), "replace": lambda v, old, new, count=-1: _text(v).replace(old, new, count),
    "reverse": do_reverse, "round": do_round, "safe": lambda v: Markup(_text(v)), "select": _selecting(False, True),
    "selectattr": _selecting(True, True), "sort": do_sort, "string": _text, "striptags": do_striptags,
    "sum": do_sum, "title": do_title, "tojson": do_tojson, "trim": lambda v, chars=None: _text(v).strip(chars),
    "truncate": do_truncate, "unique": do_unique, "upper": lambda v: _text(v).upper(), "urlencode": do_urlencode,
    "wordcount": lambda v: len(_WORD.findall(_text(v))),
}

TESTS: dict[str, Callable[..., bool]] = {
    "boolean": lambda v: v is True or v is False, "callable": callable,
    "defined": lambda v: not isinstance(v, Undefined), "undefined": lambda v: isinstance(v, Undefined),
    "divisibleby": lambda v, n: v % n == 0, "even": lambda v: v % 2 == 0, "odd": lambda v: v % 2 == 1,
    "escaped": lambda v: hasattr(v, "__html__"), "false": lambda v: v is False, "true": lambda v: v is True,
    "float": lambda v: isinstance(v, float), "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, Number), "in": lambda v, seq: v in seq, "iterable": _iterable,
    "mapping": lambda v: isinstance(v, Mapping), "none": lambda v: v is None, "sameas": lambda v, o: v is o,
    "sequence": lambda v: hasattr(v, "__len__") and hasattr(v, "__getitem__"), "string": lambda v: isinstance(v, str),
    "lower": lambda v: _text(v).islower(), "upper": lambda v: _text(v).isupper(),
    "eq": lambda a, b: a == b, "==": lambda a, b: a == b, "equalto": lambda a, b: a == b,
    "ne": lambda a, b: a != b, "!=": lambda a, b: a != b, "lt": lambda a, b: a < b, "<": lambda a, b: a < b,
    "le": lambda a, b: a <= b, "<=": lambda a, b: a <= b, "gt": lambda a, b: a > b, ">": lambda a, b: a > b,
    "ge": lambda a, b: a >= b, ">=": lambda a, b: a >= b, "greaterthan": lambda a, b: a > b,
    "lessthan": lambda a, b: a < b,
}


def safe_range(*args: int) -> range:
    """``range()`` in a template, refusing ranges longer than ``MAX_RANGE``."""
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise OverflowError(f"range() in a template is limited to {MAX_RANGE} numbers")
    return numbers


class Namespace:
    """``namespace(count=0)``: an object whose attributes a ``{% set ns.count = ... %}`` may change,
    the way to carry a value out of a loop."""

    def __init__(self, **attributes: Any) -> None:
        self.__dict__.update(attributes)

    def __repr__(self) -> str:
        return f"<Namespace {self.__dict__!r}>"


def set_attribute(target: Any, name: str, value: Any) -> None:
    """``{% set ns.name = value %}``: allowed on a ``namespace()`` only, never on the app's objects."""
    if not isinstance(target, Namespace):
        raise TemplateError(f"{{% set x.{name} %}} works on a namespace() only")
    setattr(target, name, value)


GLOBALS: dict[str, Any] = {"range": safe_range, "dict": dict, "namespace": Namespace}
