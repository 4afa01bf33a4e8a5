"""Parsing template expressions, by precedence (web layer, templates).

Jinja2's grammar, loosest binding first: ``a if b else c``; ``or``;
``and``; ``not``; comparisons (``==`` ... ``in``, ``not in``, chained);
``+ -``; ``~``; ``* / // %``; ``**``; unary ``-`` and ``+``; then a
primary (a literal, a name, a bracketed expression) with its postfixes
(``.name``, ``[key]``, ``(args)``), filters (``|name(args)``) and tests
(``is name``, ``is not name arg``).

Names and attributes starting with ``_`` are refused here, when the
template is compiled: ``__class__``, ``__globals__`` and the rest of the
way to Python's internals (the class of Jinja2's sandbox escapes) can
never be spelled in a template.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from heron.web.templates import nodes as n
from heron.web.templates.lexer import Source, Token

__all__ = ["TokenStream", "call_arguments", "filter_call", "parse_expression", "parse_name", "parse_tuple"]

MAX_DEPTH: Final = 30
"""Deepest nesting of brackets, calls and subscripts in one expression, as the parser recurses."""
MAX_TREE_DEPTH: Final = 80
"""Deepest expression tree, chains included (``a.b.c``, ``x|f|g``, ``1 + 1 + 1``): the compiled code nests
as deep, and Python's own parser stops at 200 levels of brackets."""
_CONSTANTS: Final = {"true": True, "True": True, "false": False, "False": False, "none": None, "None": None}
_COMPARE: Final = frozenset({"==", "!=", "<", "<=", ">", ">="})
_RESERVED: Final = frozenset({"and", "or", "not", "in", "is", "if", "else"})


class TokenStream:
    """The tokens of one template, read one at a time."""

    def __init__(self, tokens: list[Token], source: Source) -> None:
        self.tokens = tokens
        self.source = source
        self.at = 0
        self.depth = 0  # expressions being parsed inside one another

    @property
    def current(self) -> Token:
        return self.tokens[self.at] if self.at < len(self.tokens) else Token("eof", None, len(self.source.text))

    def next(self) -> Token:
        token = self.current
        self.at += 1
        return token

    def look(self, kind: str, value: object = None) -> bool:
        token = self.current
        return token.kind == kind and (value is None or token.value == value)

    def skip(self, kind: str, value: object = None) -> bool:
        if self.look(kind, value):
            self.at += 1
            return True
        return False

    def expect(self, kind: str, value: object = None) -> Token:
        if not self.look(kind, value):
            raise self.error(f"expected {value or kind.replace('_', ' ')}, found {self.describe()}")
        return self.next()

    def describe(self) -> str:
        token = self.current
        if token.kind in ("block_end", "var_end"):
            return "the end of the tag"
        return "the end of the template" if token.kind == "eof" else repr(token.value)

    def error(self, message: str, pos: int | None = None) -> Exception:
        return self.source.error(message, self.current.pos if pos is None else pos)


def parse_expression(stream: TokenStream, with_conditional: bool = True) -> n.Expr:
    pos = stream.current.pos
    expr = _nested(stream, lambda inner: _expression(inner, with_conditional))
    if stream.depth == 0 and _tree_depth(expr) > MAX_TREE_DEPTH:
        raise stream.error(f"an expression nested more than {MAX_TREE_DEPTH} deep", pos)
    return expr


def _tree_depth(expr: n.Expr) -> int:
    """How deep ``expr`` nests, counted without recursion (the tree may be deeper than Python's stack)."""
    deepest, stack = 0, [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in n.children(node))
    return deepest


def _expression(stream: TokenStream, with_conditional: bool) -> n.Expr:
    expr = _or(stream)
    if with_conditional and stream.look("name", "if"):
        pos = stream.next().pos
        test = _or(stream)
        otherwise = parse_expression(stream) if stream.skip("name", "else") else None
        return n.Conditional(test, expr, otherwise, pos)
    return expr


def parse_tuple(stream: TokenStream, *, names_only: bool = False) -> n.Expr:
    """One expression, or several separated by commas as a tuple (``for k, v in``, ``set a, b =``)."""
    pos = stream.current.pos
    parse = parse_name if names_only else parse_expression
    items = [parse(stream)]
    tuple_ = False
    while stream.skip("op", ","):
        tuple_ = True
        if stream.look("block_end") or stream.look("op", "=") or stream.look("name", "in"):
            break
        items.append(parse(stream))
    return n.Collection("tuple", items, pos) if tuple_ else items[0]


def parse_name(stream: TokenStream) -> n.Name:
    """One name (a parameter, an assignment target): never one starting with ``_``."""
    token = stream.expect("name")
    return n.Name(_checked(stream, token), token.pos)


