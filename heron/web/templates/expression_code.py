"""Template expressions as Python source (web layer, templates).

``expression_code(node, scope)`` returns the Python expression that
computes ``node``; ``scope`` (the statement compiler) says which Python
name holds each template name, and which module globals hold the
filters and tests used. Every attribute and item access goes through the
guarded ``_attr`` and ``_item`` of ``heron.web.templates.runtime``;
everything else is plain Python, so arithmetic, comparisons and calls
cost what they cost in Python.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from typing import Any, Protocol

from heron.web.templates import nodes as n

__all__ = ["Scope", "arguments", "expression_code", "filter_code"]

_BINARY = frozenset({"+", "-", "*", "/", "//", "%", "**"})


class Scope(Protocol):
    def resolve(self, name: str) -> str:
        """The Python name that holds template name ``name`` here."""
        ...

    def filter_ref(self, name: str, pos: int) -> str:
        """The module global holding filter ``name`` (``TemplateSyntaxError`` at ``pos`` if none)."""
        ...

    def test_ref(self, name: str, pos: int) -> str: ...

    def super_call(self, pos: int) -> str:
        """The call that renders the parent's version of the block being compiled."""
        ...

    def constant(self, value: object) -> str:
        """A module global holding ``value`` (for objects ``repr`` cannot write back)."""
        ...


def expression_code(node: n.Expr, scope: Scope) -> str:
    kind = type(node)
    if kind is n.Const:
        value = node.value  # type: ignore[union-attr]
        return repr(value) if value is None or isinstance(value, (bool, int, float, str)) else scope.constant(value)
    if kind is n.Name:
        return scope.resolve(node.name)  # type: ignore[union-attr]
    if kind is n.Attribute:
        return f"_attr({expression_code(node.obj, scope)}, {node.name!r})"  # type: ignore[union-attr]
    if kind is n.Item:
        return f"_item({expression_code(node.obj, scope)}, {expression_code(node.key, scope)})"  # type: ignore
    handler: Callable[[Any, Scope], str] = _HANDLERS[kind]
    return handler(node, scope)


def _collection(node: n.Collection, scope: Scope) -> str:
    if node.kind == "dict":
        pairs = ", ".join(f"{expression_code(k, scope)}: {expression_code(v, scope)}" for k, v in node.items)
        return "{" + pairs + "}"
    items = ", ".join(expression_code(item, scope) for item in node.items)
    if node.kind == "list":
        return f"[{items}]"
    return f"({items},)" if len(node.items) == 1 else f"({items})"


def _slice(node: n.Slice, scope: Scope) -> str:
    parts = [expression_code(part, scope) if part is not None else "None" for part in (node.start, node.stop,
                                                                                         node.step)]
    return f"slice({', '.join(parts)})"


def arguments(args: list[n.Expr], kwargs: list[tuple[str, n.Expr]], scope: Scope) -> list[str]:
    """Call arguments as Python source; a keyword that is a Python keyword (``class=``) goes through ``**``."""
    out = [expression_code(arg, scope) for arg in args]
    plain = [(name, value) for name, value in kwargs if not keyword.iskeyword(name)]
    odd = [(name, value) for name, value in kwargs if keyword.iskeyword(name)]
    out += [f"{name}={expression_code(value, scope)}" for name, value in plain]
    if odd:
        out.append("**{" + ", ".join(f"{name!r}: {expression_code(value, scope)}" for name, value in odd) + "}")
    return out


def _call(node: n.Call, scope: Scope) -> str:
    if isinstance(node.func, n.Name) and node.func.name == "super" and not node.args and not node.kwargs:
        return scope.super_call(node.pos)
    return f"{expression_code(node.func, scope)}({', '.join(arguments(node.args, node.kwargs, scope))})"


def filter_code(node: n.Filter, value: str, scope: Scope) -> str:
    """Filter ``node`` applied to the Python expression ``value``."""
    args = ", ".join([value, *arguments(node.args, node.kwargs, scope)])
    return f"{scope.filter_ref(node.name, node.pos)}({args})"


def _filter(node: n.Filter, scope: Scope) -> str:
    assert node.value is not None
    return filter_code(node, expression_code(node.value, scope), scope)


def _test(node: n.Test, scope: Scope) -> str:
    args = ", ".join([expression_code(node.value, scope), *(expression_code(a, scope) for a in node.args)])
    code = f"{scope.test_ref(node.name, node.pos)}({args})"
    return f"(not {code})" if node.negated else code


def _operator(node: n.Operator, scope: Scope) -> str:
    left, right = expression_code(node.left, scope), expression_code(node.right, scope)
    if node.op == "~":
        return f"_concat({left}, {right})"
    if node.op in _BINARY or node.op in ("and", "or"):
        return f"({left} {node.op} {right})"
    raise AssertionError(node.op)


def _unary(node: n.Unary, scope: Scope) -> str:
    operand = expression_code(node.operand, scope)
    return f"(not {operand})" if node.op == "not" else f"({node.op}{operand})"


def _compare(node: n.Compare, scope: Scope) -> str:
    parts = [expression_code(node.first, scope)]
    for op, operand in node.rest:
        parts += [op, expression_code(operand, scope)]
    return f"({' '.join(parts)})"


def _conditional(node: n.Conditional, scope: Scope) -> str:
    otherwise = expression_code(node.otherwise, scope) if node.otherwise is not None else \
        "_Undefined('the condition was false and there is no else')"
    return f"({expression_code(node.then, scope)} if {expression_code(node.test, scope)} else {otherwise})"


_HANDLERS: dict[type, Callable[[Any, Scope], str]] = {
    n.Collection: _collection, n.Slice: _slice, n.Call: _call, n.Filter: _filter, n.Test: _test,
    n.Operator: _operator, n.Unary: _unary, n.Compare: _compare, n.Conditional: _conditional,
}
