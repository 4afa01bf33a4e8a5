"""Templates from a directory: found safely, compiled once, rendered whole or streamed (web layer, templates).

``Templates(directory)`` is what an app holds: its globals, filters and
tests, and a cache of compiled templates. A name such as
``"blog/post.html"`` is split on ``/`` and each part checked as static
files check URL segments (no ``..``, no hidden files, no drive letters,
no backslashes; symlinks must stay inside the directory unless allowed),
so neither a template nor a name built from a request can read a file
outside the directory. In ``debug`` mode a template whose file changed is
compiled again on its next use.
"""

from __future__ import annotations

import linecache
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from heron.web.safepath import is_safe_segment, resolve_inside
from heron.web.templates import runtime
from heron.web.templates.compiler import compile_tree
from heron.web.templates.errors import TemplateNotFound
from heron.web.templates.filters import FILTERS, GLOBALS, TESTS, set_attribute
from heron.web.templates.lexer import Source
from heron.web.templates.parser import parse

__all__ = ["Template", "Templates"]

_MISSING = object()


class Template:
    """One compiled template. ``render(**context)`` gives the page as ``str``; ``stream(**context)``
    yields it in pieces as they are made (the text up to each ``{{ }}`` or block)."""

    def __init__(self, templates: Templates, text: str, name: str, filename: str) -> None:
        self.templates = templates
        self.name = name
        self.filename = filename
        source = Source(text, name)
        linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
        self._tree = parse(text, name)
        self._source = source
        self._modules: dict[bool, dict[str, Any]] = {False: self._compile(stream=False)}
        self._lock = threading.Lock()

    def _compile(self, stream: bool) -> dict[str, Any]:
        namespace = dict(self.templates.runtime_namespace)
        return compile_tree(self._tree, self._source, self.filename, namespace, stream)

    def _module(self, stream: bool) -> dict[str, Any]:
        module = self._modules.get(stream)
        if module is None:
            with self._lock:
                module = self._modules.get(stream) or self._compile(stream)
                self._modules[stream] = module
        return module

    def _run(self, context: dict[str, Any], write: Callable[[str], None] | None, blocks: dict[str, list[Any]]) -> Any:
        """Render into ``write`` (``None``: return a generator of the pieces), with the blocks of the
        templates that extend this one first in line."""
        module = self._module(write is None)
        for name, function in module["BLOCKS"].items():
            blocks.setdefault(name, []).append(function)
        return module["root"](context, write, blocks)

    def module(self) -> ImportedTemplate:
        """What ``{% import %}`` gives: the template's top-level macros and ``set`` names, as attributes.
        The template runs once with the globals only (not the importer's names, as in Jinja2)."""
        context, output = dict(self.templates.globals), list[str]()
        self._run(context, output.append, {})
        return ImportedTemplate(self.name, {k: v for k, v in context.items()
                                            if k not in self.templates.globals or v is not self.templates.globals[k]})

    def render(self, /, **context: Any) -> str:
        out: list[str] = []
        try:
            self._run({**self.templates.globals, **context}, out.append, {})
        except Exception as exc:
            self.templates.locate(exc)
            raise
        return "".join(out)

    def stream(self, /, **context: Any) -> Iterator[str]:
        try:
            yield from self._run({**self.templates.globals, **context}, None, {})
        except Exception as exc:
            self.templates.locate(exc)
            raise

    def __repr__(self) -> str:
        return f"<Template {self.name!r}>"


class ImportedTemplate:
    """An imported template's names: ``forms.field(...)`` in the importer."""

    def __init__(self, name: str, names: dict[str, Any]) -> None:
        self.__dict__.update(names)
        self._name = name

    def __repr__(self) -> str:
        return f"<ImportedTemplate {self._name!r}>"


