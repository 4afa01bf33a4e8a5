"""Matching a request path to a handler, and building paths back from route names (web layer).

Routes are patterns such as ``/user/{name}``, ``/item/{id:int}`` or
``/files/{rest:path}``. A fully static path is found with one dict lookup.
Every other path is walked segment by segment down a trie, so the cost of
a match depends on the depth of the path, not on how many routes exist. At
each position the router tries, in this order:

1. the static segment (``/user/me`` beats ``/user/{name}``);
2. segments that mix text and parameters (``{name}.json``);
3. a lone parameter with a restrictive converter (``int``, ``float``,
   ``uuid``, your own), then a lone ``str`` parameter;
4. ``{rest:path}``, which takes the rest of the path.

When a branch leads nowhere the walk backs up and tries the next one, so
``/user/me/posts`` still reaches ``/user/{name}/posts``. The first route
found that has a handler for the method wins; if routes match the path but
none answers the method, the answer is 405 with their methods in ``Allow``.

Bad routes are refused when they are registered, not when a request
arrives, and the message names both places when two routes collide.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from heron.errors import HTTPError
from heron.web.converters import Converter, builtin_converters
from heron.web.patterns import ParamSegment, Segment, parse_pattern

T = TypeVar("T")

ANY_METHOD = "*"
"""Register a handler under this method to answer every method, even unknown ones."""

_PCHAR_SAFE = "/:@!$&'()*+,;="  # kept as-is in the static text of a route (RFC 3986 section 3.3)




@dataclass(eq=False)
class Route:
    """One path pattern (with its parameter names) and the handler for each method it answers."""

    pattern: str
    segments: list[Segment]
    names: tuple[str, ...]
    handlers: dict[str, Callable[..., Any]] = field(default_factory=dict)

    def handler_for(self, method: str) -> Callable[..., Any] | None:
        handlers = self.handlers
        handler = handlers.get(method)
        if handler is None and method == "HEAD":
            handler = handlers.get("GET")
        if handler is None:
            handler = handlers.get(ANY_METHOD)
        return handler

    def build(self, params: dict[str, Any]) -> str:
        """The percent-encoded path for ``params`` (exactly this route's parameter names)."""
        out = []
        for segment in self.segments:
            if isinstance(segment, str):
                out.append(quote(segment, safe=_PCHAR_SAFE))
                continue
            text = ""
            for part in segment.parts:
                if isinstance(part, str):
                    text += quote(part, safe=_PCHAR_SAFE)
                else:
                    name, conv = part
                    try:
                        text += conv.to_url(params[name])
                    except ValueError as exc:
                        raise ValueError(f"url_for: parameter {name!r} of {self.pattern!r}: {exc}") from None
            out.append(text)
        return "/" + "/".join(out)


class Node:
    """One position in the trie of parameterised routes."""

    __slots__ = ("static", "params", "rest", "routes")

    def __init__(self) -> None:
        self.static: dict[str, Node] = {}
        self.params: list[tuple[ParamSegment, Node]] = []  # kept sorted by ParamSegment.order
        self.rest: tuple[Converter, Node] | None = None  # a {name:path} parameter
        self.routes: list[Route] = []  # routes that end here (same shape, different names or methods)


@dataclass
class Mount:
    """A sub-app that answers every path under ``prefix``."""

    prefix: str
    app: Any
    name: str
    where: str


class Router:
    """All routes and mounts of one app, and the converters its patterns may use."""

    def __init__(self) -> None:
        self.converters: dict[str, Converter] = builtin_converters()
        self._root = Node()
        self._static: dict[str, Route] = {}  # fully static pattern -> its (only) route: the O(1) fast path
        self._routes: list[Route] = []
        self._names: dict[str, list[Route]] = {}
        self._mounts: dict[str, Mount] = {}

    # -- registration ---------------------------------------------------------

    def add_converter(self, name: str, converter: Converter) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"converter name {name!r} must be an identifier")
        if name in self.converters:
            raise ValueError(f"converter {name!r} already exists: routes may already rely on what it means")
        self.converters[name] = converter

    def add(self, pattern: str, methods: list[str], handler: Callable[..., Any], name: str | None = None) -> Route:
        """Register ``handler`` for ``pattern`` and ``methods``; raises ValueError for a bad or clashing route."""
        try:
            segments, names = parse_pattern(pattern, self.converters)
        except ValueError as exc:
            raise ValueError(f"{exc} (registered by {describe_handler(handler)})") from None
        if not methods:
            raise ValueError(f"route {pattern!r}: no methods given ({describe_handler(handler)})")
        methods = [m.upper() for m in methods]
        self._refuse_mounted(pattern, segments, handler)
        node = self._node_for(segments)
        route = next((r for r in node.routes if r.names == names), None)
        if route is None:
            for other in node.routes:
                clash = _overlap(methods, list(other.handlers))
                if clash:
                    raise ValueError(
                        f"route {pattern!r} ({describe_handler(handler)}) matches the same paths as "
                        f"{other.pattern!r} ({describe_handler(next(iter(other.handlers.values())))}) for "
                        f"{', '.join(sorted(clash))}, with different parameter names: "
                        "which one answers would be a guess")
            route = Route(pattern, segments, names)
        for method in methods:
            if method in route.handlers:
                raise ValueError(
                    f"route {method} {pattern!r}: {describe_handler(handler)} conflicts with "
                    f"{describe_handler(route.handlers[method])}, registered first")
        self._add_name(name if name is not None else getattr(handler, "__name__", repr(handler)), route, handler)
        if route not in node.routes:  # every check passed: only now does the router change
            node.routes.append(route)
            self._routes.append(route)
            if not names:  # a static pattern has exactly one Route
                self._static[pattern] = route
        for method in methods:
            route.handlers[method] = handler
        return route

    def _node_for(self, segments: list[Segment]) -> Node:
        node = self._root
        for segment in segments:
            if isinstance(segment, str):
                node = node.static.setdefault(segment, Node())
            elif segment.converters[0].spans_segments:
                if node.rest is None:
                    node.rest = (segment.converters[0], Node())
                node = node.rest[1]
            else:
                child = next((n for s, n in node.params if s.key == segment.key), None)
                if child is None:
                    child = Node()
                    node.params.append((segment, child))
                    node.params.sort(key=lambda pair: pair[0].order)  # stable: registration order breaks ties
                node = child
        return node

    def _add_name(self, name: str, route: Route, handler: Callable[..., Any]) -> None:
        routes = self._names.setdefault(name, [])
        if route in routes:
            return
        for other in routes:
            if handler not in other.handlers.values():
                raise ValueError(
                    f"route name {name!r}: {describe_handler(handler)} for {route.pattern!r} clashes with "
                    f"{describe_handler(next(iter(other.handlers.values())))} for {other.pattern!r}; "
                    "pass name=... to tell them apart")
        routes.append(route)

    def add_mount(self, prefix: str, app: Any, name: str, where: str) -> Mount:
        """Send every path under ``prefix`` to ``app``; ValueError if routes or mounts already claim it."""
        if not prefix.startswith("/") or prefix == "/" or prefix.endswith("/") or "//" in prefix:
            raise ValueError(f"mount prefix {prefix!r} ({where}) must look like '/api': "
                             "a leading '/', no trailing '/'")
        if "{" in prefix or "}" in prefix:
            raise ValueError(f"mount prefix {prefix!r} ({where}) cannot hold parameters")
        if prefix in self._mounts:
            raise ValueError(f"mount {prefix!r} ({where}) conflicts with the mount at {self._mounts[prefix].where}")
        taken = next((m for m in self._mounts.values() if m.name == name), None)
        if taken is not None or not name:
            raise ValueError(f"mount name {name!r} ({where}) is empty or taken by the mount at "
                             f"{taken.where if taken else '-'}; pass name=...")
        mount = Mount(prefix, app, name, where)
        for route in self._routes:
            self._refuse_mounted(route.pattern, route.segments, next(iter(route.handlers.values())), [mount])
        self._mounts[prefix] = mount
        return mount

    def _refuse_mounted(self, pattern: str, segments: list[Segment], handler: Callable[..., Any],
                        mounts: list[Mount] | None = None) -> None:
        """A route under a mount's prefix could never be reached: the mount owns that part of the URL space."""
        static: list[str] = []
        for segment in segments:
            if not isinstance(segment, str):
                break
            static.append(segment)
        for mount in mounts if mounts is not None else self._mounts.values():
            mount_segments = mount.prefix[1:].split("/")
            if static[: len(mount_segments)] == mount_segments:
                raise ValueError(f"route {pattern!r} ({describe_handler(handler)}) lies under the mount "
                                 f"{mount.prefix!r} ({mount.where}), which answers every path there")

    # -- matching -------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[Callable[..., Any], dict[str, Any]]:
        """The handler and parameters for a request; HTTPError 404 or 405 otherwise."""
        route = self._static.get(path)
        if route is not None:
            handler = route.handlers.get(method) or route.handler_for(method)
            if handler is not None:
                return handler, {}
        allowed: set[str] = set()

        def answer(node: Node, values: tuple[Any, ...]) -> tuple[Callable[..., Any], dict[str, Any]] | None:
            for route in node.routes:
                handler = route.handler_for(method)
                if handler is not None:
                    return handler, dict(zip(route.names, values))
                allowed.update(route.handlers)
            return None

        matched = _visit(self._root, path.split("/"), 1, (), answer)  # [0] is the "" before the first "/"
        if matched is not None:
            return matched
        if not allowed:
            raise HTTPError(404)
        raise HTTPError(405, headers=[("Allow", ", ".join(_allow_list(allowed)))])

    def answers(self, method: str, path: str) -> bool:
        """Whether some route would answer ``method`` on ``path`` (no 404, no 405)."""
        try:
            self.match(method, path)
        except HTTPError:
            return False
        return True

    def find_mount(self, path: str) -> tuple[Mount, str] | None:
        """The mount whose prefix ``path`` lies under (the longest), and the rest of the path."""
        if not self._mounts:
            return None
        end = len(path)
        while end > 0:
            mount = self._mounts.get(path[:end])
            if mount is not None:
                return mount, path[end:]
            end = path.rfind("/", 0, end)
        return None

    def methods(self) -> list[str]:
        """Every method some route answers (for ``OPTIONS *``)."""
        methods: set[str] = set()
        for route in self._routes:
            methods.update(route.handlers)
        return _allow_list(methods)

    @property
    def mounts(self) -> list[Mount]:
        return list(self._mounts.values())

    # -- building paths -------------------------------------------------------

    def url_for(self, name: str, params: dict[str, Any], query: Any = None) -> str:
        """The path of route ``name`` filled with ``params``; LookupError/ValueError when that is impossible.

        A name used for several patterns (one function decorated twice) picks
        the first whose parameter names are exactly the ones given. Names of
        a mounted app's routes are ``<mount name>.<route name>``.
        """
        routes = self._names.get(name)
        if routes is None:
            mounts = sorted((m for m in self._mounts.values() if name.startswith(m.name + ".")),
                            key=lambda m: -len(m.name))  # "api.v2.x": the mount "api.v2" before "api"
            if not mounts:
                raise LookupError(f"url_for: no route named {name!r}")
            mount = mounts[0]
            path: str = mount.prefix + mount.app.router.url_for(name[len(mount.name) + 1:], params)
        else:
            route = next((r for r in routes if set(r.names) == set(params)), None)
            if route is None:
                expected = " or ".join(repr(sorted(r.names)) for r in routes)
                raise ValueError(f"url_for({name!r}): parameters {sorted(params)!r} given, {expected} expected "
                                 "(query parameters go in _query={...})")
            path = route.build(params)
        if query:
            path += "?" + urlencode(query, doseq=True)
        return path