def _checked(stream: TokenStream, token: Token) -> str:
    name: str = token.value
    if name.startswith("_"):
        raise stream.error(f"names starting with '_' are not allowed in templates: {name!r}", token.pos)
    return name


def _or(stream: TokenStream) -> n.Expr:
    return _keyword_chain(stream, "or", _and)


def _and(stream: TokenStream) -> n.Expr:
    return _keyword_chain(stream, "and", _not)


def _keyword_chain(stream: TokenStream, word: str, operand: Callable[[TokenStream], n.Expr]) -> n.Expr:
    """``a or b or c`` (or ``and``): left to right, each operand parsed by ``operand``."""
    left = operand(stream)
    while stream.look("name", word):
        pos = stream.next().pos
        left = n.Operator(word, left, operand(stream), pos)
    return left


def _not(stream: TokenStream) -> n.Expr:
    if stream.look("name", "not"):
        pos = stream.next().pos
        return n.Unary("not", _nested(stream, _not), pos)
    return _compare(stream)


def _nested(stream: TokenStream, parse: Callable[[TokenStream], n.Expr]) -> n.Expr:
    """``parse`` one level deeper (``not not x``, ``- - x``), counted against ``MAX_DEPTH``."""
    stream.depth += 1
    try:
        if stream.depth > MAX_DEPTH:
            raise stream.error(f"an expression nested more than {MAX_DEPTH} deep")
        return parse(stream)
    finally:
        stream.depth -= 1


def _compare(stream: TokenStream) -> n.Expr:
    pos = stream.current.pos
    first = _sum(stream)
    rest: list[tuple[str, n.Expr]] = []
    while True:
        token = stream.current
        if token.kind == "op" and token.value in _COMPARE:
            stream.next()
            rest.append((token.value, _sum(stream)))
        elif stream.look("name", "in"):
            stream.next()
            rest.append(("in", _sum(stream)))
        elif stream.look("name", "not") and stream.at + 1 < len(stream.tokens) \
                and stream.tokens[stream.at + 1][:2] == ("name", "in"):
            stream.at += 2
            rest.append(("not in", _sum(stream)))
        else:
            return n.Compare(first, rest, pos) if rest else first


def _binary(stream: TokenStream, ops: tuple[str, ...], operand: Callable[[TokenStream], n.Expr]) -> n.Expr:
    left = operand(stream)
    while stream.current.kind == "op" and stream.current.value in ops:
        token = stream.next()
        left = n.Operator(token.value, left, operand(stream), token.pos)
    return left


def _sum(stream: TokenStream) -> n.Expr:
    return _binary(stream, ("+", "-"), _concat)


def _concat(stream: TokenStream) -> n.Expr:
    return _binary(stream, ("~",), _product)


def _product(stream: TokenStream) -> n.Expr:
    return _binary(stream, ("*", "/", "//", "%"), _power)


def _power(stream: TokenStream) -> n.Expr:
    return _binary(stream, ("**",), _unary)


def _unary(stream: TokenStream, with_filters: bool = True) -> n.Expr:
    token = stream.current
    if token.kind == "op" and token.value in ("-", "+"):
        stream.next()
        node: n.Expr = n.Unary(token.value, _nested(stream, lambda inner: _unary(inner, False)), token.pos)
    else:
        node = _postfix(stream, _primary(stream))
    return _filters(stream, node) if with_filters else node


def _primary(stream: TokenStream) -> n.Expr:
    token = stream.next()
    if token.kind == "name":
        if token.value in _CONSTANTS:
            return n.Const(_CONSTANTS[token.value], token.pos)
        if token.value in _RESERVED:
            raise stream.error(f"unexpected {token.value!r}", token.pos)
        return n.Name(_checked(stream, token), token.pos)
    if token.kind in ("int", "float"):
        return n.Const(token.value, token.pos)
    if token.kind == "string":
        text = token.value
        while stream.look("string"):  # "a" "b": adjacent literals join, as in Python
            text += stream.next().value
        return n.Const(text, token.pos)
    if token.kind == "op" and token.value == "(":
        return _bracketed(stream, token.pos)
    if token.kind == "op" and token.value == "[":
        items = _items(stream, "]")
        return n.Collection("list", items, token.pos)
    if token.kind == "op" and token.value == "{":
        return n.Collection("dict", _pairs(stream), token.pos)
    stream.at -= 1
    raise stream.error(f"expected an expression, found {stream.describe()}")


def _bracketed(stream: TokenStream, pos: int) -> n.Expr:
    if stream.skip("op", ")"):
        return n.Collection("tuple", [], pos)
    first = parse_expression(stream)
    if stream.skip("op", ")"):
        return first
    stream.expect("op", ",")
    return n.Collection("tuple", [first, *_items(stream, ")")], pos)


