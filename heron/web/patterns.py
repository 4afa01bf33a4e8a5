"""Route patterns: ``/user/{name}``, ``/item/{id:int}``, ``/files/{rest:path}`` (web layer).

A pattern is split on ``/`` into segments. A segment without braces is
static text; one with parameters becomes a ``ParamSegment``: literal text
and ``{name:converter}`` parts, matched against one decoded path segment
by a regular expression built from the converters (``heron.web.converters``),
or by nothing at all for a lone ``str`` parameter. Mistakes are refused
here, when a route is registered: a malformed brace, an unknown
converter, a name used twice or reserved, two parameters with no text
between them, a ``path`` parameter that is not the whole last segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Union

from heron.web.converters import Converter, StrConverter

__all__ = ["RESERVED_PARAMS", "ParamSegment", "Segment", "parse_pattern"]

RESERVED_PARAMS = frozenset({"request", "_query"})
"""Parameter names that would collide with ``handler(request, **params)`` or ``url_for(..., _query=)``."""

_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_][A-Za-z0-9_]*))?}")


@dataclass(eq=False)
class ParamSegment:
    """One path segment that holds parameters, e.g. ``{id:int}`` or ``{name}.{ext}``."""

    key: str
    """The segment with parameter names erased (``{:str}.{:str}``): two routes with equal keys match the same text."""
    parts: list[str | tuple[str, Converter]]
    """Literal text and (parameter name, converter), in order; used to build URLs."""
    regex: re.Pattern[str] | None
    """Matches the whole segment; None for a lone ``str`` parameter (any non-empty segment)."""
    order: tuple[int, int]

    @property
    def converters(self) -> list[Converter]:
        return [part[1] for part in self.parts if isinstance(part, tuple)]

    def convert(self, text: str) -> tuple[Any, ...] | None:
        """The converted values if ``text`` fits this segment, else None."""
        if self.regex is None:
            return (text,) if text else None
        m = self.regex.fullmatch(text)
        if m is None:
            return None
        try:
            return tuple(conv.to_python(m.group(f"p{i}")) for i, conv in enumerate(self.converters))
        except ValueError:
            return None


Segment = Union[str, ParamSegment]


def parse_pattern(pattern: str, converters: dict[str, Converter]) -> tuple[list[Segment], tuple[str, ...]]:
    """Split ``pattern`` into segments and its parameter names; ValueError for a malformed one."""
    if not pattern.startswith("/"):
        raise ValueError(f"route {pattern!r} must start with '/'")
    texts = pattern[1:].split("/")
    segments: list[Segment] = []
    names: list[str] = []
    for index, text in enumerate(texts):
        segment = _parse_segment(pattern, text, converters, names)
        if isinstance(segment, ParamSegment) and segment.converters[0].spans_segments and index != len(texts) - 1:
            raise ValueError(f"route {pattern!r}: a path parameter must be the last segment")
        segments.append(segment)
    return segments, tuple(names)


def _parse_segment(pattern: str, text: str, converters: dict[str, Converter], names: list[str]) -> Segment:
    if "{" not in text and "}" not in text:
        return text
    parts: list[str | tuple[str, Converter]] = []
    pos = 0
    for m in _PARAM.finditer(text):
        literal = text[pos : m.start()]
        if "{" in literal or "}" in literal:
            raise ValueError(f"route {pattern!r}: malformed parameter in {text!r}")
        if literal:
            parts.append(literal)
        elif parts:
            raise ValueError(f"route {pattern!r}: parameters in {text!r} need text between them to be told apart")
        name, kind = m.group(1), m.group(2) or "str"
        converter = converters.get(kind)
        if converter is None:
            raise ValueError(f"route {pattern!r}: unknown converter {kind!r} (known: {', '.join(sorted(converters))})")
        if name in names:
            raise ValueError(f"route {pattern!r}: parameter {name!r} used twice")
        if name in RESERVED_PARAMS:
            raise ValueError(f"route {pattern!r}: parameter name {name!r} is reserved")
        names.append(name)
        parts.append((name, converter))
        pos = m.end()
    tail = text[pos:]
    if "{" in tail or "}" in tail or not parts:
        raise ValueError(f"route {pattern!r}: malformed parameter in {text!r}")
    if tail:
        parts.append(tail)
    return _param_segment(pattern, parts, converters)


def _param_segment(pattern: str, parts: list[str | tuple[str, Converter]],
                   converters: dict[str, Converter]) -> ParamSegment:
    by_object = {id(conv): name for name, conv in converters.items()}
    key = "".join(p if isinstance(p, str) else "{:" + by_object[id(p[1])] + "}" for p in parts)
    params = [p[1] for p in parts if isinstance(p, tuple)]
    if len(parts) == 1:
        conv = params[0]
        regex = None if type(conv) is StrConverter else re.compile(f"(?P<p0>{conv.regex})")
        return ParamSegment(key, parts, regex, (1, conv.weight))
    if any(conv.spans_segments for conv in params):
        raise ValueError(f"route {pattern!r}: a path parameter must be a whole segment")
    source, i = "", 0
    for part in parts:
        if isinstance(part, str):
            source += re.escape(part)
        else:
            source += f"(?P<p{i}>{part[1].regex})"
            i += 1
    return ParamSegment(key, parts, re.compile(source), (0, 0))
