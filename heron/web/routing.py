"""Matching a request path to a handler (web layer).

Routes are patterns such as ``/user/{name}`` or ``/item/{id:int}``. Static
paths are looked up in a dict; patterns with parameters are tried in
registration order, except that a pattern with more static segments is
tried first, so ``/user/me`` beats ``/user/{name}``. Bad patterns are
refused when the route is registered, not when a request arrives.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from heron.errors import HTTPError

ANY_METHOD = "*"
"""Register a handler under this method to answer every method, even unknown ones."""

# name -> (regex for one match, conversion)
CONVERTERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "str": (r"[^/]+", str),
    "int": (r"[0-9]+", int),
    "path": (r".+", str),
}
_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_][A-Za-z0-9_]*))?}")


@dataclass
class Route:
    """One path pattern and the handler for each method it answers."""

    pattern: str
    regex: re.Pattern[str] | None
    converters: dict[str, Callable[[str], Any]]
    handlers: dict[str, Callable[..., Any]] = field(default_factory=dict)

    @property
    def static_weight(self) -> int:
        return len([s for s in self.pattern.split("/") if s and "{" not in s])


def compile_pattern(pattern: str) -> Route:
    """Parse ``pattern`` into a Route; raises ValueError for a malformed one."""
    if not pattern.startswith("/"):
        raise ValueError(f"route {pattern!r} must start with '/'")
    if "{" not in pattern:
        if "}" in pattern:
            raise ValueError(f"route {pattern!r}: malformed parameter")
        return Route(pattern, None, {})
    regex, converters, pos = "", {}, 0
    for m in _PARAM.finditer(pattern):
        name, kind = m.group(1), m.group(2) or "str"
        if kind not in CONVERTERS:
            raise ValueError(f"route {pattern!r}: unknown converter {kind!r}")
        if name in converters:
            raise ValueError(f"route {pattern!r}: parameter {name!r} used twice")
        literal = pattern[pos : m.start()]
        if "{" in literal or "}" in literal:
            raise ValueError(f"route {pattern!r}: malformed parameter")
        part, convert = CONVERTERS[kind]
        regex += re.escape(literal) + f"(?P<{name}>{part})"
        converters[name] = convert
        pos = m.end()
    tail = pattern[pos:]
    if "{" in tail or "}" in tail:
        raise ValueError(f"route {pattern!r}: malformed parameter")
    return Route(pattern, re.compile(regex + re.escape(tail)), converters)


class Router:
    """All routes of an app."""

    def __init__(self) -> None:
        self._static: dict[str, Route] = {}
        self._dynamic: list[Route] = []
        self._by_pattern: dict[str, Route] = {}

    def add(self, pattern: str, methods: list[str], handler: Callable[..., Any]) -> None:
        route = self._by_pattern.get(pattern)
        if route is None:
            route = compile_pattern(pattern)
            self._by_pattern[pattern] = route
            if route.regex is None:
                self._static[pattern] = route
            else:
                self._dynamic.append(route)
                self._dynamic.sort(key=lambda r: -r.static_weight)
        for method in methods:
            method = method.upper()
            if method in route.handlers:
                raise ValueError(
                    f"route {method} {pattern!r}: {describe_handler(handler)} conflicts with "
                    f"{describe_handler(route.handlers[method])}, registered first")
            route.handlers[method] = handler

    def methods(self) -> list[str]:
        """Every method some route answers (for ``OPTIONS *``)."""
        methods = {"OPTIONS"}
        for route in self._by_pattern.values():
            methods.update(_allowed(route))
        return sorted(methods)

    def match(self, method: str, path: str) -> tuple[Callable[..., Any], dict[str, Any]]:
        """The handler and parameters for a request; HTTPError 404 or 405 otherwise."""
        route = self._static.get(path)
        params: dict[str, Any] = {}
        if route is None:
            for candidate in self._dynamic:
                assert candidate.regex is not None
                m = candidate.regex.fullmatch(path)
                if m is not None:
                    route = candidate
                    params = {k: candidate.converters[k](v) for k, v in m.groupdict().items()}
                    break
            else:
                raise HTTPError(404)
        handler = route.handlers.get(method)
        if handler is None and method == "HEAD":
            handler = route.handlers.get("GET")
        if handler is None:
            handler = route.handlers.get(ANY_METHOD)
        if handler is None:
            raise HTTPError(405, headers=[("Allow", ", ".join(_allowed(route)))])
        return handler, params


def _allowed(route: Route) -> list[str]:
    methods = set(route.handlers) - {ANY_METHOD}
    if "GET" in methods:
        methods.add("HEAD")
    methods.add("OPTIONS")
    return sorted(methods)


def describe_handler(handler: Callable[..., Any]) -> str:
    """``module.name (file:line)``, to point at a handler in an error message."""
    name = f"{getattr(handler, '__module__', '?')}.{getattr(handler, '__qualname__', repr(handler))}"
    code = getattr(handler, "__code__", None)
    return f"{name} ({code.co_filename}:{code.co_firstlineno})" if code else name