def _items(stream: TokenStream, closer: str) -> list[n.Expr]:
    items: list[n.Expr] = []
    while not stream.skip("op", closer):
        items.append(parse_expression(stream))
        if not stream.skip("op", ","):
            stream.expect("op", closer)
            break
    return items


def _pairs(stream: TokenStream) -> list[tuple[n.Expr, n.Expr]]:
    pairs: list[tuple[n.Expr, n.Expr]] = []
    while not stream.skip("op", "}"):
        key = parse_expression(stream)
        stream.expect("op", ":")
        pairs.append((key, parse_expression(stream)))
        if not stream.skip("op", ","):
            stream.expect("op", "}")
            break
    return pairs


def _postfix(stream: TokenStream, node: n.Expr) -> n.Expr:
    while stream.current.kind == "op":
        token = stream.current
        if token.value == ".":
            stream.next()
            name = stream.current
            if name.kind == "int":  # foo.0 is foo[0], as in Jinja2
                stream.next()
                node = n.Item(node, n.Const(name.value, name.pos), token.pos)
                continue
            node = n.Attribute(node, _checked(stream, stream.expect("name")), token.pos)
        elif token.value == "[":
            stream.next()
            node = n.Item(node, _subscript(stream), token.pos)
            stream.expect("op", "]")
        elif token.value == "(":
            stream.next()
            args, kwargs = call_arguments(stream)
            node = n.Call(node, args, kwargs, token.pos)
        else:
            return node
    return node


def _subscript(stream: TokenStream) -> n.Expr:
    pos = stream.current.pos
    parts: list[n.Expr | None] = []
    for closer in (":", ":", "]"):
        if stream.look("op", ":") or stream.look("op", "]"):
            parts.append(None)
        else:
            parts.append(parse_expression(stream))
        if closer == "]" or not stream.skip("op", ":"):
            break
    if len(parts) == 1:
        key = parts[0]
        if key is None:
            raise stream.error("an empty subscript")
        if isinstance(key, n.Const) and isinstance(key.value, str) and key.value.startswith("_"):
            raise stream.error(f"keys starting with '_' are not allowed in templates: {key.value!r}", pos)
        return key
    parts += [None] * (3 - len(parts))
    return n.Slice(parts[0], parts[1], parts[2], pos)


def call_arguments(stream: TokenStream) -> tuple[list[n.Expr], list[tuple[str, n.Expr]]]:
    """``(a, b, key=c)`` after its ``(``, up to and with its ``)``."""
    args: list[n.Expr] = []
    kwargs: list[tuple[str, n.Expr]] = []
    while not stream.skip("op", ")"):
        if stream.look("name") and stream.at + 1 < len(stream.tokens) \
                and stream.tokens[stream.at + 1][:2] == ("op", "="):
            name = _checked(stream, stream.next())
            stream.next()
            kwargs.append((name, parse_expression(stream)))
        elif kwargs:
            raise stream.error("a positional argument after a keyword argument")
        else:
            args.append(parse_expression(stream))
        if not stream.skip("op", ","):
            stream.expect("op", ")")
            break
    return args, kwargs


def _filters(stream: TokenStream, node: n.Expr) -> n.Expr:
    while True:
        if stream.look("op", "|"):
            stream.next()
            node = filter_call(stream, node)
        elif stream.look("name", "is"):
            pos = stream.next().pos
            negated = stream.skip("name", "not")
            token = stream.expect("name")
            args: list[n.Expr] = []
            if stream.skip("op", "("):
                args = call_arguments(stream)[0]
            elif _starts_expression(stream.current):  # "is divisibleby 3": one argument without brackets
                args = [_postfix(stream, _primary(stream))]
            node = n.Test(node, token.value, args, negated, pos)
        else:
            return node


def filter_call(stream: TokenStream, value: n.Expr | None) -> n.Filter:
    """``name`` or ``name(args)`` after a ``|`` (or after ``{% filter``)."""
    token = stream.expect("name")
    name = token.value
    while stream.look("op", ".") and stream.tokens[stream.at + 1].kind == "name":  # dotted filter names
        stream.next()
        name += "." + stream.next().value
    args: list[n.Expr] = []
    kwargs: list[tuple[str, n.Expr]] = []
    if stream.skip("op", "("):
        args, kwargs = call_arguments(stream)
    return n.Filter(value, name, args, kwargs, token.pos)


def _starts_expression(token: Token) -> bool:
    if token.kind in ("int", "float", "string"):
        return True
    if token.kind == "name":
        return token.value not in _RESERVED
    return token.kind == "op" and token.value in ("(", "[", "{")
