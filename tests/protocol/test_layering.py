"""The protocol layer stays sans-IO: no module in heron/protocol imports I/O, clocks or threads."""

from __future__ import annotations

import ast
import pathlib

import pytest

import heron.protocol

FORBIDDEN = {"asyncio", "socket", "threading", "time", "os", "ssl", "selectors", "subprocess"}
PROTOCOL_DIR = pathlib.Path(heron.protocol.__file__).parent
MODULES = sorted(PROTOCOL_DIR.rglob("*.py"))


def imported_modules(path: pathlib.Path) -> set[str]:
    """Every module named by an import statement anywhere in the file (top-level package names)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            names.update(arg.value for arg in node.args[:1] if isinstance(arg, ast.Constant) and isinstance(arg.value, str))
    return names


def test_protocol_package_has_modules() -> None:
    assert {p.name for p in MODULES} >= {"__init__.py", "events.py", "parser.py", "writer.py", "headers.py"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_protocol_module_imports_no_io_clock_or_thread_module(path: pathlib.Path) -> None:
    top_level = {name.split(".")[0] for name in imported_modules(path)}
    assert not top_level & FORBIDDEN, f"{path.name} imports {sorted(top_level & FORBIDDEN)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_protocol_module_imports_only_itself_errors_and_limits(path: pathlib.Path) -> None:
    """Layers import only downwards: protocol/ never reaches into server/, web/ or hosting/."""
    allowed = ("heron.protocol", "heron.errors", "heron.limits")
    for name in imported_modules(path):
        if name == "heron" or name.startswith("heron."):
            assert name.startswith(allowed), f"{path.name} imports {name}"


def test_import_checker_sees_every_import_form(tmp_path: pathlib.Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import os.path\nfrom time import monotonic\nfrom . import sibling\n"
        "def f():\n    import socket as s\n__import__('asyncio')\n",
        encoding="utf-8",
    )
    assert imported_modules(probe) == {"os.path", "time", "socket", "asyncio"}
