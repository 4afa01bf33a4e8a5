"""Where template names live, and which names a piece of template sets (web layer, templates).

A ``Frame`` is one scope of the compiled code: the top of a function
(its free names are loaded from the context when the function starts) or
a nested scope (a loop body, a ``with``, a macro), whose names get Python
names of their own. The functions below walk a parsed body without
recursion into nested scopes, to find what a scope must set up first.
"""

from __future__ import annotations

from typing import Any

from heron.web.templates import nodes as n

__all__ = ["Frame", "assigned_names", "target_names", "uses_loop"]


class Frame:
    """Where template names live: a function's top (names loaded from the context) or a nested scope."""

    def __init__(self, parent: Frame | None, top: bool) -> None:
        self.parent = parent
        self.top = top  # the top frame of a module-level function: free names are loaded into it
        self.names: dict[str, str] = {}
        self.free: set[str] = set()  # names a top frame loads from the context when its function starts
        self.assigned: set[str] = set()  # names a top frame sets itself


def assigned_names(body: list[n.Node]) -> set[str]:
    """Names a body assigns in its own frame (not inside nested loops, withs or macros)."""
    names: set[str] = set()
    stack: list[Any] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, n.Assign):
            names.update(target_names(node.target))
            stack.extend(node.body)
        elif isinstance(node, n.Macro):
            names.add(node.name)
        elif isinstance(node, n.Import):
            names.update([node.target] if not node.names else [alias for _, alias in node.names])
        elif isinstance(node, n.If):
            stack.extend(node.body + node.otherwise)
        elif isinstance(node, n.FilterBlock):
            stack.extend(node.body)
    return names


def target_names(target: n.Expr) -> list[str]:
    if isinstance(target, n.Name):
        return [target.name]
    if isinstance(target, n.Attribute):
        return []
    assert isinstance(target, n.Collection)
    return [name for item in target.items for name in target_names(item)]


def uses_loop(body: list[n.Node]) -> bool:
    """Whether ``loop`` is read in ``body`` (a nested ``for`` has its own, except in its header and else)."""
    stack: list[Any] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, n.Name) and node.name == "loop":
            return True
        if isinstance(node, n.For):
            stack += [node.iterable, *node.otherwise] + ([node.condition] if node.condition else [])
        else:
            stack.extend(n.children(node))
    return False