def _visit(node: Node, segments: list[str], i: int, values: tuple[Any, ...],
           answer: Callable[[Node, tuple[Any, ...]], T | None]) -> T | None:
    """Offer ``answer`` every node whose routes match ``segments[i:]``, best first, until it returns a result.

    Depth-first with backtracking: a static segment before parameters, a
    ``path`` parameter last. Plain recursion rather than a generator: this
    runs on every request that no static route answers, and a generator
    per level costs more than the matching itself.
    """
    if i == len(segments):
        return answer(node, values) if node.routes else None
    text = segments[i]
    child = node.static.get(text)
    if child is not None:
        result = _visit(child, segments, i + 1, values, answer)
        if result is not None:
            return result
    for segment, child in node.params:
        converted = segment.convert(text)
        if converted is not None:
            result = _visit(child, segments, i + 1, values + converted, answer)
            if result is not None:
                return result
    if node.rest is not None:
        converter, child = node.rest
        rest = "/".join(segments[i:])
        if rest and child.routes:
            try:
                converted_rest = converter.to_python(rest)
            except ValueError:
                return None
            return answer(child, values + (converted_rest,))
    return None


def _overlap(first: list[str], second: list[str]) -> set[str]:
    """The methods both lists answer (GET answers HEAD too; ``*`` answers everything)."""
    a, b = set(first), set(second)
    for methods in (a, b):
        if "GET" in methods:
            methods.add("HEAD")
    if ANY_METHOD in a:
        return b
    if ANY_METHOD in b:
        return a
    return a & b


