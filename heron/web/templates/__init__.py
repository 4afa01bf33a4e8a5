"""heron's template engine: Jinja2's syntax, compiled to Python, escaping on (web layer).

``Templates("templates/").render("page.html", title="Hi")``. The pieces,
in the order a template goes through them: ``lexer`` (text to tokens),
``expressions`` and ``parser`` (tokens to a tree, ``nodes``),
``compiler`` and ``expression_code`` (the tree to a Python module),
``runtime`` and ``filters`` (what that module calls), ``loader`` (finding,
caching and rendering templates). docs/templates.md is the reference.
"""

from heron.web.templates.errors import (SecurityError, TemplateError, TemplateNotFound, TemplateSyntaxError,
                                        UndefinedError)
from heron.web.templates.loader import Template, Templates
from heron.web.templates.runtime import Markup, escape

__all__ = ["Markup", "SecurityError", "Template", "TemplateError", "TemplateNotFound", "TemplateSyntaxError",
           "Templates", "UndefinedError", "escape"]
