"""The import graph is the layer picture: every module of heron imports only what ``heron.layers`` allows.

Read from the source with ``ast`` (every import statement, at any depth,
including ``if TYPE_CHECKING`` blocks and function bodies), so a lazy
import cannot hide a dependency that breaks the picture.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

import heron
from heron.layers import LAYERS, layer_of

PACKAGE = pathlib.Path(heron.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    """Is ``name`` a module or package of the tree?"""
    path = PACKAGE.parent / name.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imported_modules(path: pathlib.Path) -> set[str]:
    """Every module named by an import statement anywhere in the file.

    ``from heron import web`` names ``heron.web`` as well as ``heron``;
    relative imports are not used in heron (``test_no_relative_imports``).
    """
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names if is_module(f"{node.module}.{a.name}"))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            names.update(arg.value for arg in node.args[:1] if isinstance(arg, ast.Constant) and isinstance(arg.value, str))
    return names


def test_no_relative_imports() -> None:
    """Absolute names only, so that what a module imports can be read, and checked, from the file alone."""
    relative = [module_name(p) for p in MODULES
                if any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(ast.parse(p.read_text("utf-8"))))]
    assert relative == []


def test_every_module_belongs_to_a_layer() -> None:
    assert [module_name(p) for p in MODULES if layer_of(module_name(p)) is None] == []


def test_the_table_names_only_layers_it_defines() -> None:
    for name, layer in LAYERS.items():
        assert set(layer.imports) <= set(LAYERS) - {name}, name


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_a_module_imports_only_its_own_layer_and_those_it_may(path: pathlib.Path) -> None:
    layer = layer_of(module_name(path))
    assert layer is not None
    allowed = {layer, *LAYERS[layer].imports}
    wrong = sorted(f"{name} ({layer_of(name)})" for name in imported_modules(path)
                   if (name == "heron" or name.startswith("heron.")) and layer_of(name) not in allowed)
    assert not wrong, f"{module_name(path)} ({layer}) imports {wrong}; it may import {sorted(allowed)}"


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_a_module_imports_no_standard_module_its_layer_forbids(path: pathlib.Path) -> None:
    layer = layer_of(module_name(path))
    assert layer is not None
    top_level = {name.split(".")[0] for name in imported_modules(path)}
    assert not top_level & set(LAYERS[layer].no_stdlib), sorted(top_level & set(LAYERS[layer].no_stdlib))


@pytest.mark.parametrize(("one", "other"), [("server", "web"), ("server", "hosting"), ("web", "hosting")])
def test_server_web_and_hosting_stand_side_by_side(one: str, other: str) -> None:
    assert other not in LAYERS[one].imports and one not in LAYERS[other].imports


def test_importing_heron_loads_no_command_line() -> None:
    """``import heron`` gives the library; argparse and the CLI come only with the command line."""
    code = "import sys, heron; print(sorted(m for m in ('argparse', 'heron.cli') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_import_checker_sees_every_import_form(tmp_path: pathlib.Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import os.path\nfrom time import monotonic\n"
        "def f():\n    import socket as s\n__import__('asyncio')\n"
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import ssl\n",
        encoding="utf-8",
    )
    assert imported_modules(probe) >= {"os.path", "time", "socket", "asyncio", "ssl"}
