"""Parsing template statements into a tree (web layer, templates).

One function per tag: ``{% if %}``, ``{% for %}``, ``{% set %}``,
``{% with %}``, ``{% block %}``, ``{% extends %}``, ``{% include %}``,
``{% import %}``, ``{% from %}``, ``{% macro %}``, ``{% call %}``,
``{% filter %}``. A tag with a body reads
statements until one of the tags that may end it (``elif``, ``else``,
``endfor`` ...). Mistakes are ``TemplateSyntaxError`` with the template's
name, line and column: an unknown tag, an ``endif`` without ``if``, a
block defined twice, a tag left open at the end.
"""

from __future__ import annotations

from collections.abc import Callable

from heron.web.templates import nodes as n
from heron.web.templates.expressions import TokenStream, filter_call, parse_expression, parse_name, parse_tuple
from heron.web.templates.lexer import Source, tokenize

MAX_NESTING = 80
"""Deepest nesting of statements: the compiled Python nests as deep, and Python stops at 100."""

__all__ = ["parse"]


def parse(text: str, name: str) -> n.TemplateTree:
    """The tree of template ``text``; ``TemplateSyntaxError`` for anything that is not a template."""
    source = Source(text, name)
    parser = _Parser(TokenStream(tokenize(source), source))
    body = parser.body(())
    return n.TemplateTree(body, parser.blocks)