def _allow_list(methods: set[str]) -> list[str]:
    allowed = set(methods) - {ANY_METHOD}
    if "GET" in allowed:
        allowed.add("HEAD")
    allowed.add("OPTIONS")
    return sorted(allowed)


def describe_handler(handler: Callable[..., Any]) -> str:
    """``module.name (file:line)``, to point at a handler in an error message."""
    name = f"{getattr(handler, '__module__', '?')}.{getattr(handler, '__qualname__', repr(handler))}"
    code = getattr(handler, "__code__", None)
    return f"{name} ({code.co_filename}:{code.co_firstlineno})" if code else name


def caller_location(depth: int = 2) -> str:
    """``file:line`` of the code ``depth`` frames up, to say where a mount was registered."""
    frame = sys._getframe(depth)
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def slash_redirect_location(raw_path: str, query: str) -> str | None:
    """Where to send a client whose path matched only with its trailing slash toggled.

    Built from the path as sent, never from the Host header, and refused
    (None) when it would start with ``//`` or ``/\\``, which browsers read
    as another host: ``GET //evil.com/`` must not redirect to ``//evil.com``.
    """
    if not raw_path.startswith("/"):
        return None
    location = raw_path[:-1] if raw_path.endswith("/") else raw_path + "/"
    if not location.startswith("/") or location.startswith(("//", "/\\")):
        return None
    return location + ("?" + query if query else "")


def slash_alternative(path: str) -> str | None:
    """``path`` with its trailing slash removed, or added (None for ``/`` itself)."""
    if path.endswith("/"):
        return path[:-1] if len(path) > 1 else None
    return path + "/"
