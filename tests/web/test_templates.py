"""heron's template engine on its own: escaping, errors with positions, what a template cannot reach, the loader's
path checks, caching and reloading, streaming, and hostile templates staying bounded."""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path

import pytest

from heron.web.templates import (Markup, SecurityError, TemplateNotFound, Templates, TemplateSyntaxError,
                                 UndefinedError)


def render(text: str, **context: object) -> str:
    return Templates().from_string(text, "test.html").render(**context)


# -- escaping -----------------------------------------------------------------------------


def test_printed_values_are_escaped_and_markup_is_not() -> None:
    assert render("{{ v }}", v="<a href='x'>\"&\"</a>") == "&lt;a href=&#39;x&#39;&gt;&#34;&amp;&#34;&lt;/a&gt;"
    assert render("{{ v }}|{{ v|safe }}", v=Markup("<b>ok</b>")) == "<b>ok</b>|<b>ok</b>"

    class Html:
        def __html__(self) -> str:
            return "<i>own</i>"

    assert render("{{ v }}", v=Html()) == "<i>own</i>"


def test_markup_joined_with_text_escapes_the_text() -> None:
    assert render("{{ m ~ t }}", m=Markup("<b>"), t="<i>") == "<b>&lt;i&gt;"
    assert Markup("<b>") + "<i>" == "<b>&lt;i&gt;"
    assert render("{% macro m() %}<p>{% endmacro %}{{ m() ~ '<' }}") == "<p>&lt;"


# -- errors name the template, line and column --------------------------------------------


@pytest.mark.parametrize("text, message, line, column", [
    ("a\n{% if x %}", "the template ended where elif or else or endif was expected", 2, 11),
    ("{{ x", "a tag that is never closed with }}", 1, 1),
    ("ok\n  {% frobnicate %}", "unknown tag 'frobnicate'", 2, 6),
    ("{% endif %}", "unexpected {% endif %}", 1, 4),
    ("{{ x|nosuchfilter }}", "no filter named 'nosuchfilter'", 1, 6),
    ("{{ x is nosuchtest }}", "no test named 'nosuchtest'", 1, 6),
    ("{{ 1 + }}", "expected an expression, found the end of the tag", 1, 8),
    ("{% block a %}{% endblock %}{% block a %}{% endblock %}", "block 'a' defined twice", 1, 37),
    ("{% if x %}{% extends 'b' %}{% endif %}", "{% extends %} must be at the top level of a template", 1, 11),
    ("{{ (1 }}", "unbalanced '}'", 1, 7),
    ("{# never closed", "a comment that is never closed with #}", 1, 1),
    ("{{ x.__class__ }}", "names starting with '_' are not allowed in templates: '__class__'", 1, 6),
    ("{{ _private }}", "names starting with '_' are not allowed in templates: '_private'", 1, 4),
    ("{{ x['__class__'] }}", "keys starting with '_' are not allowed in templates: '__class__'", 1, 6),
    ("{% set _x = 1 %}", "names starting with '_' are not allowed in templates: '_x'", 1, 8),
])
def test_syntax_errors_name_the_template_line_and_column(text: str, message: str, line: int, column: int) -> None:
    with pytest.raises(TemplateSyntaxError) as info:
        Templates().from_string(text, "page.html")
    error = info.value
    assert (error.message, error.name, error.line, error.column) == (message, "page.html", line, column)
    assert str(error) == f"page.html:{line}:{column}: {message}"


def test_a_render_error_shows_the_template_line_in_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text("<p>\n  {{ 10 // zero }}\n</p>\n")
    with pytest.raises(ZeroDivisionError) as info:
        Templates(tmp_path).render("page.html", zero=0)
    text = "".join(traceback.format_exception(info.value))
    assert f'File "{tmp_path / "page.html"}", line 2' in text
    assert "  {{ 10 // zero }}" in text  # the template's own line, from the template's file
    assert "in template 'page.html', line 2, column 3" in text


def test_undefined_prints_nothing_and_fails_when_used() -> None:
    assert render("[{{ missing }}][{{ missing|default('d') }}][{% for x in missing %}x{% endfor %}]") == "[][d][]"
    with pytest.raises(UndefinedError, match="'missing' is undefined"):
        render("{{ missing.attr }}")
    with pytest.raises(UndefinedError, match="'missing' is undefined"):
        render("{{ missing + 1 }}")


# -- what a template cannot reach ----------------------------------------------------------


@pytest.mark.parametrize("text", [
    "{{ s.format(s) }}", "{{ s.format_map(d) }}", "{{ g.gi_frame }}", "{{ (s|attr('format'))('{0}') }}",
])
def test_str_format_and_frames_are_out_of_reach(text: str) -> None:
    generator = (x for x in [1])
    with pytest.raises(SecurityError):
        render(text, s="{0.__class__.__mro__}", d={}, g=generator)


