"""What goes wrong with a template, and where (web layer, templates).

Every error names the template, and the line and column in it: a syntax
error when the template is compiled, an undefined name or a failing call
when it renders (the traceback then shows the template's own line, see
``heron.web.templates.compiler``).
"""

from __future__ import annotations

__all__ = ["SecurityError", "TemplateError", "TemplateNotFound", "TemplateSyntaxError", "UndefinedError"]


class TemplateError(Exception):
    """Base of every template error."""


class TemplateSyntaxError(TemplateError):
    """The template's text is not a template: ``name:line:column: what``."""

    def __init__(self, message: str, name: str, line: int, column: int) -> None:
        super().__init__(f"{name}:{line}:{column}: {message}")
        self.message = message
        self.name = name
        self.line = line
        self.column = column


class TemplateNotFound(TemplateError, LookupError):
    """No template by that name in the directory, or a name that would leave it."""


class UndefinedError(TemplateError):
    """A template used a name or attribute that has no value (printing one is allowed: it prints nothing)."""


class SecurityError(TemplateError):
    """A template reached for something that could lead to Python's internals (``str.format``, frames)."""
