#!/usr/bin/env python3
"""Template rendering in-process: heron's engine beside Jinja2 and Bottle's SimpleTemplate, and the floor.

    python3 bench/templates.py                 # writes bench/RESULTS-templates.md
    python3 bench/templates.py --rounds 3 --no-md

Issue 17's targets: at least Jinja2's speed on both pages, within 1.5x of the floor on
bigtable. Runs in the bench venv (``bench/setup.sh``), where Jinja2 has markupsafe's C
escaping and Bottle is pinned; heron is this repository's ``heron/``.

- bigtable: the classic: a 1,000-row by 10-column table of small values, every value
  printed through HTML escaping.
- page: a page that extends a base layout (blocks, ``super()``), includes a partial, and
  loops over 100 articles with filters (``title``, ``truncate``, ``default``, ``join``,
  ``length``) and a conditional per row.
- the floor: bigtable written by hand in Python, appending to a list, each value made text
  with ``str`` and escaped with the same ``str.replace`` chain heron uses unless it is an
  int (which needs none): what a careful person would write.

Every engine's output is checked against Jinja2's before anything is timed: the same bytes
(Bottle's page: the same once white space between tags is ignored; its syntax lays lines
out differently). Each
render is timed best of ``--repeat``, rounds interleaved, medians reported; compile time
is one template set compiled from source, best of ``--repeat``.
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
STATE = os.environ.get("BENCH_STATE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "heron-bench")
VPY = os.path.join(STATE, "venv", "bin", "python")
PINS = ("jinja2==3.1.6", "markupsafe==3.0.4", "bottle==0.13.4")
DEFAULT_MD = os.path.join(BENCH, "RESULTS-templates.md")

TABLE = [dict(a=1, b=2, c=3, d=4, e=5, f=6, g=7, h=8, i=9, j=10) for _ in range(1000)]
ARTICLES = [{"title": f"article number {i} about <things> & stuff", "author": None if i % 7 == 0 else f"author {i}",
             "tags": ["python", "web", "templates"][: i % 3 + 1],
             "body": "Lorem ipsum dolor sit amet, consectetur adipiscing elit " * 4, "published": i % 2 == 0}
            for i in range(100)]

JINJA = {
    "bigtable.html": "<table>\n{% for row in table %}<tr>{% for col in row.values() %}<td>{{ col }}</td>"
                     "{% endfor %}</tr>\n{% endfor %}</table>",
    "base.html": "<!doctype html>\n<html><head><title>{% block title %}Site{% endblock %}</title></head>\n"
                 "<body>{% include 'nav.html' %}\n<main>{% block content %}{% endblock %}</main>\n"
                 "<footer>{{ footer }}</footer></body></html>",
    "nav.html": "<nav>{% for href, label in nav %}<a href=\"{{ href }}\">{{ label }}</a>{% endfor %}</nav>",
    "page.html": "{% extends 'base.html' %}\n{% block title %}{{ heading|title }} - {{ super() }}{% endblock %}\n"
                 "{% block content %}\n<h1>{{ heading|title }}</h1>\n"
                 "{% for a in articles %}\n<article class=\"{{ 'odd' if loop.index is odd else 'even' }}\">\n"
                 "<h2>{{ a.title|title }}</h2><p class=\"by\">{{ a.author|default('anonymous', true) }}</p>\n"
                 "<p>{{ a.body|truncate(80) }}</p><p>{{ a.tags|join(', ') }} ({{ a.tags|length }})</p>\n"
                 "{% if a.published %}<b>published</b>{% else %}<i>draft</i>{% endif %}\n</article>\n"
                 "{% endfor %}\n{% endblock %}",
}
BOTTLE = {
    "bigtable": "<table>\n% for row in table:\n<tr>\\\\\n% for col in row.values():\n<td>{{col}}</td>\\\\\n"
                "% end\n</tr>\n% end\n</table>",
    "base": "<!doctype html>\n<html><head><title>{{title}}</title></head>\n<body>\\\\\n% include('nav')\n"
            "<main>{{!base}}</main>\n<footer>{{footer}}</footer></body></html>",
    "nav": "<nav>\\\\\n% for href, label in nav:\n<a href=\"{{href}}\">{{label}}</a>\\\\\n% end\n</nav>",
    "page": "% rebase('base', title=heading.title() + ' - Site', footer=footer, nav=nav)\n"
            "<h1>{{heading.title()}}</h1>\n% for i, a in enumerate(articles, 1):\n"
            "<article class=\"{{'odd' if i % 2 else 'even'}}\">\n<h2>{{a['title'].title()}}</h2>"
            "<p class=\"by\">{{a['author'] or 'anonymous'}}</p>\n<p>{{truncate(a['body'], 80)}}</p>"
            "<p>{{', '.join(a['tags'])}} ({{len(a['tags'])}})</p>\n"
            "% if a['published']:\n<b>published</b>\n% else:\n<i>draft</i>\n% end\n</article>\n% end\n",
}
CONTEXT = {"table": TABLE, "articles": ARTICLES, "heading": "the daily <page>", "footer": "© heron & co",
           "nav": [("/", "Home"), ("/about", "About <us>"), ("/blog", "Blog")]}


def escape(text):
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("'", "&#39;").replace('"', "&#34;"))


def floor_bigtable(table):
    out = []
    write = out.append
    write("<table>\n")
    for row in table:
        write("<tr>")
        for col in row.values():  # an int needs no escaping; anything else does
            write("<td>" + (str(col) if type(col) is int else escape(str(col))) + "</td>")
        write("</tr>\n")
    write("</table>")
    return "".join(out)


def engines(directory):
    """name -> (compile(), {page: render()}) for every engine, over templates written to directory."""
    import bottle
    import jinja2

    from heron.web.templates import Templates

    for name, text in JINJA.items():
        with open(os.path.join(directory, name), "w") as f:
            f.write(text)

    def heron_compile():
        templates = Templates(directory)
        return templates, [templates.get_template(n) for n in ("bigtable.html", "page.html", "base.html",
                                                                   "nav.html")]

    def jinja_compile():
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(directory), autoescape=True)
        return env, [env.get_template(n) for n in ("bigtable.html", "page.html", "base.html", "nav.html")]

    def truncate(text, length):
        return text if len(text) <= length + 5 else text[:length - 3].rsplit(" ", 1)[0] + "..."

    def bottle_compile():
        lookup = {name: bottle.SimpleTemplate(source=text, name=name) for name, text in BOTTLE.items()}
        for template in lookup.values():
            template.cache = lookup  # include() and rebase() find each other here, not on disk
            template.co  # noqa: B018 - compiles now
        return lookup, list(lookup.values())

    heron_t, _ = heron_compile()
    jinja_env, _ = jinja_compile()
    bottle_t, _ = bottle_compile()
    return {
        "heron": (heron_compile, {"bigtable": lambda: heron_t.render("bigtable.html", table=TABLE),
                                  "page": lambda: heron_t.render("page.html", **CONTEXT)}),
        "jinja2": (jinja_compile, {"bigtable": lambda: jinja_env.get_template("bigtable.html").render(table=TABLE),
                                   "page": lambda: jinja_env.get_template("page.html").render(CONTEXT)}),
        "bottle": (bottle_compile, {"bigtable": lambda: bottle_t["bigtable"].render(table=TABLE),
                                    "page": lambda: bottle_t["page"].render(truncate=truncate, **CONTEXT)}),
        "floor": (None, {"bigtable": lambda: floor_bigtable(TABLE)}),
    }


def check(all_engines):
    """The engines must agree before they are timed."""
    outputs = {name: {page: render() for page, render in renders.items()} for name, (_, renders) in
               all_engines.items()}
    want = outputs["jinja2"]["bigtable"]
    for name, out in outputs.items():
        if out["bigtable"] != want:
            raise SystemExit(f"{name}'s bigtable differs from Jinja2's")
    if outputs["heron"]["page"] != outputs["jinja2"]["page"]:
        raise SystemExit("heron's page differs from Jinja2's")
    if _squeezed(outputs["bottle"]["page"]) != _squeezed(outputs["jinja2"]["page"]):
        raise SystemExit("bottle's page differs from Jinja2's (white space between tags aside)")


def _squeezed(html):
    return re.sub(r">\s+<", "><", html.strip())


def best(function, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def measure(args):
    sys.path.insert(0, REPO)
    directory = tempfile.mkdtemp(prefix="heron-bench-templates-")
    try:
        all_engines = engines(directory)
        check(all_engines)
        runs = []
        for _ in range(args.rounds):
            for name, (compile_, renders) in all_engines.items():
                record = {"engine": name}
                for page, render in renders.items():
                    render()
                    record[page] = best(render, args.repeat)
                if compile_ is not None:
                    record["compile"] = best(compile_, args.repeat)
                runs.append(record)
        return runs
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def median(runs, engine, key):
    values = [r[key] for r in runs if r["engine"] == engine and key in r]
    return statistics.median(values) if values else None


def markdown(args, runs):
    rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    import importlib.metadata as metadata
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("jinja2", "markupsafe", "bottle"))
    m = {(e, k): median(runs, e, k) for e in ("heron", "jinja2", "bottle", "floor")
         for k in ("bigtable", "page", "compile")}
    lines = ["# Templates: heron beside Jinja2 and Bottle's SimpleTemplate", "",
             f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
             f"- machine: {platform.machine()}, Python {platform.python_version()}", f"- heron: git {rev}",
             f"- anchors: {versions} (markupsafe's C speedups)",
             f"- command: `python3 bench/templates.py {' '.join(sys.argv[1:])}`",
             f"- in-process, one core; medians over {args.rounds} interleaved rounds of the best of {args.repeat}",
             "", "## Targets (issue 17)", "", "| figure | value | target | |", "|---|---:|---:|---|"]
    for page in ("bigtable", "page"):
        ratio = m[("jinja2", page)] / m[("heron", page)]
        lines.append(f"| {page}: Jinja2's time ÷ heron's | {ratio:.2f}x | ≥ 1.0x | {'✓ met' if ratio >= 1 else '✗ not met'} |")
    floor = m[("heron", "bigtable")] / m[("floor", "bigtable")]
    lines.append(f"| bigtable: heron's time ÷ the floor's | {floor:.2f}x | ≤ 1.5x | {'✓ met' if floor <= 1.5 else '✗ not met'} |")
    lines += ["", "## Times (ms)", "", "| engine | bigtable | page | compile (4 templates) |", "|---|---:|---:|---:|"]
    for engine in ("heron", "jinja2", "bottle", "floor"):
        cells = [f"{m[(engine, k)] * 1e3:.2f}" if m[(engine, k)] is not None else "–"
                 for k in ("bigtable", "page", "compile")]
        lines.append(f"| {engine} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--no-md", action="store_true")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not args.inner:  # run in the bench venv, where the anchors are installed and pinned
        missing = not os.access(VPY, os.X_OK) or subprocess.run(
            [VPY, "-c", "import jinja2, bottle, markupsafe._speedups"], capture_output=True).returncode
        if missing:
            subprocess.run([VPY, "-m", "pip", "install", "-q", *PINS], check=True)
        return subprocess.run([VPY, os.path.abspath(__file__), "--inner", *sys.argv[1:]]).returncode
    os.sched_setaffinity(0, {0})
    runs = measure(args)
    text = markdown(args, runs)
    print(text)
    if not args.no_md:
        with open(DEFAULT_MD, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
