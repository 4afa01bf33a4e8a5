"""Template text to tokens (web layer, templates).

A template is text with three kinds of tags, as in Jinja2: ``{{ expr }}``
prints, ``{% statement %}`` controls, ``{# comment #}`` is dropped. A dash
inside a tag's delimiter (``{%-``, ``-%}``) strips the white space,
newlines included, on that side of the tag; ``{% raw %}...{% endraw %}``
is text taken as it is. Line ends are normalised to ``\\n`` and one final
newline is dropped, as Jinja2 does by default.

The token stream is flat: ``text`` tokens, and for each tag a
``var_begin`` or ``block_begin``, its expression tokens (``name``,
``int``, ``float``, ``string``, ``op``), then ``var_end`` or
``block_end``. Each token keeps its offset in the source, from which
errors compute a line and column.
"""

from __future__ import annotations

import bisect
import re
from typing import Any, Final, NamedTuple

from heron.web.templates.errors import TemplateSyntaxError

__all__ = ["Source", "Token", "tokenize"]

_TAG_START: Final = re.compile(r"\{([{%#])([-+]?)")
_RAW: Final = re.compile(r"\s*raw\s*([-+]?)%\}")
_ENDRAW: Final = re.compile(r"\{%([-+]?)\s*endraw\s*([-+]?)%\}")
_COMMENT_END: Final = re.compile(r"([-+]?)#\}")
_NEWLINE: Final = re.compile(r"\r\n|\r|\n")
_EXPRESSION: Final = re.compile(r"""
    (?P<space>\s+)
  | (?P<end>-?(?:\}\}|%\}))
  | (?P<float>\d+(?:_\d+)*\.\d+(?:_\d+)*(?:[eE][+-]?\d+)?|\d+(?:_\d+)*[eE][+-]?\d+)
  | (?P<int>\d+(?:_\d+)*)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op>\*\*|//|==|!=|<=|>=|[-+*/%~<>=.,:|()\[\]{}])
""", re.VERBOSE | re.DOTALL)
_CLOSERS: Final = {")": "(", "]": "[", "}": "{"}
_ENDS: Final = {"{": "}}", "%": "%}"}


class Token(NamedTuple):
    kind: str
    value: Any
    pos: int


class Source:
    """A template's normalised text and name, which turn an offset into ``(line, column)`` for errors."""

    def __init__(self, text: str, name: str) -> None:
        lines = _NEWLINE.split(text)
        if lines and lines[-1] == "":
            del lines[-1]  # the template's last newline is not output (Jinja2's keep_trailing_newline=False)
        self.text = "\n".join(lines)
        self.name = name
        self._starts = [0]
        for line in lines[:-1]:
            self._starts.append(self._starts[-1] + len(line) + 1)

    def position(self, pos: int) -> tuple[int, int]:
        """1-based line and column of offset ``pos``."""
        line = bisect.bisect_right(self._starts, pos)
        return line, pos - self._starts[line - 1] + 1

    def error(self, message: str, pos: int) -> TemplateSyntaxError:
        line, column = self.position(pos)
        return TemplateSyntaxError(message, self.name, line, column)


def tokenize(source: Source) -> list[Token]:
    """The tokens of ``source``; ``TemplateSyntaxError`` for a tag that is never closed or a stray character."""
    text, tokens, pos, strip_next = source.text, [], 0, False
    while True:
        match = _TAG_START.search(text, pos)
        end = match.start() if match else len(text)
        chunk = text[pos:end]
        if strip_next:
            chunk = chunk.lstrip()
        if match and match.group(2) == "-":
            chunk = chunk.rstrip()
        if chunk:
            tokens.append(Token("text", chunk, pos))
        if match is None:
            return tokens
        kind, after = match.group(1), match.end()
        if kind == "#":
            pos, strip_next = _comment(source, match.start(), after)
        elif kind == "%" and (raw := _RAW.match(text, after)):
            pos, strip_next = _raw(source, tokens, match.start(), raw)
        else:
            pos, strip_next = _tag(source, tokens, kind, match.start(), after)


def _comment(source: Source, start: int, after: int) -> tuple[int, bool]:
    end = _COMMENT_END.search(source.text, after)
    if end is None:
        raise source.error("a comment that is never closed with #}", start)
    return end.end(), end.group(1) == "-"


def _raw(source: Source, tokens: list[Token], start: int, raw: re.Match[str]) -> tuple[int, bool]:
    end = _ENDRAW.search(source.text, raw.end())
    if end is None:
        raise source.error("{% raw %} without {% endraw %}", start)
    chunk = source.text[raw.end():end.start()]
    if raw.group(1) == "-":
        chunk = chunk.lstrip()
    if end.group(1) == "-":
        chunk = chunk.rstrip()
    if chunk:
        tokens.append(Token("text", chunk, raw.end()))
    return end.end(), end.group(2) == "-"


def _tag(source: Source, tokens: list[Token], kind: str, start: int, pos: int) -> tuple[int, bool]:
    """The tokens of one ``{{ }}`` or ``{% %}`` tag; its end is only looked for outside brackets."""
    text, closing = source.text, _ENDS[kind]
    tokens.append(Token("var_begin" if kind == "{" else "block_begin", None, start))
    brackets: list[str] = []
    while True:
        match = _EXPRESSION.match(text, pos)
        if match is None:
            if pos >= len(text):
                raise source.error(f"a tag that is never closed with {closing}", start)
            raise source.error(f"unexpected character {text[pos]!r}", pos)
        group = match.lastgroup
        value = match.group()
        if group == "end" and not brackets:
            if not value.endswith(closing):
                raise source.error(f"{value.lstrip('-')} closes a tag opened with {{{kind}", match.start())
            tokens.append(Token("var_end" if kind == "{" else "block_end", None, match.start()))
            return match.end(), value.startswith("-")
        if group == "end":  # a "}" closing a dict, before a "}" or "%}": take one character
            match, group, value = None, "op", text[pos]
            end = pos + 1
        else:
            end = match.end()
        if group == "op":
            if value in "([{":
                brackets.append(value)
            elif value in _CLOSERS:
                if not brackets or brackets.pop() != _CLOSERS[value]:
                    raise source.error(f"unbalanced {value!r}", pos)
        if group != "space":
            tokens.append(Token(group or "op", _value(group, value, source, pos), pos))
        pos = end


def _value(group: str | None, text: str, source: Source, pos: int) -> Any:
    if group == "int":
        return int(text.replace("_", ""))
    if group == "float":
        return float(text.replace("_", ""))
    if group == "string":
        try:  # escapes as Jinja2 reads them: Python's, on the literal's characters
            return text[1:-1].encode("ascii", "backslashreplace").decode("unicode-escape")
        except UnicodeDecodeError:
            raise source.error("a string with a malformed escape", pos) from None
    return text
