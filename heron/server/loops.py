"""Choosing the event loop implementation (server layer).

uvloop is faster but optional: ``auto`` uses it when it is installed and
the standard asyncio loop otherwise; ``uvloop`` insists on it.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable

LOOP_CHOICES = ("auto", "asyncio", "uvloop")


def loop_factory(kind: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """A function making a new event loop of the requested kind."""
    if kind not in LOOP_CHOICES:
        raise ValueError(f"loop must be one of {', '.join(LOOP_CHOICES)}, not {kind!r}")
    if kind != "asyncio":
        try:
            uvloop = importlib.import_module("uvloop")
        except ImportError:
            if kind == "uvloop":
                raise RuntimeError("--loop uvloop: uvloop is not installed (pip install 'heron[uvloop]')") from None
        else:
            factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
            return factory
    return asyncio.new_event_loop
