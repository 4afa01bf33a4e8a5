"""Issue 5's and issue 19's performance targets, and the "Targets" tables that check one
bench/run.py run against them.

A target is one row of a table; it holds one or more checks and is met when all of
them are. A check is a figure from the run (a ratio of two servers' req/s, or a median
from the startup and idle measurements) compared with a limit. A ratio is taken round by
round, each round's req/s of one server over the same round's of the other, and judged
by its median over the rounds; the range is shown beside it. The tables are the top of
the report and, with the run's date, machine and command, the summary for the project
README (bench/results/<stamp>-readme.md).
"""
import statistics
from typing import Callable, NamedTuple, Optional, Sequence, Union

PURE_PYTHON = ("uvicorn-h11", "waitress", "hypercorn", "stdlib-threading")
# Single rounds of the same pair differ by up to 2x on the shared machine (issue 19), so a
# ratio over fewer rounds than this is shown but not judged.
MIN_ROUNDS = 5


class Spread(NamedTuple):
    """A ratio over rounds: the median, the lowest and highest round, how many rounds."""
    median: float
    lo: float
    hi: float
    n: int


def per_round(ca: dict, cb: dict) -> Optional[Spread]:
    """ca's req/s ÷ cb's in each round both passed (cells of run.summarize, whose "by_round"
    maps round -> req/s). Per round rather than median over median: both servers of one
    round ran minutes apart at most, so drifts of the machine between rounds cancel out.
    None if no round has both."""
    ra, rb = ca["by_round"], cb["by_round"]
    xs = sorted(ra[k] / rb[k] for k in ra if k in rb)
    return Spread(statistics.median(xs), xs[0], xs[-1], len(xs)) if xs else None


def fmt_spread(s: Spread, unit: str = "") -> str:
    """'1.44× [0.83–1.98]': the median, then the range over rounds."""
    return "%.2f%s [%.2f–%.2f]" % (s.median, unit, s.lo, s.hi)


class Check(NamedTuple):
    label: str  # what the figure is, e.g. "heron ÷ uvicorn-h11"
    # (cells, extras) -> the figure; None: not made in this run; "fail": heron's part failed
    value: Callable[[dict, dict], Union[float, Spread, str, None]]
    limit: float
    at_least: bool  # True: passes when value >= limit; False: when value < limit
    unit: str = "×"


def ratio(a, scenario, b, limit, b_scenario=None, label=None):
    """a's req/s in scenario ÷ b's req/s in b_scenario (default: the same scenario), per
    round. cells is run.summarize(): (server, scenario) -> figures, or absent if not run."""
    b_scenario = b_scenario or scenario

    def value(cells, extras):
        ca, cb = cells.get((a, scenario)), cells.get((b, b_scenario))
        if ca and not ca["good"]:
            return "fail"
        if ca and cb and cb["good"]:
            return per_round(ca, cb)
        return None

    label = label or ("%s ÷ %s" % (a, b) if b_scenario == scenario
                      else "%s %s ÷ %s %s" % (a, scenario, b, b_scenario))
    return Check(label, value, limit, True)


def across(a: str, b: str, limit: float, scenarios: Sequence[str]) -> list:
    """The same ratio and limit in each of several scenarios, labelled by scenario."""
    return [ratio(a, x, b, limit, label="%s: %s ÷ %s" % (x, a, b)) for x in scenarios]


def extra(key, label, limit, at_least, unit):
    """A median from the startup or idle measurement (run.summarize_extras), or "fail"."""
    return Check(label, lambda cells, extras: extras.get(key), limit, at_least, unit)


ISSUE_5 = (
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

# Issue 19: ahead of waitress everywhere, ahead of the C-parser server on uvloop, level
# with granian (Rust), and half of the floor (bench/apps/floor_server.py: an asyncio
# protocol that only finds the end of each head and writes fixed bytes).
ISSUE_19 = (
    ("heron hosting the WSGI app ÷ waitress (the same app file): plaintext, `Connection: "
     "close` and POST 4 KiB echo, 1.5× each",
     across("heron-wsgi", "waitress", 1.5, ("plaintext", "plaintext-close", "echo-4k"))),
    ("heron on asyncio ÷ waitress, `Connection: close`: 2×",
     [ratio("heron", "plaintext-close", "waitress", 2.0)]),
    ("heron on uvloop ÷ uvicorn with httptools and uvloop: plaintext, `Connection: close` "
     "and echo, 1.2× each",
     across("heron-uvloop", "uvicorn-httptools-uvloop", 1.2,
            ("plaintext", "plaintext-close", "echo-4k"))),
    ("heron on uvloop ÷ granian (Rust) hosting the WSGI app: plaintext and `Connection: "
     "close`, 1× each",
     across("heron-uvloop", "granian-wsgi", 1.0, ("plaintext", "plaintext-close"))),
    ("heron on asyncio ÷ the floor on asyncio: plaintext 0.5×, echo 0.45×",
     across("heron", "floor-asyncio", 0.5, ("plaintext",))
     + across("heron", "floor-asyncio", 0.45, ("echo-4k",))),
    ("static 64 KiB file, heron on uvloop ÷ nginx: 0.8×",
     [ratio("heron-uvloop", "static-64k", "nginx", 0.8)]),
)

# A suite's "targets" names these sets, a table for each.
TARGETS = {"5": ISSUE_5, "19": ISSUE_19}


def _fmt(x, unit):
    return ("%.2f" % x if unit in ("×", "") else "%.1f" % x) + unit


def _judge(c: Check, v: Union[float, Spread, str, None]) -> tuple:
    """(verdict, text) of one check. The verdict is True or False; None where the run did
    not make the figure; "few" for a ratio over fewer than MIN_ROUNDS rounds."""
    if v is None:
        return None, "–"
    if v == "fail":
        return False, "fail"
    if not isinstance(v, Spread):
        return (v >= c.limit if c.at_least else v < c.limit), _fmt(v, c.unit)
    if v.n < MIN_ROUNDS:
        return "few", "%s over %d round%s: too few to judge" % (
            fmt_spread(v, c.unit), v.n, "" if v.n == 1 else "s")
    return (v.median >= c.limit if c.at_least else v.median < c.limit), fmt_spread(v, c.unit)


def rows(cells: dict, extras: dict, which: str) -> list:
    """[(target, measured, threshold, result)] as markdown cell texts, one per target of
    the set `which` (a key of TARGETS)."""
    out = []
    for target, checks in TARGETS[which]:
        measured, limits, verdicts = [], [], []
        for c in checks:
            ok, text = _judge(c, c.value(cells, extras))
            verdicts.append(ok)
            measured.append("%s: %s%s" % (c.label, text, {True: " ✓", False: " ✗"}.get(ok, "")))
            limits.append("%s %s" % ("≥" if c.at_least else "<", _fmt(c.limit, c.unit)))
        if False in verdicts:
            result = "**not met**"
        elif set(verdicts) == {None}:
            result = "not measured"
        elif "few" in verdicts:
            result = "too few rounds (< %d)" % MIN_ROUNDS
        elif None in verdicts:
            result = "incomplete"
        else:
            result = "met"
        out.append((target, "<br>".join(measured), "<br>".join(limits), result))
    return out


def table(cells: dict, extras: dict, which: str) -> list:
    """The Targets table of the set `which`, markdown lines."""
    lines = ["| target | measured | threshold | result |", "|---|---|---|---|"]
    lines += ["| %s |" % " | ".join(r) for r in rows(cells, extras, which)]
    return lines
