"""A template tree compiled to a Python module (web layer, templates).

The module holds ``root(_ctx, _w, _blocks)``, which renders the
template, and one ``_block_<name>`` function per block, collected in
``BLOCKS``. Output goes to ``_w``, a list's ``append``: what the fastest
engines do, and close to what a person writing the page in Python would.
Compiled for streaming, the same functions are generators that ``yield``
each piece instead.

Template names become Python locals, loaded from the context once at the
start of a function; names made inside a ``for``, ``with`` or macro get
Python names of their own, so a ``{% set %}`` in a loop body does not
leak out of it, as in Jinja2. Adjacent text and printed values are
joined into one write.

Every line of the generated code is tagged with the template position
it came from; after ``ast.parse`` the nodes' line numbers are rewritten
to the template's, and the code is compiled under the template's file
name, so a traceback through a template shows the template's own line.
"""

from __future__ import annotations

import ast
import itertools
import keyword
from typing import Any

from heron.web.templates import nodes as n
from heron.web.templates.expression_code import arguments, expression_code, filter_code
from heron.web.templates.frames import Frame, assigned_names, target_names, uses_loop
from heron.web.templates.lexer import Source
from heron.web.templates.runtime import to_text

__all__ = ["compile_tree"]


def compile_tree(tree: n.TemplateTree, source: Source, filename: str, namespace: dict[str, Any],
                 stream: bool = False) -> dict[str, Any]:
    """Compile ``tree`` and run the module in ``namespace`` (the runtime helpers, filters, tests, loader);
    the namespace, now holding ``root`` and ``BLOCKS``."""
    compiler = _Compiler(source, namespace, stream)
    compiler.module(tree)
    code_text = "\n".join(("    " * indent) + text for indent, text, _ in compiler.lines)
    module = ast.parse(code_text, filename)
    lines = [source.position(pos) for _, _, pos in compiler.lines]
    for node in ast.walk(module):
        if isinstance(node, (ast.stmt, ast.expr, ast.excepthandler, ast.arg, ast.keyword)):
            line, column = lines[node.lineno - 1]
            node.lineno = node.end_lineno = line
            node.col_offset, node.end_col_offset = column - 1, column
    exec(compile(module, filename, "exec"), namespace)  # noqa: S102 - code this module wrote from a parsed tree
    return namespace


