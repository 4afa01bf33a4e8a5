"""Jinja2 behind the same calls as heron's own templates, for those who prefer it (web layer).

``App(templates=JinjaTemplates("templates"))`` and ``app.render(...)``
work as with heron's ``Templates``: autoescape on, ``url_for``, the
request's session and the CSRF helpers in the context. Jinja2 is an
optional extra (``pip install heron[jinja2]``), imported only when this
class is used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["JinjaTemplates"]


class JinjaTemplates:
    """A Jinja2 ``Environment`` over ``directory`` with ``render(name, /, **context)`` and ``stream``."""

    def __init__(self, directory: str | os.PathLike[str], *, globals: Mapping[str, Any] | None = None,
                 filters: Mapping[str, Callable[..., Any]] | None = None,
                 tests: Mapping[str, Callable[..., bool]] | None = None, debug: bool = False,
                 **options: Any) -> None:
        try:
            import jinja2
        except ImportError:
            raise ImportError("JinjaTemplates needs Jinja2: pip install 'heron[jinja2]' (or jinja2)") from None
        self.environment = jinja2.Environment(loader=jinja2.FileSystemLoader(os.fspath(directory)),
                                              autoescape=True, auto_reload=debug, **options)
        self.globals: dict[str, Any] = self.environment.globals
        self.globals.update(globals or {})
        self.environment.filters.update(filters or {})
        self.environment.tests.update(tests or {})

    def render(self, name: str, /, **context: Any) -> str:
        rendered: str = self.environment.get_template(name).render(context)
        return rendered

    def stream(self, name: str, /, **context: Any) -> Iterator[str]:
        pieces: Iterator[str] = self.environment.get_template(name).generate(context)
        return pieces
