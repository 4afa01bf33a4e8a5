"""The parsed template: statements and expressions as plain data (web layer, templates).

The parser builds these, the compiler walks them. Every node keeps the
offset in the source where it starts (``pos``), so that the compiler can
map the Python it writes back to the template's line and column.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any, Union

# -- expressions -------------------------------------------------------------------------


@dataclass(eq=False)
class Const:
    value: Any
    pos: int


@dataclass(eq=False)
class Name:
    name: str
    pos: int


@dataclass(eq=False)
class Collection:
    """A list ``[a, b]``, a tuple ``(a, b)`` or a dict ``{k: v}`` (``items`` are (key, value) pairs)."""

    kind: str  # "list", "tuple" or "dict"
    items: list[Any]
    pos: int


@dataclass(eq=False)
class Attribute:
    """``obj.name``: the attribute, else the item (Jinja2's order)."""

    obj: Expr
    name: str
    pos: int


@dataclass(eq=False)
class Item:
    """``obj[key]``: the item, else the attribute; ``key`` may be a ``Slice``."""

    obj: Expr
    key: Expr
    pos: int


@dataclass(eq=False)
class Slice:
    start: Expr | None
    stop: Expr | None
    step: Expr | None
    pos: int


@dataclass(eq=False)
class Call:
    func: Expr
    args: list[Expr]
    kwargs: list[tuple[str, Expr]]
    pos: int


@dataclass(eq=False)
class Filter:
    """``value|name(args)``; ``value`` is None in ``{% filter name %}``, which filters the block's output."""

    value: Expr | None
    name: str
    args: list[Expr]
    kwargs: list[tuple[str, Expr]]
    pos: int


@dataclass(eq=False)
class Test:
    """``value is name(args)``, or ``is not``."""

    value: Expr
    name: str
    args: list[Expr]
    negated: bool
    pos: int


@dataclass(eq=False)
class Operator:
    """Arithmetic, ``~`` (join as text), ``and``/``or`` and comparisons, with two operands."""

    op: str
    left: Expr
    right: Expr
    pos: int


@dataclass(eq=False)
class Unary:
    op: str  # "-", "+" or "not"
    operand: Expr
    pos: int


@dataclass(eq=False)
class Compare:
    """``a < b <= c``: chained as in Python; ops are "==", "!=", "<", "<=", ">", ">=", "in", "not in"."""

    first: Expr
    rest: list[tuple[str, Expr]]
    pos: int


@dataclass(eq=False)
class Conditional:
    """``a if test else b`` (without ``else``: undefined)."""

    test: Expr
    then: Expr
    otherwise: Expr | None
    pos: int


Expr = Union[Const, Name, Collection, Attribute, Item, Slice, Call, Filter, Test, Operator, Unary, Compare,
             Conditional]

# -- statements --------------------------------------------------------------------------


@dataclass(eq=False)
class Text:
    text: str
    pos: int


@dataclass(eq=False)
class Print:
    expr: Expr
    pos: int


@dataclass(eq=False)
class If:
    test: Expr
    body: list[Node]
    otherwise: list[Node]  # an ``elif`` is an ``If`` alone in here
    pos: int


@dataclass(eq=False)
class For:
    target: Expr  # a Name, or a tuple of Names
    iterable: Expr
    body: list[Node]
    otherwise: list[Node]
    condition: Expr | None
    pos: int


@dataclass(eq=False)
class Assign:
    """``{% set target = expr %}``, or the block form ``{% set name %}...{% endset %}`` (``expr`` None)."""

    target: Expr
    expr: Expr | None
    body: list[Node]
    pos: int


@dataclass(eq=False)
class With:
    assignments: list[tuple[Expr, Expr]]
    body: list[Node]
    pos: int


@dataclass(eq=False)
class Block:
    """``{% block name %}``; only a ``scoped`` block sees the loop and ``with`` names around it (Jinja2's rule)."""

    name: str
    body: list[Node]
    scoped: bool
    pos: int


@dataclass(eq=False)
class Extends:
    template: Expr
    pos: int


@dataclass(eq=False)
class Include:
    template: Expr
    ignore_missing: bool
    pos: int


@dataclass(eq=False)
class Import:
    """``{% import "forms.html" as forms %}`` (``names`` empty) or ``{% from "forms.html" import a, b as c %}``:
    what another template defines at its top level (macros, ``set`` names)."""

    template: Expr
    target: str
    names: list[tuple[str, str]]  # (name in the template, name here)
    pos: int


@dataclass(eq=False)
class Macro:
    name: str
    params: list[tuple[str, Expr | None]]
    body: list[Node]
    pos: int


@dataclass(eq=False)
class CallBlock:
    """``{% call(params) macro(args) %}body{% endcall %}``: the macro's ``caller()`` renders the body."""

    call: Call
    params: list[tuple[str, Expr | None]]
    body: list[Node]
    pos: int


@dataclass(eq=False)
class FilterBlock:
    filter: Filter
    body: list[Node]
    pos: int


Node = Union[Text, Print, If, For, Assign, With, Block, Extends, Include, Import, Macro, CallBlock, FilterBlock]


@dataclass(eq=False)
class TemplateTree:
    body: list[Node]
    blocks: dict[str, Block] = field(default_factory=dict)


def children(node: Any) -> Iterator[Any]:
    """The nodes directly inside ``node``, statements and expressions (in lists and pairs too)."""
    for field_ in fields(node):
        value = getattr(node, field_.name)
        for item in value if isinstance(value, list) else [value]:
            for part in item if isinstance(item, tuple) else [item]:
                if hasattr(part, "pos"):
                    yield part