@pytest.mark.parametrize("key", ["__class__", "__globals__", "_secret"])
def test_underscore_keys_built_at_render_time_are_not_attributes(key: str) -> None:
    class Secretive:
        _secret = "hidden"
    assert render("[{{ obj[key] }}]", obj=Secretive(), key=key) == "[]"


def test_set_can_change_a_namespace_and_nothing_else() -> None:
    assert render("{% set ns = namespace(n=1) %}{% set ns.n = ns.n + 1 %}{{ ns.n }}") == "2"
    with pytest.raises(Exception, match="namespace"):
        render("{% set obj.admin = true %}", obj=type("O", (), {})())


def test_range_is_bounded() -> None:
    assert render("{{ range(3)|list }}") == "[0, 1, 2]"
    with pytest.raises(OverflowError):
        render("{% for i in range(10**9) %}{% endfor %}")


def test_deep_nesting_is_a_syntax_error_with_a_reason() -> None:
    assert render("{% if true %}" * 60 + "x" + "{% endif %}" * 60) == "x"
    with pytest.raises(TemplateSyntaxError, match="statements nested more than 80 deep"):
        Templates().from_string("{% if true %}" * 200 + "x" + "{% endif %}" * 200)
    with pytest.raises(TemplateSyntaxError, match="statements nested more than 80 deep"):
        Templates().from_string("{% for x in y %}" * 20000)
    assert render("{{ " + "(" * 25 + "1" + ")" * 25 + " }}") == "1"
    for opener, closer in (("(", ")"), ("[", "]"), ("x(", ")"), ("-", ""), ("not ", ""), ("{'a': ", "}")):
        with pytest.raises(TemplateSyntaxError, match="an expression nested more than 30 deep"):
            Templates().from_string("{{ " + opener * 5000 + "1" + closer * 5000 + " }}")
    for chain in (".a" * 5000, "|upper" * 5000, " + 1" * 5000, "[0]" * 5000, " and x" * 5000, " ~ 'a'" * 5000):
        with pytest.raises(TemplateSyntaxError, match="an expression nested more than 80 deep"):
            Templates().from_string("{{ x" + chain + " }}")
    assert render("{{ x" + "|trim" * 60 + " }}", x=" a ") == "a"


# -- loading --------------------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "a.html").write_text("A {{ x }}")
    (tmp_path / ".hidden.html").write_text("hidden")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.html"
    outside.write_text("outside")
    (tmp_path / "link.html").symlink_to(outside)
    return tmp_path


@pytest.mark.parametrize("name", ["../x.html", "pages/../pages/a.html", "/etc/passwd", ".hidden.html",
                                  "pages\\a.html", "pages//a.html", "", "pages", "link.html", "C:x.html",
                                  "pages/a.html\x00", "missing.html"])
def test_names_that_leave_the_directory_or_do_not_exist_are_not_found(site: Path, name: str) -> None:
    with pytest.raises(TemplateNotFound):
        Templates(site).get_template(name)


def test_templates_are_compiled_once_and_recompiled_in_debug_mode_when_changed(site: Path) -> None:
    cached, debug = Templates(site), Templates(site, debug=True)
    first = cached.get_template("pages/a.html")
    assert cached.get_template("pages/a.html") is first
    assert debug.render("pages/a.html", x=1) == "A 1"
    time.sleep(0.01)
    (site / "pages" / "a.html").write_text("B {{ x }} changed")
    os.utime(site / "pages" / "a.html")
    assert debug.render("pages/a.html", x=1) == "B 1 changed"
    assert cached.render("pages/a.html", x=1) == "A 1"


def test_globals_filters_and_tests_can_be_added(site: Path) -> None:
    templates = Templates(site, globals={"site": "heron", "x": "global"})

    @templates.filter()
    def shout(value: str) -> str:
        return value.upper() + "!"

    @templates.test("long")
    def is_long(value: str) -> bool:
        return len(value) > 3

    page = templates.from_string("{{ site|shout }} {{ 'abcd' is long }} {{ x }}")
    assert page.render() == "HERON! True global"
    assert page.render(x="context wins") == "HERON! True context wins"


def test_stream_yields_pieces_as_they_are_made() -> None:
    page = Templates().from_string("head{% for i in items %}<{{ i }}>{% endfor %}tail")
    pieces = page.stream(items=[1, 2])
    assert next(pieces) == "head"
    assert list(pieces) == ["<1>", "<2>", "tail"]


def test_whitespace_control_and_the_last_newline() -> None:
    assert render("<ul>\n  {%- for i in [1, 2] %}\n  <li>{{ i }}</li>\n  {%- endfor %}\n</ul>\n") == \
        "<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>"
