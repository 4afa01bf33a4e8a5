"""Which part of heron may import which: the layer picture, as a table (root).

Data flows one way: bytes come up from the socket, become events, become
a ``Request``, meet a handler, and go back down as a ``Response`` and
bytes. The import graph is the same picture: each layer imports only the
layers it lists here (and itself), and ``server``, ``web`` and ``hosting``
stand side by side, never importing each other. ``tests/test_layering.py``
checks every module of the package against this table, and any other
check (a lint, a pre-commit hook) can read it the same way.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["LAYERS", "Layer", "layer_of"]


class Layer(NamedTuple):
    """One layer: the modules that make it up, the layers it may import, standard modules it must not."""

    modules: tuple[str, ...]
    """Modules and packages (a package stands for everything in it)."""
    imports: tuple[str, ...]
    """Layers it may import besides itself."""
    no_stdlib: tuple[str, ...] = ()
    """Standard library modules it must not import."""


_BELOW_SERVING = ("server", "web", "hosting", "messages", "protocol", "root")

LAYERS: dict[str, Layer] = {
    "root": Layer(("heron.limits", "heron.errors", "heron.blocking", "heron.layers"), ()),
    # sans-IO: bytes in, events out; testable and fuzzable without a socket, a clock or a thread.
    "protocol": Layer(("heron.protocol",), ("root",),
                      ("asyncio", "os", "selectors", "socket", "ssl", "subprocess", "threading", "time")),
    # the contract the three layers above speak; it never touches a socket.
    "messages": Layer(("heron.messages",), ("protocol", "root"), ("selectors", "socket", "ssl", "subprocess")),
    "server": Layer(("heron.server",), ("messages", "protocol", "root")),
    "web": Layer(("heron.web",), ("messages", "protocol", "root"), ("selectors", "socket", "ssl", "subprocess")),
    "hosting": Layer(("heron.hosting",), ("messages", "protocol", "root"), ("selectors", "socket", "ssl")),
    "demo": Layer(("heron.demo",), ("web", "messages", "protocol", "root")),
    "serving": Layer(("heron.serving",), _BELOW_SERVING),
    # the public API (``import heron``): no command line, so no argparse, on import.
    "api": Layer(("heron",), ("serving", *_BELOW_SERVING)),
    "entry": Layer(("heron.cli", "heron.__main__", "heron.testing", "heron.pytest_plugin"),
                   ("api", "serving", "demo", *_BELOW_SERVING)),
}


def layer_of(module: str) -> str | None:
    """The layer of ``module`` (a dotted name under ``heron``): the one listing it, or the package it
    is in (the longest such name); ``heron`` itself stands for its ``__init__`` only, so a new
    top-level module belongs to no layer until it is listed. None for a module in no layer."""
    best: tuple[int, str] | None = None
    for name, layer in LAYERS.items():
        for listed in layer.modules:
            inside = listed != "heron" and module.startswith(listed + ".")
            if (module == listed or inside) and (best is None or len(listed) > best[0]):
                best = (len(listed), name)
    return None if best is None else best[1]
