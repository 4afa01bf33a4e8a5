"""Issue 5's performance targets, and the "Targets" table that checks one bench/run.py run
against them.

A target is one row of the table; it holds one or more checks and is met when all of
them are. A check is a figure from the run (a ratio of two req/s medians, or a median
from the startup and idle measurements) compared with a limit. The table is the top of
the report and, with the run's date, machine and command, the summary for the project
README (bench/results/<stamp>-readme.md).
"""
from typing import Callable, NamedTuple, Union

PURE_PYTHON = ("uvicorn-h11", "waitress", "hypercorn", "stdlib-threading")


class Check(NamedTuple):
    label: str  # what the figure is, e.g. "heron ÷ uvicorn-h11"
    # (cells, extras) -> the figure; None: not made in this run; "fail": heron's part failed
    value: Callable[[dict, dict], Union[float, str, None]]
    limit: float
    at_least: bool  # True: passes when value >= limit; False: when value < limit
    unit: str = "×"


def ratio(a, scenario, b, limit, b_scenario=None, label=None):
    """a's req/s in scenario ÷ b's req/s in b_scenario (default: the same scenario).
    cells is run.summarize(): (server, scenario) -> medians, or absent if not run."""
    b_scenario = b_scenario or scenario

    def value(cells, extras):
        ca, cb = cells.get((a, scenario)), cells.get((b, b_scenario))
        if ca and not ca["good"]:
            return "fail"
        if ca and cb and cb["good"]:
            return ca["rps"] / cb["rps"]
        return None

    label = label or ("%s ÷ %s" % (a, b) if b_scenario == scenario
                      else "%s %s ÷ %s %s" % (a, scenario, b, b_scenario))
    return Check(label, value, limit, True)


def extra(key, label, limit, at_least, unit):
    """A median from the startup or idle measurement (run.summarize_extras), or "fail"."""
    return Check(label, lambda cells, extras: extras.get(key), limit, at_least, unit)


TARGETS = (
    ("plaintext keep-alive, `async def` handler, asyncio loop: 2.5× uvicorn-h11, ahead of "
     "every other pure-Python server",
     [ratio("heron", "plaintext", "uvicorn-h11", 2.5)]
     + [ratio("heron", "plaintext", s, 1.0) for s in PURE_PYTHON if s != "uvicorn-h11"]),
    ("the same on uvloop: 1.0× uvicorn-httptools-uvloop",
     [ratio("heron-uvloop", "plaintext", "uvicorn-httptools-uvloop", 1.0)]),
    ("plaintext with `Connection: close`: 1.5× waitress (asyncio), 1.0× "
     "uvicorn-httptools-uvloop (uvloop)",
     [ratio("heron", "plaintext-close", "waitress", 1.5),
      ratio("heron-uvloop", "plaintext-close", "uvicorn-httptools-uvloop", 1.0)]),
    ("JSON and /user/{name} through the router: within 10% of heron's plaintext",
     [ratio("heron", "json", "heron", 0.9, "plaintext"),
      ratio("heron", "user", "heron", 0.9, "plaintext")]),
    ("POST 4 KiB echo: 2.5× uvicorn-h11",
     [ratio("heron", "echo-4k", "uvicorn-h11", 2.5)]),
    ("the same WSGI app hosted (plaintext): 1.3× waitress, 2× gunicorn-gthread",
     [ratio("heron-wsgi", "plaintext", "waitress", 1.3),
      ratio("heron-wsgi", "plaintext", "gunicorn-gthread", 2.0)]),
    ("static 64 KiB and 1 MiB files (`StaticFiles`): 0.5× and 0.9× nginx",
     [ratio("heron", "static-64k", "nginx", 0.5, label="64 KiB: heron ÷ nginx"),
      ratio("heron", "static-1m", "nginx", 0.9, label="1 MiB: heron ÷ nginx")]),
    ("10,000 idle keep-alive connections on one process: under 40 MiB above idle RSS, "
     "80% of the unloaded rate",
     [extra("idle_rss_delta_mib", "RSS above idle", 40.0, False, " MiB"),
      extra("idle_rate_ratio", "loaded ÷ unloaded req/s", 0.8, True, "")]),
    ("`python3 -m heron` from start to the first answered request: under 150 ms",
     [extra("startup_ms", "median", 150.0, False, " ms")]),
)


def _fmt(x, unit):
    return ("%.2f" % x if unit in ("×", "") else "%.1f" % x) + unit


def rows(cells, extras):
    """[(target, measured, threshold, result)] as markdown cell texts, one per target."""
    out = []
    for target, checks in TARGETS:
        measured, limits, verdicts = [], [], []
        for c in checks:
            v = c.value(cells, extras)
            if v is None or v == "fail":
                ok, text = (None, "–") if v is None else (False, "fail")
            else:
                ok, text = (v >= c.limit if c.at_least else v < c.limit), _fmt(v, c.unit)
            verdicts.append(ok)
            measured.append("%s: %s%s" % (c.label, text, {True: " ✓", False: " ✗", None: ""}[ok]))
            limits.append("%s %s" % ("≥" if c.at_least else "<", _fmt(c.limit, c.unit)))
        if False in verdicts:
            result = "**not met**"
        elif None in verdicts:
            result = "not measured" if set(verdicts) == {None} else "incomplete"
        else:
            result = "met"
        out.append((target, "<br>".join(measured), "<br>".join(limits), result))
    return out


def table(cells, extras):
    """The Targets table, markdown lines."""
    lines = ["| target | measured | threshold | result |", "|---|---|---|---|"]
    lines += ["| %s |" % " | ".join(r) for r in rows(cells, extras)]
    return lines
