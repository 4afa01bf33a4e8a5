"""What compiled templates call while they render (web layer, templates).

- ``escape`` and ``Markup``: every ``{{ value }}`` is HTML-escaped unless
  it is ``Markup`` (text already safe: a macro's output, ``|safe``) or has
  an ``__html__`` method (markupsafe's protocol, so Jinja2-era objects
  work). The five characters escaped, and their entities, are
  markupsafe's, so output matches Jinja2's byte for byte.
- ``Undefined``: what a missing name or attribute is. It prints as
  nothing, is false, iterates as empty; anything more (an attribute of
  it, calling it) raises ``UndefinedError`` naming what was missing.
- ``attribute`` and ``item``: ``a.b`` and ``a[b]`` in Jinja2's order
  (attribute first for ``.``, item first for ``[]``), refusing the few
  attributes that lead from an ordinary object to Python's internals:
  ``str.format`` and ``format_map`` (whose format strings can read any
  attribute) and the frame and code attributes of generators,
  coroutines and tracebacks. Names starting with ``_`` never get this far:
  the parser refuses them.
- ``Loop``: the ``loop`` variable of ``{% for %}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final

from heron.web.templates.errors import SecurityError, UndefinedError

__all__ = ["Loop", "Markup", "Undefined", "attribute", "concat", "escape", "item", "loop_over", "markup_join",
           "super_block", "to_text"]

_UNSAFE_ATTRIBUTES: Final = frozenset({
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "ag_frame", "ag_code", "ag_await",
    "f_globals", "f_locals", "f_builtins", "f_code", "f_back", "tb_frame", "tb_next", "co_code", "func_globals",
})
_DICT_ATTRIBUTES: Final = frozenset(name for name in dir(dict) if not name.startswith("_"))


class Markup(str):
    """Text that is already HTML: printed as it is. Joining it with plain text escapes the plain text."""

    __slots__ = ()

    def __html__(self) -> Markup:
        return self

    def __add__(self, other: object) -> Markup:
        if isinstance(other, str):
            return Markup(str.__add__(self, escape(other)))
        return NotImplemented

    def __radd__(self, other: object) -> Markup:
        if isinstance(other, str):
            return Markup(str.__add__(escape(other), self))
        return NotImplemented

    def __repr__(self) -> str:
        return f"Markup({str.__repr__(self)})"

    def join(self, items: Iterable[object]) -> Markup:
        return Markup(str.join(self, (escape(item) for item in items)))

    def replace(self, old: str, new: str, count: int = -1) -> Markup:  # type: ignore[override]
        return Markup(str.replace(self, escape(old), escape(new), count))


def _keeps_markup(name: str) -> None:
    """Make ``Markup.name`` return ``Markup``: upper-casing safe HTML leaves it safe (markupsafe does the same)."""
    method = getattr(str, name)

    def wrapper(self: Markup, *args: Any) -> Markup:
        return Markup(method(self, *args))

    wrapper.__name__ = name
    setattr(Markup, name, wrapper)


for _name in ("capitalize", "title", "lower", "upper", "swapcase", "strip", "lstrip", "rstrip", "center",
              "ljust", "rjust", "expandtabs", "zfill", "__getitem__", "__mul__", "__rmul__"):
    _keeps_markup(_name)


def _escape_text(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("'", "&#39;").replace('"', "&#34;"))


def escape(value: object) -> Markup:
    """``value`` as safe HTML: ``Markup`` and objects with ``__html__`` as they say, anything else as text."""
    if isinstance(value, Markup):
        return value
    html = getattr(value, "__html__", None)
    if html is not None:
        return Markup(html())
    return Markup(_escape_text(value if isinstance(value, str) else str(value)))


def to_text(value: object) -> str:
    """What ``{{ value }}`` prints: escaped text (the compiled code's one call per printed value)."""
    cls = type(value)
    if cls is str:
        return _escape_text(value)  # type: ignore[arg-type]
    if cls is int:
        return str(value)
    if cls is Markup:
        return str.__str__(value)
    html = getattr(value, "__html__", None)
    if html is not None:
        return str(html())
    return _escape_text(str(value))


def concat(left: object, right: object) -> str:
    """``a ~ b``: both as text; if either is ``Markup``, the other is escaped and the result is ``Markup``."""
    if hasattr(left, "__html__") or hasattr(right, "__html__"):
        return Markup(escape(left) + escape(right))
    return str(left) + str(right)


def super_block(context: dict[str, Any], blocks: dict[str, list[Any]], name: str, current: Any) -> Markup:
    """``super()`` in block ``name``: the next template's version of it, rendered."""
    chain = blocks[name]
    at = chain.index(current) + 1
    if at >= len(chain):
        raise UndefinedError(f"block {name!r} has no parent to call with super()")
    out: list[str] = []
    pieces = chain[at](context, out.append, blocks)
    if pieces is not None:  # a streaming module's block is a generator
        out.extend(pieces)
    return Markup("".join(out))


def markup_join(pieces: list[str]) -> Markup:
    """What a macro, a ``caller()`` or a ``{% set %}`` block made: already escaped, so ``Markup``."""
    return Markup("".join(pieces))


class Undefined:
    """A name or attribute with no value: prints as nothing, is false and empty; anything else raises."""

    __slots__ = ("_hint",)

    def __init__(self, hint: str) -> None:
        self._hint = hint

    def _fail(self, *args: object, **kwargs: object) -> Any:
        raise UndefinedError(self._hint)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        self._fail()

    __call__ = __getitem__ = __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _fail
    __truediv__ = __rtruediv__ = __floordiv__ = __mod__ = __pow__ = __lt__ = __le__ = __gt__ = __ge__ = _fail
    __int__ = __float__ = __neg__ = __pos__ = _fail

    def __str__(self) -> str:
        return ""

    def __html__(self) -> str:
        return ""

    def __bool__(self) -> bool:
        return False

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return type(other) is Undefined

    def __ne__(self, other: object) -> bool:
        return type(other) is not Undefined

    def __hash__(self) -> int:
        return id(type(self))

    def __repr__(self) -> str:
        return "Undefined"


def attribute(obj: Any, name: str) -> Any:
    """``obj.name`` in a template: the attribute, else the item, else ``Undefined``."""
    if type(obj) is dict:  # the commonest case, first: a dict's methods, else its keys
        if name in _DICT_ATTRIBUTES:
            return getattr(obj, name)
        try:
            return obj[name]
        except KeyError:
            return Undefined(f"'dict object' has no attribute {name!r}")
    if type(obj) is Undefined:
        obj._fail()
    try:
        value = getattr(obj, name)
    except AttributeError:
        try:
            return obj[name]
        except (TypeError, LookupError):
            return Undefined(f"{_type_name(obj)!r} object has no attribute {name!r}")
    if name in _UNSAFE_ATTRIBUTES or (name in ("format", "format_map") and isinstance(obj, str)):
        raise SecurityError(f"access to {name!r} of a {_type_name(obj)!r} object is not allowed in templates")
    return value


def item(obj: Any, key: Any) -> Any:
    """``obj[key]`` in a template: the item, else the attribute (for a name), else ``Undefined``."""
    try:
        return obj[key]
    except (TypeError, LookupError):
        if isinstance(key, str) and not key.startswith("_") and type(obj) is not Undefined:
            try:
                return attribute(obj, key)
            except UndefinedError:
                pass
        if type(obj) is Undefined:
            obj._fail()
        return Undefined(f"{_type_name(obj)!r} object has no element {key!r}")


def _type_name(obj: object) -> str:
    return type(obj).__name__


class Loop:
    """``loop`` in a ``{% for %}``: where the iteration is (1-based ``index``, 0-based ``index0``)."""

    __slots__ = ("index0", "length", "_items")

    def __init__(self, items: list[Any]) -> None:
        self._items = items
        self.length = len(items)
        self.index0 = -1

    @property
    def index(self) -> int:
        return self.index0 + 1

    @property
    def revindex(self) -> int:
        return self.length - self.index0

    @property
    def revindex0(self) -> int:
        return self.length - self.index0 - 1

    @property
    def first(self) -> bool:
        return self.index0 == 0

    @property
    def last(self) -> bool:
        return self.index0 == self.length - 1

    @property
    def previtem(self) -> Any:
        return self._items[self.index0 - 1] if self.index0 > 0 else Undefined("there is no previous item")

    @property
    def nextitem(self) -> Any:
        if self.index0 + 1 < self.length:
            return self._items[self.index0 + 1]
        return Undefined("there is no next item")

    def cycle(self, *values: Any) -> Any:
        if not values:
            raise TypeError("loop.cycle() needs at least one value")
        return values[self.index0 % len(values)]

    def __iter__(self) -> Iterator[Any]:
        for value in self._items:
            self.index0 += 1
            yield value


def loop_over(iterable: Iterable[Any]) -> tuple[Loop, Iterator[Any]]:
    """A ``Loop`` for ``iterable`` (read whole: ``length`` and ``last`` need it) and its iterator."""
    loop = Loop(list(iterable))
    return loop, iter(loop)