class _Parser:
    def __init__(self, stream: TokenStream) -> None:
        self.stream = stream
        self.depth = 0
        self.blocks: dict[str, n.Block] = {}
        self.statements: dict[str, Callable[[int], n.Node]] = {
            "if": self.if_, "for": self.for_, "set": self.set_, "with": self.with_, "block": self.block,
            "extends": self.extends, "include": self.include, "macro": self.macro, "call": self.call,
            "filter": self.filter_, "import": self.import_, "from": self.from_,
        }

    def body(self, ends: tuple[str, ...]) -> list[n.Node]:
        """Statements up to one of the tags ``ends`` (left for the caller to read), or the template's end."""
        self.depth += 1
        try:
            if self.depth > MAX_NESTING:
                raise self.stream.error(f"statements nested more than {MAX_NESTING} deep")
            return self._body(ends)
        finally:
            self.depth -= 1

    def _body(self, ends: tuple[str, ...]) -> list[n.Node]:
        stream, nodes = self.stream, list[n.Node]()
        while True:
            token = stream.current
            if token.kind == "eof":
                if ends:
                    raise stream.error(f"the template ended where {' or '.join(ends)} was expected")
                return nodes
            if token.kind == "text":
                nodes.append(n.Text(token.value, token.pos))
                stream.next()
            elif token.kind == "var_begin":
                stream.next()
                nodes.append(n.Print(parse_expression(stream), token.pos))
                stream.expect("var_end")
            else:
                stream.next()
                tag = stream.expect("name")
                if tag.value in ends:
                    stream.at -= 2  # back to the tag's start, for the caller
                    return nodes
                statement = self.statements.get(tag.value)
                if statement is None:
                    if tag.value.startswith(("end", "el")) or tag.value == "else":
                        raise stream.error(f"unexpected {{% {tag.value} %}}", tag.pos)
                    raise stream.error(f"unknown tag {tag.value!r}", tag.pos)
                nodes.append(statement(token.pos))

    def end_of(self, *names: str) -> str:
        """Read ``{% name %}`` for one of ``names``: which one came."""
        stream = self.stream
        stream.expect("block_begin")
        tag = stream.expect("name")
        if tag.value not in names:
            raise stream.error(f"expected {' or '.join(names)}, found {tag.value!r}", tag.pos)
        if tag.value in ("endblock", "endmacro") and stream.look("name"):
            stream.next()  # {% endblock name %}: the name is allowed and not checked
        if tag.value != "elif":
            stream.expect("block_end")
        ended: str = tag.value
        return ended

    def until(self, end: str) -> list[n.Node]:
        """The rest of an opening tag, then its body up to and with ``{% end %}``."""
        self.stream.expect("block_end")
        body = self.body((end,))
        self.end_of(end)
        return body

    def if_(self, pos: int) -> n.If:
        test = parse_expression(self.stream)
        self.stream.expect("block_end")
        body = self.body(("elif", "else", "endif"))
        ended = self.end_of("elif", "else", "endif")
        if ended == "elif":
            return n.If(test, body, [self.if_(self.stream.tokens[self.stream.at - 1].pos)], pos)
        otherwise = self.body(("endif",)) if ended == "else" else []
        if ended == "else":
            self.end_of("endif")
        return n.If(test, body, otherwise, pos)

    def for_(self, pos: int) -> n.For:
        stream = self.stream
        target = parse_tuple(stream, names_only=True)
        stream.expect("name", "in")
        iterable = parse_expression(stream, with_conditional=False)
        condition = parse_expression(stream) if stream.skip("name", "if") else None
        stream.expect("block_end")
        body = self.body(("else", "endfor"))
        otherwise = []
        if self.end_of("else", "endfor") == "else":
            otherwise = self.body(("endfor",))
            self.end_of("endfor")
        return n.For(target, iterable, body, otherwise, condition, pos)

    def set_(self, pos: int) -> n.Assign:
        stream = self.stream
        target = parse_tuple(stream, names_only=True)
        if isinstance(target, n.Name) and stream.look("op", "."):  # {% set ns.count = ... %}: a namespace()
            stream.next()
            target = n.Attribute(target, parse_name(stream).name, target.pos)
        if stream.skip("op", "="):
            expr = parse_tuple(stream)
            stream.expect("block_end")
            return n.Assign(target, expr, [], pos)
        if not isinstance(target, n.Name):
            raise stream.error("{% set %} with a body takes one name")
        body = self.until("endset")
        return n.Assign(target, None, body, pos)

    def with_(self, pos: int) -> n.With:
        stream = self.stream
        assignments: list[tuple[n.Expr, n.Expr]] = []
        while not stream.look("block_end"):
            if assignments:
                stream.expect("op", ",")
            target = parse_tuple(stream, names_only=True)
            stream.expect("op", "=")
            assignments.append((target, parse_expression(stream)))
        body = self.until("endwith")
        return n.With(assignments, body, pos)

    def block(self, pos: int) -> n.Block:
        stream = self.stream
        name = stream.expect("name")
        if name.value in self.blocks:
            raise stream.error(f"block {name.value!r} defined twice", name.pos)
        block = n.Block(name.value, [], stream.skip("name", "scoped"), pos)
        self.blocks[name.value] = block
        block.body = self.until("endblock")
        return block

    def extends(self, pos: int) -> n.Extends:
        node = n.Extends(parse_expression(self.stream), pos)
        self.stream.expect("block_end")
        return node

    def include(self, pos: int) -> n.Include:
        stream = self.stream
        template = parse_expression(stream)
        ignore_missing = False
        if stream.skip("name", "ignore"):
            stream.expect("name", "missing")
            ignore_missing = True
        if stream.skip("name", "with") or stream.skip("name", "without"):
            stream.expect("name", "context")  # included templates always see the context here
        stream.expect("block_end")
        return n.Include(template, ignore_missing, pos)

    def import_(self, pos: int) -> n.Import:
        template = parse_expression(self.stream)
        self.stream.expect("name", "as")
        target = parse_name(self.stream).name
        self.context_clause()
        return n.Import(template, target, [], pos)

    def from_(self, pos: int) -> n.Import:
        stream = self.stream
        template = parse_expression(stream)
        stream.expect("name", "import")
        names: list[tuple[str, str]] = []
        while True:
            name = parse_name(stream).name
            alias = parse_name(stream).name if stream.skip("name", "as") else name
            names.append((name, alias))
            if not stream.skip("op", ","):
                break
        self.context_clause()
        return n.Import(template, "", names, pos)

    def context_clause(self) -> None:
        """``with context`` / ``without context`` at the end of an import: imported templates never see
        the importer's names here (Jinja2's default), so both are read and ignored."""
        if self.stream.skip("name", "with") or self.stream.skip("name", "without"):
            self.stream.expect("name", "context")
        self.stream.expect("block_end")

    def params(self) -> list[tuple[str, n.Expr | None]]:
        """``(a, b=1)`` of a macro or a call block, after its ``(``."""
        stream, params = self.stream, list[tuple[str, n.Expr | None]]()
        while not stream.skip("op", ")"):
            name = parse_name(stream)
            default = parse_expression(stream) if stream.skip("op", "=") else None
            if default is None and params and params[-1][1] is not None:
                raise stream.error("a parameter without a default after one with a default")
            params.append((name.name, default))
            if not stream.skip("op", ","):
                stream.expect("op", ")")
                break
        return params

    def macro(self, pos: int) -> n.Macro:
        stream = self.stream
        name = parse_name(stream)
        stream.expect("op", "(")
        params = self.params()
        body = self.until("endmacro")
        return n.Macro(name.name, params, body, pos)

    def call(self, pos: int) -> n.CallBlock:
        stream = self.stream
        params = self.params() if stream.skip("op", "(") else []
        call = parse_expression(stream)
        if not isinstance(call, n.Call):
            raise stream.error("{% call %} needs a macro call, such as {% call list(items) %}", pos)
        body = self.until("endcall")
        return n.CallBlock(call, params, body, pos)

    def filter_(self, pos: int) -> n.FilterBlock:
        stream = self.stream
        filter_ = filter_call(stream, None)
        outer = filter_
        while stream.skip("op", "|"):  # {% filter a|b %}: b applied to a's result
            outer = filter_call(stream, outer)
        body = self.until("endfilter")
        return n.FilterBlock(outer, body, pos)