class Templates:
    """A directory of templates, with the globals, filters and tests they share.

    ``globals`` are names every template sees (a render's context wins
    over them); ``filters`` and ``tests`` add to the built-in ones, or
    register them with the ``filter`` and ``test`` decorators before the
    templates that use them are first compiled.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, globals: Mapping[str, Any] | None = None,
                 filters: Mapping[str, Callable[..., Any]] | None = None,
                 tests: Mapping[str, Callable[..., bool]] | None = None, debug: bool = False,
                 follow_symlinks: bool = False) -> None:
        self.directory = os.path.realpath(directory) if directory is not None else None
        if self.directory is not None and not os.path.isdir(self.directory):
            raise ValueError(f"template directory {directory!r} does not exist")
        self.globals: dict[str, Any] = {**GLOBALS, **(globals or {})}
        self.filters: dict[str, Callable[..., Any]] = {**FILTERS, **(filters or {})}
        self.tests: dict[str, Callable[..., bool]] = {**TESTS, **(tests or {})}
        self.debug = debug
        self.follow_symlinks = follow_symlinks
        self._cache: dict[str, tuple[Template, int, int]] = {}
        self._filenames: dict[str, str] = {}
        self.runtime_namespace = {
            "_esc": runtime.to_text, "_attr": runtime.attribute, "_item": runtime.item, "_concat": runtime.concat,
            "_Undefined": runtime.Undefined, "_mjoin": runtime.markup_join, "_loop_over": runtime.loop_over,
            "_super": runtime.super_block, "_missing": _MISSING, "_NotFound": TemplateNotFound, "_env": self,
            "_no_caller": runtime.Undefined("no caller was given to this macro"),
            "_filters": self.filters, "_tests": self.tests, "_set_attribute": set_attribute,
        }

    def filter(self, name: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register the decorated function as a filter (under its own name by default)."""
        def register(function: Callable[..., Any]) -> Callable[..., Any]:
            self.filters[name or function.__name__] = function
            return function
        return register

    def test(self, name: str | None = None) -> Callable[[Callable[..., bool]], Callable[..., bool]]:
        """Register the decorated function as a test (``{% if x is name %}``)."""
        def register(function: Callable[..., bool]) -> Callable[..., bool]:
            self.tests[name or function.__name__] = function
            return function
        return register

    def from_string(self, text: str, name: str = "<string>") -> Template:
        """A template from text rather than a file (not cached)."""
        template = Template(self, text, name, f"<template {name}>")
        self._filenames[template.filename] = name
        return template

    def get_template(self, name: str) -> Template:
        """The compiled template ``name`` (a ``/``-separated path inside the directory);
        ``TemplateNotFound`` if there is none, or the name would leave the directory."""
        path = self._path(name)
        try:
            stat = os.stat(path)
        except OSError:
            raise TemplateNotFound(name) from None
        cached = self._cache.get(name)
        if cached is not None and (not self.debug or cached[1:] == (stat.st_mtime_ns, stat.st_size)):
            return cached[0]
        with open(path, encoding="utf-8") as file:
            text = file.read()
        template = Template(self, text, name, path)
        self._filenames[path] = name
        self._cache[name] = (template, stat.st_mtime_ns, stat.st_size)
        return template

    def _path(self, name: str) -> str:
        if self.directory is None or not isinstance(name, str):
            raise TemplateNotFound(name)
        segments = name.split("/")
        if not all(segment and is_safe_segment(segment) for segment in segments):
            raise TemplateNotFound(name)
        path = resolve_inside(self.directory, segments, self.follow_symlinks)
        if path is None or not os.path.isfile(path):
            raise TemplateNotFound(name)
        return path

    def render(self, name: str, /, **context: Any) -> str:
        return self.get_template(name).render(**context)

    def stream(self, name: str, /, **context: Any) -> Iterator[str]:
        return self.get_template(name).stream(**context)

    def locate(self, exc: BaseException) -> None:
        """Add a note naming the template, line and column where ``exc`` was raised, if in a template."""
        where = None
        tb = exc.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_filename in self._filenames:
                positions = list(getattr(code, "co_positions", lambda: [])())  # Python 3.11 on
                column = positions[tb.tb_lasti // 2][2] if tb.tb_lasti // 2 < len(positions) else None
                where = (self._filenames[code.co_filename], tb.tb_lineno, (column or 0) + 1)
            tb = tb.tb_next
        add_note = getattr(exc, "add_note", None)  # Python 3.11 on; the traceback shows the line anyway
        if where is not None and add_note is not None and not getattr(exc, "_heron_located", False):
            add_note(f"in template {where[0]!r}, line {where[1]}, column {where[2]}")
            exc._heron_located = True  # type: ignore[attr-defined]
