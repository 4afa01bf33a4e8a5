"""heron's templates render what Jinja2 renders (autoescape on), over a corpus of the shared syntax.

Each case is a template and a context; the test renders it with both
engines and wants the same text, byte for byte. Generated expressions
(operators, filters, tests, conditionals, nested) are held to the same:
the same output, or both failing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import markupsafe
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heron.web.templates import Templates


class User:
    def __init__(self, name: str, admin: bool = False) -> None:
        self.name = name
        self.admin = admin

    def greet(self, other: str) -> str:
        return f"{self.name} greets {other}"


CONTEXT: dict[str, Any] = {
    "name": "Ada <Lovelace> & 'co'", "n": 7, "zero": 0, "f": 2.5, "items": ["b", "a", "<c>", "a"],
    "nums": [3, 1, 2], "d": {"x": 1, "y": "<y>", "items": "shadow"}, "users": [User("ada", True), User("bob")],
    "nested": {"a": {"b": [10, 20, {"c": "deep"}]}}, "empty": [], "none": None, "flag": True,
    "html": markupsafe.Markup("<b>safe</b>"), "text": "  Hello World  ",
    "long": "The quick brown fox jumps over the lazy dog " * 3, "pairs": [("a", 1), ("b", 2)],
}

CASES = [
    # printing and escaping
    "{{ name }}", "{{ n }} {{ f }} {{ none }} {{ flag }} {{ missing }}", "{{ '<&>\"' ~ \"'\" }}",
    "{{ name|safe }}", "{{ name|e }}", "{{ name|escape|safe }}", "{{ [1, 'a', none] }}", "{{ {'a': '<'} }}",
    "{{ (1, 2) }}", "{{ 'a' 'b' }}", "{{ \"tab\\tnew\\nline\" }}", "{{ '{{ not a tag }}' }}",
    # arithmetic and comparisons
    "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 // 2 }} {{ 7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ -n }} {{ +n }}",
    "{{ 1 < 2 < 3 }} {{ 3 > 2 > 5 }} {{ n == 7 }} {{ n != 7 }} {{ 'a' in items }} {{ 'z' not in items }}",
    "{{ not flag }} {{ flag and n }} {{ zero or 'fallback' }} {{ none is none }} {{ n is not none }}",
    "{{ 'yes' if n > 5 else 'no' }} [{{ 'x' if zero }}]", "{{ 1_000 + 0.5 }} {{ 1e3 }} {{ 2 * 'ab' }}",
    "{{ n ~ '/' ~ f ~ '/' ~ none ~ '/' ~ missing }}", "{{ -2 ** 2 }} {{ -n|abs }}",
    # attributes, items, calls, slices
    "{{ d.x }} {{ d['y'] }} {{ d.items }} {{ d.missing }} {{ nested.a.b.2.c }} {{ nested['a']['b'][1] }}",
    "{{ users[0].name }} {{ users.1.name }} {{ users[0].greet('bob') }} {{ users[0]['name'] }}",
    "{{ items[1:3] }} {{ items[::-1] }} {{ items[:-1] }} {{ 'abcdef'[1::2] }}",
    "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", "{{ range(3)|list }} {{ dict(a=1).a }}",
    # if / for / loop
    "{% if n > 10 %}big{% elif n > 5 %}medium{% else %}small{% endif %}", "{% if empty %}x{% else %}none{% endif %}",
    "{% for i in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}"
    "{{ loop.revindex }}{{ loop.revindex0 }}|{% endfor %}",
    "{% for i in empty %}{{ i }}{% else %}nothing{% endfor %}", "{% for i in nums if i > 1 %}{{ i }}"
    "{{ loop.index }}{% else %}none{% endfor %}",
    "{% for a, b in pairs %}{{ a }}{{ b }}{% endfor %}", "{% for i in nums %}{{ loop.cycle('odd', 'even') }} "
    "{% endfor %}", "{% for row in [[1, 2], [3]] %}{% for c in row %}{{ loop.index }}.{{ c }} {% endfor %}"
    "{% endfor %}",
    "{% for i in nums %}{% if loop.previtem is defined %}{{ loop.previtem }}>{% endif %}{{ i }} {% endfor %}",
    # set, with, scoping
    "{% set x = 1 %}{% for i in nums %}{% set x = i %}{% endfor %}{{ x }}",
    "{% set x = 1 %}{% if flag %}{% set x = 2 %}{% endif %}{{ x }}", "{% set a, b = 1, 2 %}{{ a }}{{ b }}",
    "{% set block %}<i>{{ name }}</i>{% endset %}{{ block }}|{{ block|length }}",
    "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{{ a }}", "{% set n = 1 %}{% with n = n + 1 %}{{ n }}"
    "{% endwith %}{{ n }}",
    # filters
    "{{ items|join(', ') }} {{ items|length }} {{ items|first }} {{ items|last }} {{ items|sort|join }}",
    "{{ items|unique|join }} {{ nums|sum }} {{ nums|max }} {{ nums|min }} {{ nums|sort(reverse=true)|join }}",
    "{{ text|trim }}|{{ text|upper }}|{{ text|lower }}|{{ text|title }}|{{ 'hello'|capitalize }}",
    "{{ missing|default('dflt') }} {{ ''|default('empty', true) }} {{ none|default('x') }} {{ missing|d }}",
    "{{ long|truncate(20) }}|{{ long|truncate(20, true) }}|{{ long|wordcount }}",
    "{{ users|map(attribute='name')|join(',') }} {{ users|selectattr('admin')|map(attribute='name')|list }}",
    "{{ nums|select('odd')|list }} {{ nums|reject('odd')|list }} {{ users|rejectattr('admin')|list|length }}",
    "{{ d|dictsort }} {{ '%s-%d'|format('a', 3) }} {{ 'a b'|replace(' ', '_') }} {{ 'abc'|reverse }}",
    "{{ 3.14159|round(2) }} {{ 2.5|round }} {{ '42'|int + 1 }} {{ 'x'|int }} {{ '3.5'|float }}",
    "{{ nums|batch(2)|list }} {{ 'a<b>c'|striptags }} {{ [1, 2]|tojson }} {{ {'k': '<v>'}|tojson }}",
    "{{ 'a\\nb'|indent(2) }}|{{ 'x'|center(5) }}|{{ 1234567|filesizeformat }}|{{ 'é/?'|urlencode }}",
    "{{ 'a\\n\\n  \\nb'|indent(2, true) }}|{{ 'a\\n\\nb'|indent(2, blank=true) }}|{{ 'a\\nb'|indent('> ') }}",
    "{{ (10**30)|filesizeformat }} {{ 2048|filesizeformat(true) }} {{ 1|filesizeformat }} {{ 999|filesizeformat }}",
    "{{ {'a b': 'c&d', 'e': 1}|urlencode }} {{ [('x', 'y z')]|urlencode }}",
    "{% for g in users|groupby('admin') %}{{ g.grouper }}:{{ g.list|map(attribute='name')|join(',') }};"
    "{% endfor %}{% for k, v in pairs|groupby(0) %}{{ k }}{{ v|length }}{% endfor %}",
    "{{ nums|slice(2)|list }} {{ range(7)|slice(3, 'x')|list }} {{ flag is number }} {{ n is iterable }}",
    "{{ name|e|upper }} {{ html|upper }} {{ items|join(html) }}", "{{ d.y|string|length }}",
    "{% filter upper %}a <b>{{ name }}</b>{% endfilter %}",
    # tests
    "{{ n is odd }} {{ n is even }} {{ n is divisibleby 7 }} {{ n is divisibleby(2) }} {{ missing is defined }}",
    "{{ name is string }} {{ n is number }} {{ items is iterable }} {{ d is mapping }} {{ f is float }}",
    "{{ n is integer }} {{ flag is true }} {{ none is none }} {{ n is eq 7 }} {{ n is gt 3 }} {{ 'A' is upper }}",
    # macros and call
    "{% macro tag(name, cls='x') %}<{{ name }} class=\"{{ cls }}\">{% endmacro %}{{ tag('p') }}{{ tag('a', 'y') }}"
    "{{ tag(name='i', cls='<') }}",
    "{% macro box() %}[{{ caller() }}]{% endmacro %}{% call box() %}inside {{ name }}{% endcall %}",
    "{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}"
    "{% call(v) each(nums) %}<{{ v }}>{% endcall %}",
    "{% macro m(a, b=a * 2) %}{{ a }},{{ b }}{% endmacro %}{{ m(2) }} {{ m(2, 3) }}",
    # whitespace control, comments, raw
    "a  {{- n -}}  b\n  {%- if flag %} c {% endif -%}  \n d", "{# a comment #}x{#- trimmed -#}  y",
    "{% raw %}{{ not rendered }}{% endraw %}", "line1\n{% if flag %}\nline2\n{% endif %}\nline3\n",
    "\n\n{{ n }}\n\n",
    # blocks see the context; only scoped ones see the loop around them
    "{% for i in nums %}{% block b %}[{{ i }}]{% endblock %}{% endfor %}",
    "{% for i in nums %}{% block b scoped %}[{{ i }}]{% endblock %}{% endfor %}",
    "{% set top = 'T' %}{% block b %}{{ top }}{% endblock %}",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> tuple[Templates, jinja2.Environment]:
    root = tmp_path_factory.mktemp("templates")
    (root / "base.html").write_text("<h1>{% block title %}Base{% endblock %}</h1>"
                                    "{% block body %}base body{% endblock %}{% include 'footer.html' %}")
    (root / "footer.html").write_text("<footer>{{ who }}</footer>")
    (root / "child.html").write_text("{% extends 'base.html' %}{% set who = 'child' %}"
                                     "{% block title %}{{ super() }} &gt; Child{% endblock %}"
                                     "{% block body %}{% for i in nums %}{{ i }}{% endfor %}{% endblock %}")
    (root / "grandchild.html").write_text("{% extends 'child.html' %}{% block title %}[{{ super() }}]"
                                          "{% endblock %}")
    (root / "row.html").write_text("<li>{{ item }}</li>")
    (root / "forms.html").write_text("{% macro field(name, value='') %}<input name=\"{{ name }}\" value=\"{{ value }}\">"
                                     "{% endmacro %}{% set greeting = 'hi' %}{% macro pair(a) %}[{{ a }}|{{ caller() }}]"
                                     "{% endmacro %}ignored output")
    (root / "imports.html").write_text("{% import 'forms.html' as forms %}{% from 'forms.html' import field as f, "
                                       "greeting, pair %}{{ forms.field('q', '<x>') }}{{ f('n') }}{{ greeting }}"
                                       "{{ forms.greeting }}{% call pair(1) %}body{% endcall %}{{ forms.missing }}")
    (root / "list.html").write_text("<ul>{% for item in items %}{% include 'row.html' %}{% endfor %}</ul>"
                                    "{% include 'nope.html' ignore missing %}")
    return Templates(root), jinja2.Environment(loader=jinja2.FileSystemLoader(str(root)), autoescape=True)


def jinja_render(env: jinja2.Environment, template: str | Path) -> tuple[str, str]:
    try:
        loaded = env.get_template(str(template)) if isinstance(template, Path) else env.from_string(template)
        return "ok", loaded.render(CONTEXT)
    except Exception as exc:  # noqa: BLE001 - the kind of failure is what is compared
        return "error", type(exc).__name__


def heron_render(templates: Templates, template: str | Path) -> tuple[str, str]:
    try:
        loaded = templates.get_template(str(template)) if isinstance(template, Path) else \
            templates.from_string(template)
        return "ok", loaded.render(**CONTEXT)
    except Exception as exc:  # noqa: BLE001
        return "error", type(exc).__name__


@pytest.mark.parametrize("template", CASES)
def test_the_same_output_as_jinja2(engines: tuple[Templates, jinja2.Environment], template: str) -> None:
    heron, jinja = engines
    expected = jinja_render(jinja, template)
    assert expected[0] == "ok", f"the case itself fails in Jinja2: {expected}"
    assert heron_render(heron, template) == expected


@pytest.mark.parametrize("name", ["child.html", "grandchild.html", "list.html", "base.html", "imports.html"])
def test_inheritance_and_includes_render_as_in_jinja2(engines: tuple[Templates, jinja2.Environment],
                                                      name: str) -> None:
    heron, jinja = engines
    assert heron_render(heron, Path(name)) == jinja_render(jinja, Path(name))


def test_streaming_gives_the_same_text(engines: tuple[Templates, jinja2.Environment]) -> None:
    heron, _ = engines
    for name in ("child.html", "grandchild.html", "list.html"):
        pieces = list(heron.stream(name, **CONTEXT))
        assert len(pieces) > 1 and "".join(pieces) == heron.render(name, **CONTEXT)


# -- generated expressions ----------------------------------------------------------------

ATOMS = st.sampled_from(["0", "1", "2", "-3", "2.5", "'a'", "'<b>'", "\"x y\"", "n", "f", "name", "nums", "items",
                         "none", "true", "false", "missing", "d.x", "d['y']", "nums[0]", "[1, 2]", "(1, 'a')",
                         "{'k': 1}", "users[0].name"])
BINARY = ["+", "-", "*", "/", "//", "%", "~", "==", "!=", "<", ">=", "and", "or", "in", "not in"]
FILTERS = ["upper", "lower", "length", "first", "last", "string", "default('d')", "join(',')", "list", "trim",
           "abs", "int", "float", "reverse|list", "sort|list", "e", "title", "capitalize", "round", "tojson"]
TESTS = ["defined", "none", "odd", "even", "string", "number", "iterable", "sequence", "mapping", "integer"]


def expressions() -> st.SearchStrategy[str]:
    return st.recursive(ATOMS, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(BINARY), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, st.sampled_from(FILTERS)).map(lambda t: f"({t[0]})|{t[1]}"),
        st.tuples(inner, st.sampled_from(TESTS), st.booleans()).map(
            lambda t: f"({t[0]} is {'not ' if t[2] else ''}{t[1]})"),
        inner.map(lambda e: f"(not {e})"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
    ), max_leaves=6)


@settings(max_examples=400, deadline=None)
@given(expressions())
def test_generated_expressions_print_what_jinja2_prints(engines: tuple[Templates, jinja2.Environment],
                                                        expression: str) -> None:
    heron, jinja = engines
    template = "{{ " + expression + " }}"
    expected = jinja_render(jinja, template)
    got = heron_render(heron, template)
    if expected[0] == "error" or got[0] == "error":  # both must fail (the exception classes differ by design)
        assert got[0] == expected[0], (template, got, expected)
    else:
        assert got == expected, template
