"""Modules stay small enough to read in one sitting, and functions short enough to see whole.

DESIGN's rule is about 400 lines a module and 60 a function; the checks
allow a little over 400, so that one docstring more does not fail a
build, while a module growing a second concept does.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

import heron

PACKAGE = pathlib.Path(heron.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_is_about_400_lines_at_most(path: pathlib.Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines: split it by concept"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_functions_are_60_lines_at_most(path: pathlib.Path) -> None:
    long = [(node.name, node.end_lineno - node.lineno + 1)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno is not None
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{path.relative_to(PACKAGE)}: {long}"