class _Compiler:
    def __init__(self, source: Source, namespace: dict[str, Any], stream: bool) -> None:
        self.source = source
        self.namespace = namespace
        self.stream = stream
        self.lines: list[tuple[int, str, int]] = []
        self.indent = 0
        self.pos = 0
        self.ids = itertools.count(1)
        self.frame = Frame(None, True)
        self.writer = "_w"  # "yield" when streaming a module-level function's own output
        self.pending: list[str] = []  # parts of the next write: Python expressions of str
        self.pending_pos: int | None = None  # where the first printed value among them is, for errors
        self.block: str | None = None
        self.extended = False
        self.nesting = 0  # how deep in if/for/with the statement being compiled is

    # -- emitting -------------------------------------------------------------------

    def line(self, text: str) -> None:
        self.flush()
        self.lines.append((self.indent, text, self.pos))

    def write(self, part: str) -> None:
        if self.pending_pos is None and part[0] not in "'\"":
            self.pending_pos = self.pos
        self.pending.append(part)

    def flush(self) -> None:
        if not self.pending:
            return
        parts, self.pending = self.pending, []
        pos, self.pending_pos = self.pending_pos if self.pending_pos is not None else self.pos, None
        merged: list[str] = []
        for part in parts:  # adjacent literals become one literal
            if merged and part[0] in "'\"" and merged[-1][0] in "'\"":
                merged[-1] = repr(ast.literal_eval(merged[-1]) + ast.literal_eval(part))
            else:
                merged.append(part)
        if self.writer == "yield":  # one piece per write: a stream's pieces go out as they are
            self.lines.append((self.indent, f"yield {' + '.join(merged)}", pos))
            return
        for part in merged:  # separate appends beat building the string: "".join does that once, at the end
            self.lines.append((self.indent, f"{self.writer}({part})", pos))

    def error(self, message: str, pos: int) -> Exception:
        return self.source.error(message, pos)

    # -- scopes (the Scope protocol of expression_code) -------------------------------

    def resolve(self, name: str) -> str:
        frame: Frame | None = self.frame
        while frame is not None:
            if name in frame.names:
                return frame.names[name]
            if frame.top:
                frame.free.add(name)
                frame.names[name] = ident = f"_v_{name}"
                return ident
            frame = frame.parent
        raise AssertionError("a frame chain always ends in a top frame")

    def assign(self, name: str) -> str:
        """The Python name a ``set`` (or loop target) in the current frame writes."""
        frame = self.frame
        if frame.top:  # loaded from the context first, so that a set that did not run leaves it as it was
            frame.assigned.add(name)
            return self.resolve(name)
        if name not in frame.names:
            frame.names[name] = f"_v_{name}_{next(self.ids)}"
        return frame.names[name]

    def filter_ref(self, name: str, pos: int) -> str:
        return self._registered("filters", "_f_", name, pos)

    def test_ref(self, name: str, pos: int) -> str:
        return self._registered("tests", "_t_", name, pos)

    def _registered(self, kind: str, prefix: str, name: str, pos: int) -> str:
        ident = prefix + name.replace(".", "__")
        if ident not in self.namespace:
            table = self.namespace[f"_{kind}"]
            if name not in table:
                raise self.error(f"no {kind[:-1]} named {name!r}", pos)
            self.namespace[ident] = table[name]
        return ident

    def super_call(self, pos: int) -> str:
        if self.block is None:
            raise self.error("super() outside a block", pos)
        return f"_super(_ctx, _blocks, {self.block!r}, _block_{self.block})"

    def constant(self, value: object) -> str:
        ident = f"_c{next(self.ids)}"
        self.namespace[ident] = value
        return ident

    def expr(self, node: n.Expr) -> str:
        return expression_code(node, self)

    def context(self) -> str:
        """The context a block or an included template sees from here: ``_ctx`` and the names made so far."""
        names: dict[str, str] = {}
        frame: Frame | None = self.frame
        chain = []
        while frame is not None:
            chain.append(frame)
            frame = frame.parent
        for frame in reversed(chain):
            names.update({k: v for k, v in frame.names.items() if not frame.top or k in frame.assigned})
        if not names:
            return "_ctx"
        return "{**_ctx, " + ", ".join(f"{k!r}: {v}" for k, v in names.items()) + "}"

    # -- module and functions ---------------------------------------------------------

    def module(self, tree: n.TemplateTree) -> None:
        self.function("root", tree.body, top_level=True)
        for name, block in tree.blocks.items():
            self.block = name
            self.function(f"_block_{name}", block.body, top_level=False)
        self.block = None
        self.pos = 0
        self.line("BLOCKS = {" + ", ".join(f"{name!r}: _block_{name}" for name in tree.blocks) + "}")

    def function(self, name: str, body: list[n.Node], top_level: bool) -> None:
        """A module-level function; its free names are loaded from ``_ctx`` at its start."""
        self.frame, self.writer = Frame(None, True), "yield" if self.stream else "_w"
        start = len(self.lines)
        self.indent = 1
        self.statements(body, top_level)
        if top_level and self.extended:
            self.line("yield from _parent._run(_ctx, None, _blocks)" if self.stream else
                      "_parent._run(_ctx, _w, _blocks)")
        self.flush()
        header = [f"_v_{free} = _ctx.get({free!r}, _Undefined({f'{free!r} is undefined'!r}))"
                  for free in sorted(self.frame.free)]
        if self.stream:
            header.append("if False: yield ''")  # a generator even when the template writes nothing
        self.lines[start:start] = [(0, f"def {name}(_ctx, _w, _blocks):", self.pos)] + \
            [(1, text, self.pos) for text in header or ["pass"]]
        self.indent = 0

    def statements(self, body: list[n.Node], top_level: bool = False) -> None:
        for node in body:
            self.pos = node.pos
            if top_level and self.extended and isinstance(node, (n.Text, n.Print, n.Block)):
                continue  # a template that extends another prints nothing outside its blocks
            getattr(self, f"do_{type(node).__name__.lower()}")(node, top_level)

    def captured(self, body: list[n.Node]) -> str:
        """Compile ``body`` writing into a new list; the name of that list."""
        buffer = f"_o{next(self.ids)}"
        self.line(f"{buffer} = []")
        outer, self.writer = self.writer, f"{buffer}.append"
        self.statements(body)
        self.flush()
        self.writer = outer
        return buffer

    def child_frame(self, body: list[n.Node]) -> Frame:
        """A new frame for ``body``; names it assigns start as what they are outside it."""
        frame = Frame(self.frame, False)
        for name in sorted(assigned_names(body)):
            outer = self.resolve(name)
            frame.names[name] = ident = f"_v_{name}_{next(self.ids)}"
            self.line(f"{ident} = {outer}")
        return frame

    # -- statements ---------------------------------------------------------------------

    def do_text(self, node: n.Text, top_level: bool) -> None:
        self.write(repr(node.text))

    def do_print(self, node: n.Print, top_level: bool) -> None:
        if isinstance(node.expr, n.Const) and isinstance(node.expr.value, (str, int, float, bool, type(None))):
            self.write(repr(to_text(node.expr.value)))
        else:
            self.write(f"_esc({self.expr(node.expr)})")

    def do_if(self, node: n.If, top_level: bool) -> None:
        self.line(f"if {self.expr(node.test)}:")
        self.indented(node.body, top_level)
        if len(node.otherwise) == 1 and isinstance(node.otherwise[0], n.If):
            self.pos = node.otherwise[0].pos
            self.line("else:")
            self.indent += 1
            self.do_if(node.otherwise[0], top_level)
            self.indent -= 1
        elif node.otherwise:
            self.line("else:")
            self.indented(node.otherwise, top_level)

    def indented(self, body: list[n.Node], top_level: bool = False) -> None:
        self.flush()
        self.indent += 1
        self.nesting += 1
        self.line("pass")
        self.statements(body, top_level)
        self.flush()
        self.nesting -= 1
        self.indent -= 1

    def do_for(self, node: n.For, top_level: bool) -> None:
        iterable = self.expr(node.iterable)
        outer = self.frame
        self.frame = frame = self.child_frame(node.body)
        target = self.target(node.target)
        if node.condition is not None:
            iterable = f"({target} for {target} in {iterable} if {self.expr(node.condition)})"
        if uses_loop(node.body):
            loop = frame.names["loop"] = f"_v_loop_{next(self.ids)}"
            self.line(f"{loop}, _i = _loop_over({iterable})")
            iterable = "_i"
        ran = f"_r{next(self.ids)}" if node.otherwise else None
        if ran:
            self.line(f"{ran} = False")
        self.line(f"for {target} in {iterable}:")
        self.indent += 1
        if ran:
            self.line(f"{ran} = True")
        self.frame = frame
        self.indented_body(node.body)
        self.frame = outer
        if ran:
            self.line(f"if not {ran}:")
            self.indented(node.otherwise)

    def indented_body(self, body: list[n.Node]) -> None:
        self.line("pass")
        self.statements(body)
        self.flush()
        self.indent -= 1

    def target(self, node: n.Expr) -> str:
        if isinstance(node, n.Name):
            return self.assign(node.name)
        assert isinstance(node, n.Collection)
        return "(" + ", ".join(self.target(item) for item in node.items) + ",)"

    def do_assign(self, node: n.Assign, top_level: bool) -> None:
        value = self.expr(node.expr) if node.expr is not None else f"_mjoin({self.captured(node.body)})"
        if isinstance(node.target, n.Attribute):
            self.line(f"_set_attribute({self.expr(node.target.obj)}, {node.target.name!r}, {value})")
            return
        target = self.target(node.target)
        self.line(f"{target} = {value}")
        if top_level and self.frame.top:  # the template's own variables: blocks and includes see them
            for name in target_names(node.target):
                self.line(f"_ctx[{name!r}] = {self.resolve(name)}")

    def do_with(self, node: n.With, top_level: bool) -> None:
        values = [(target, self.expr(value)) for target, value in node.assignments]
        outer = self.frame
        self.frame = Frame(outer, False)
        for name in sorted(assigned_names(node.body)):
            self.frame.names[name] = ident = f"_v_{name}_{next(self.ids)}"
            self.line(f"{ident} = {self.resolve_in(outer, name)}")
        for target, value in values:
            self.line(f"{self.target(target)} = {value}")
        self.statements(node.body)
        self.flush()
        self.frame = outer

    def resolve_in(self, frame: Frame, name: str) -> str:
        inner, self.frame = self.frame, frame
        try:
            return self.resolve(name)
        finally:
            self.frame = inner

    def do_block(self, node: n.Block, top_level: bool) -> None:
        context = self.context() if node.scoped else "_ctx"
        call = f"_blocks[{node.name!r}][0]({context}, {self.writer_arg()}, _blocks)"
        self.line(f"yield from {call}" if self.writer == "yield" else call)

    def writer_arg(self) -> str:
        return "None" if self.writer == "yield" else self.writer

    def do_extends(self, node: n.Extends, top_level: bool) -> None:
        if not top_level or self.nesting or self.block is not None:
            raise self.error("{% extends %} must be at the top level of a template", node.pos)
        if self.extended:
            raise self.error("a template can extend only one other", node.pos)
        self.line(f"_parent = _env.get_template({self.expr(node.template)})")
        self.extended = True

    def do_include(self, node: n.Include, top_level: bool) -> None:
        run = f"_env.get_template({self.expr(node.template)})._run({self.context()}, {self.writer_arg()}, {{}})"
        run = f"yield from {run}" if self.writer == "yield" else run
        if not node.ignore_missing:
            self.line(run)
            return
        self.line("try:")
        self.indent += 1
        self.line(run)
        self.indent -= 1
        self.line("except _NotFound:")
        self.indent += 1
        self.line("pass")
        self.indent -= 1

    def do_import(self, node: n.Import, top_level: bool) -> None:
        module = f"_env.get_template({self.expr(node.template)}).module()"
        if not node.names:
            self.assign_value(node.target, module, top_level)
            return
        self.line(f"_m = {module}")
        for name, alias in node.names:
            self.assign_value(alias, f"_attr(_m, {name!r})", top_level)

    def assign_value(self, name: str, value: str, top_level: bool) -> None:
        """``name = value`` in the current frame (exported to the context at a template's top level)."""
        ident = self.assign(name)
        self.line(f"{ident} = {value}")
        if top_level and self.frame.top:
            self.line(f"_ctx[{name!r}] = {ident}")

    def do_macro(self, node: n.Macro, top_level: bool) -> None:
        ident = self.assign(node.name)
        self.nested_function(ident, node.params, node.body, caller=True)
        if top_level and self.frame.top:
            self.line(f"_ctx[{node.name!r}] = {ident}")

    def nested_function(self, ident: str, params: list[tuple[str, n.Expr | None]], body: list[n.Node],
                        caller: bool) -> None:
        """A macro or a ``caller``: a Python function returning its output as ``Markup``."""
        for name, _ in params:
            if keyword.iskeyword(name) or (caller and name == "caller"):
                raise self.error(f"{name!r} cannot name a parameter", self.pos)
        signature = [f"{name}=_missing" for name, _ in params]
        if caller:
            signature.append("caller=_no_caller")
        self.line(f"def {ident}({', '.join(signature)}):")
        self.indent += 1
        outer_frame, outer_writer = self.frame, self.writer
        self.frame = frame = Frame(outer_frame, False)
        for name, default in params + ([("caller", None)] if caller else []):
            frame.names[name] = local = f"_v_{name}_{next(self.ids)}"
            self.line(f"{local} = {name}")
            if default is not None:
                self.line(f"if {local} is _missing: {local} = {self.expr(default)}")
            elif name != "caller":
                self.line(f"if {local} is _missing: {local} = _Undefined({f'parameter {name!r} was not given'!r})")
        for name in sorted(assigned_names(body) - set(frame.names)):
            frame.names[name] = local = f"_v_{name}_{next(self.ids)}"
            self.line(f"{local} = {self.resolve_in(outer_frame, name)}")
        self.writer = "_w"
        self.line("_out = []")
        self.line("_w = _out.append")
        self.statements(body)
        self.flush()
        self.line("return _mjoin(_out)")
        self.indent -= 1
        self.frame, self.writer = outer_frame, outer_writer

    def do_callblock(self, node: n.CallBlock, top_level: bool) -> None:
        ident = f"_caller{next(self.ids)}"
        self.nested_function(ident, node.params, node.body, caller=False)
        args = [*arguments(node.call.args, node.call.kwargs, self), f"caller={ident}"]
        self.write(f"_esc({self.expr(node.call.func)}({', '.join(args)}))")

    def do_filterblock(self, node: n.FilterBlock, top_level: bool) -> None:
        chain: list[n.Filter] = []
        current: n.Filter | None = node.filter
        while current is not None:
            chain.append(current)
            current = current.value if isinstance(current.value, n.Filter) else None
        code = f"_mjoin({self.captured(node.body)})"
        for filter_ in reversed(chain):
            code = filter_code(filter_, code, self)
        self.write(f"_esc({code})")
