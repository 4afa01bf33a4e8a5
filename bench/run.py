#!/usr/bin/env python3
"""heron side by side with other Python HTTP servers (wrk-driven, loopback only).

The one command, from the repo root:

    python3 bench/run.py --md bench/RESULTS.md

For each round, scenario and server: wait (bounded) for other jobs on the
machine to go idle, start a fresh server pinned to CPU 1 (`taskset -c 1`) on a
free 127.0.0.1 port, wait until it answers, check the response once (status
200 and the exact body), warm up with wrk, run
`taskset -c 0 wrk -t1 -c50 -d5s --latency`, read the server's CPU time
(utime+stime of its process tree) around the measured run, check the response
again, stop the server by its own PID. Rounds are interleaved (round 1 of
every scenario and server, then round 2, ..., each round starting one server
later); the report gives medians of req/s, and ratios of two servers' req/s
taken round by round, as median [min–max].
heron runs from a copy of heron/ and bench/app.py taken when the run starts.

The default suite is issue 5's and issue 19's target sets, 5 rounds: per scenario,
heron and the servers its targets compare it with, among them the floor (an asyncio
protocol that writes fixed bytes: the limit of the loop itself); after each round's
wrk runs, the startup (bench/startup.py) and 10k-idle-connection (bench/idle.py)
measurements; and the Targets tables (bench/targets.py) on top of the report, also
written alone, for the project README, to bench/results/<stamp>-readme.md. The issue19
suite is issue 19's targets alone.

Adapted from the team's shared harness (../shared/bench/run.py): same method,
trimmed to the servers and scenarios heron is compared on, plus heron entries,
CPU microseconds per request, "heron / other" ratios per round and noise detection.
Standard library only; needs wrk and taskset (bench/setup.sh installs them and
the anchor servers; run.py calls it when something is missing).

Command templates may use: {port} {python} {venv} {bench} {apps} {repo}
{heron_src} {static} {tmp} (a fresh per-run temp dir). Only 127.0.0.1 is
ever contacted.
"""
import argparse
import datetime
import hashlib
import http.client
import json
import os
import platform
import pwd
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import targets

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
APPS = os.path.join(BENCH, "apps")
RESULTS = os.path.join(BENCH, "results")  # git-ignored
# Installed anchors and fixtures live outside the repo (see setup.sh).
STATE = os.environ.get("BENCH_STATE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "heron-bench")
VENV = os.environ.get("BENCH_VENV") or os.path.join(STATE, "venv")
VPY = os.path.join(VENV, "bin", "python")
STATIC = os.path.join(STATE, "fixtures", "static")
HOST = "127.0.0.1"  # the only address this harness ever talks to
SERVER_CPU = "1"
CLIENT_CPU = "0"
ECHO_MOD = "/usr/lib/nginx/modules/ngx_http_echo_module.so"
# Anchor packages in the bench venv, in the order the report lists their versions;
# each server entry names the ones it needs ("pkgs"), so a run only requires (and
# reports) what its servers use.
ANCHOR_PACKAGES = ("uvicorn", "h11", "httptools", "uvloop", "waitress", "gunicorn", "hypercorn",
                   "granian")

# --------------------------------------------------------------------------
# Servers. Every Python server runs on the bench venv's interpreter, so all of
# them (heron included) use the same CPython build. heron is not installed:
# it runs from the repo (cwd = repo root, PYTHONPATH = repo root).
# --------------------------------------------------------------------------
# {heron_src} is a snapshot of the repo's heron/ and bench/app.py taken when the run
# starts (see snapshot_heron), so every round measures the same code even while
# heron/ is being edited.
HERON_CMD = "{python} -m heron bench/app.py:app --host 127.0.0.1 --port {port} --no-access-log"
# heron hosting a foreign app: the very files the other servers run ({apps}/wsgi_app.py,
# {apps}/asgi_app.py, read from the repo's bench/apps), with heron from the snapshot.
# heron's defaults otherwise (WSGI calls run in its thread pool: --threads 32).
HOSTED_CMD = ("{python} -m heron {apps}/%s:app --interface %s --host 127.0.0.1 --port {port}"
              " --no-access-log --loop %s")
HERON_ENV = {"PYTHONPATH": "{heron_src}"}
# gunicorn: one worker process, because every server here gets one core (gunicorn's
# docs suggest 2-4 x cores for workers and threads alike). gthread with 4 threads:
# the docs' figure for one core, the same as waitress's 4 and the shared harness's
# setting. heron's pool has 32 threads by default; gunicorn-gthread-32 (optional, not
# in a suite) gives gunicorn the same. In a 3-round check here (2026-11-24, wrk -c50)
# 4 threads served ~24% more plaintext req/s than 32 (7.4k vs 6.0k) and 32 threads ~8%
# more echo-4k (6.5k vs 6.1k). --backlog 1024 as in the shared harness.
GUNICORN = ("{venv}/bin/gunicorn -w 1 -b 127.0.0.1:{port} --backlog 1024 --log-level warning"
            " %s wsgi_app:app")
# hypercorn: one worker process (a supervisor and one spawned worker; the CPU of both
# is counted), h11 for HTTP/1.1.
HYPERCORN = ("{venv}/bin/hypercorn --bind 127.0.0.1:{port} --workers 1 --worker-class %s"
             " --log-level warning --backlog 1024 asgi_app:app")
SERVERS = {
    "heron": dict(
        cmd=HERON_CMD + " --loop asyncio", cwd="{heron_src}", env=HERON_ENV, pkgs=(),
        kind="heron (this repo), asyncio's default selector loop; bench/app.py"),
    "heron-uvloop": dict(
        cmd=HERON_CMD + " --loop uvloop", cwd="{heron_src}", env=HERON_ENV, pkgs=("uvloop",),
        kind="heron (this repo) on uvloop (libuv); bench/app.py"),
    "uvicorn-h11": dict(
        cmd="{venv}/bin/uvicorn --host 127.0.0.1 --port {port} --http h11 --loop asyncio"
            " --no-access-log --log-level warning asgi_app:app", pkgs=("uvicorn", "h11"),
        cwd=APPS, kind="pure Python: h11 parser + asyncio selector loop; raw ASGI app"),
    "uvicorn-httptools-uvloop": dict(
        cmd="{venv}/bin/uvicorn --host 127.0.0.1 --port {port} --http httptools --loop uvloop"
            " --no-access-log --log-level warning asgi_app:app",
        pkgs=("uvicorn", "httptools", "uvloop"),
        cwd=APPS, kind="C-accelerated: httptools (llhttp) + uvloop (libuv); raw ASGI app"),
    "waitress": dict(
        cmd="{venv}/bin/waitress-serve --host 127.0.0.1 --port {port} --threads 4 wsgi_app:app",
        pkgs=("waitress",),
        cwd=APPS, kind="pure Python: waitress (asyncore-style loop + 4 threads); raw WSGI app"),
    "stdlib-threading": dict(
        cmd="{python} stdlib_server.py {port}", pkgs=(),
        cwd=APPS, kind="stdlib http.server ThreadingHTTPServer, HTTP/1.1 keep-alive"),
    # C: an upper bound; the default suite compares heron's StaticFiles with it.
    "nginx": dict(
        cmd="/usr/sbin/nginx -p {tmp} -c {tmp}/nginx.conf", pkgs=(),
        cwd=APPS, render={"nginx.conf.tmpl": "nginx.conf"},
        kind="C: nginx, 1 worker; /echo via the echo module (figures bounded by wrk's one thread)"),
    # The hosting suite (--suite hosting): heron hosting the anchors' own app files.
    "heron-wsgi": dict(
        cmd=HOSTED_CMD % ("wsgi_app.py", "wsgi", "asyncio"), cwd="{heron_src}", env=HERON_ENV,
        pkgs=(), kind="heron (this repo) hosting bench/apps/wsgi_app.py (WSGI adapter, calls in "
                      "heron's thread pool, 32 threads by default), asyncio selector loop"),
    "heron-asgi": dict(
        cmd=HOSTED_CMD % ("asgi_app.py", "asgi", "asyncio"), cwd="{heron_src}", env=HERON_ENV,
        pkgs=(), kind="heron (this repo) hosting bench/apps/asgi_app.py (ASGI adapter), "
                      "asyncio selector loop"),
    "heron-asgi-uvloop": dict(
        cmd=HOSTED_CMD % ("asgi_app.py", "asgi", "uvloop"), cwd="{heron_src}", env=HERON_ENV,
        pkgs=("uvloop",), kind="heron (this repo) hosting bench/apps/asgi_app.py (ASGI adapter) "
                               "on uvloop (libuv)"),
    "gunicorn-gthread": dict(
        cmd=GUNICORN % "-k gthread --threads 4", cwd=APPS, pkgs=("gunicorn",),
        kind="pure Python: gunicorn gthread worker x1, 4 threads; raw WSGI app"),
    "gunicorn-gthread-32": dict(
        cmd=GUNICORN % "-k gthread --threads 32", cwd=APPS, pkgs=("gunicorn",),
        kind="pure Python: gunicorn gthread worker x1, 32 threads (heron's default pool size); "
             "raw WSGI app"),
    "gunicorn-sync": dict(
        cmd=GUNICORN % "-k sync", cwd=APPS, pkgs=("gunicorn",),
        kind="pure Python: gunicorn sync worker x1 (one request per connection: answers "
             "`Connection: close`, so wrk reconnects every time); raw WSGI app"),
    "hypercorn": dict(
        cmd=HYPERCORN % "asyncio", cwd=APPS, pkgs=("hypercorn", "h11"),
        kind="pure Python: hypercorn (h11) on the asyncio selector loop, 1 worker; raw ASGI app"),
    "hypercorn-uvloop": dict(
        cmd=HYPERCORN % "uvloop", cwd=APPS, pkgs=("hypercorn", "h11", "uvloop"),
        kind="hypercorn (h11, pure Python) on uvloop (libuv), 1 worker; raw ASGI app"),
    # Rust (hyper on tokio) in front of the same WSGI app file waitress runs: one worker,
    # one runtime thread, as the shared harness runs it. Not given static files (granian
    # would serve them from Rust, not through the app).
    "granian-wsgi": dict(
        cmd="{venv}/bin/granian --interface wsgi --host 127.0.0.1 --port {port} --workers 1"
            " --runtime-threads 1 --no-ws --log-level warning wsgi_app:app",
        cwd=APPS, pkgs=("granian",),
        kind="Rust: granian (hyper/tokio), 1 worker, 1 runtime thread; raw WSGI app"),
    # The floor (apps/floor_server.py): finds the end of each request head and writes fixed
    # bytes (the body back for /echo), no parsing and no app. No server on the same loop
    # can beat it, so heron's figure over it is the share of the loop's capacity heron's
    # own work leaves. It answers every GET with /plaintext's bytes: no json, user, static.
    "floor-asyncio": dict(
        cmd="{python} floor_server.py {port} asyncio", cwd=APPS, pkgs=(),
        kind="the floor: an asyncio Protocol that finds each head's end and writes fixed "
             "bytes (no parsing, no app); asyncio's default selector loop"),
    "floor-uvloop": dict(
        cmd="{python} floor_server.py {port} uvloop", cwd=APPS, pkgs=("uvloop",),
        kind="the floor on uvloop (libuv)"),
}

# --------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------
ECHO_SIZE = 4096
ECHO_BODY = (b"0123456789abcdef" * (ECHO_SIZE // 16 + 1))[:ECHO_SIZE]


def _file(name):
    with open(os.path.join(STATIC, name), "rb") as f:
        return f.read()


def _static(name, size):
    """A static file scenario. The headers a file server owes its clients are checked too
    (heron serves it with StaticFiles, nginx with sendfile)."""
    return dict(path="/static/" + name, expect=lambda: _file(name),
                expect_headers={"content-type": "application/octet-stream", "etag": None,
                                "last-modified": None},
                desc="GET a %s file (heron: `App.static`, i.e. StaticFiles), keep-alive" % size)


SCENARIOS = {
    "plaintext": dict(path="/plaintext", expect=lambda: b"Hello, World!",
                      desc="GET /plaintext, keep-alive (13-byte body)"),
    "plaintext-close": dict(path="/plaintext", headers={"Connection": "close"},
                            expect=lambda: b"Hello, World!",
                            desc="GET /plaintext with `Connection: close`: one TCP connection per request"),
    "echo-4k": dict(path="/echo", method="POST", body=ECHO_BODY,
                    headers={"Content-Type": "application/octet-stream"},
                    expect=lambda: ECHO_BODY,
                    desc="POST /echo with a 4096-byte body (Content-Length), echoed back; keep-alive"),
    "json": dict(path="/json", expect=lambda: b'{"message":"Hello, World!"}',
                 desc="GET /json, keep-alive"),
    "user": dict(path="/user/alice", expect=lambda: b"Hello, alice!",
                 desc="GET /user/alice (path parameter), keep-alive"),
    "static-64k": _static("64k.bin", "64 KiB"),
    "static-1m": _static("1m.bin", "1 MiB"),
}

# --------------------------------------------------------------------------
# Suites: what one command runs and which req/s ratios its report gives.
# "plan" maps each scenario to the servers it runs on; a suite without one runs
# its "servers" x "scenarios". "pairs" lists (numerator, denominator) servers; the
# report gives their ratio in every scenario both ran (None, in result files of
# the old default suite: every heron entry against every other server).
# "measurements" run once per round after the wrk runs (bench/startup.py,
# bench/idle.py); "targets" names the sets of bench/targets.py whose tables go on
# top; "rounds" is the default of --rounds.
# --------------------------------------------------------------------------
PLAINTEXT_OTHERS = ["uvicorn-h11", "uvicorn-httptools-uvloop", "waitress", "hypercorn",
                    "stdlib-threading", "gunicorn-gthread"]
# issue 5: each scenario runs only on the servers its targets compare
ISSUE_5_PLAN = {
    "plaintext": ["heron", "heron-uvloop", "uvicorn-h11", "uvicorn-httptools-uvloop",
                  "waitress", "hypercorn", "stdlib-threading", "heron-wsgi", "gunicorn-gthread"],
    "plaintext-close": ["heron", "heron-uvloop", "waitress", "uvicorn-httptools-uvloop"],
    "json": ["heron"],
    "user": ["heron"],
    "echo-4k": ["heron", "uvicorn-h11"],
    "static-64k": ["heron", "nginx"],
    "static-1m": ["heron", "nginx"],
}
ISSUE_5_PAIRS = [("heron", s) for s in PLAINTEXT_OTHERS + ["nginx"]] + [
    ("heron-uvloop", "uvicorn-httptools-uvloop"), ("heron-wsgi", "waitress"),
    ("heron-wsgi", "gunicorn-gthread")]
# issue 19: heron on both loops and hosting the WSGI app, beside waitress, uvicorn with C
# parts, granian and the floor where it answers (not static files), nginx for static
ISSUE_19_CORE = ["heron", "heron-uvloop", "heron-wsgi", "waitress", "uvicorn-httptools-uvloop"]
ISSUE_19_PLAN = {
    "plaintext": ISSUE_19_CORE + ["granian-wsgi", "floor-asyncio", "floor-uvloop"],
    "plaintext-close": ISSUE_19_CORE + ["granian-wsgi", "floor-asyncio", "floor-uvloop"],
    "echo-4k": ISSUE_19_CORE + ["floor-asyncio", "floor-uvloop"],
    "static-64k": ["heron-uvloop", "nginx"],
}
ISSUE_19_PAIRS = [
    ("heron", "waitress"), ("heron", "floor-asyncio"), ("heron-uvloop", "floor-uvloop"),
    ("heron-uvloop", "uvicorn-httptools-uvloop"), ("heron-uvloop", "granian-wsgi"),
    ("heron-uvloop", "nginx"), ("heron-wsgi", "waitress"), ("heron-wsgi", "floor-asyncio")]


def join_plans(*plans: dict) -> dict:
    """One plan running every scenario of the given plans on all their servers for it."""
    out = {}
    for plan in plans:
        for x, ss in plan.items():
            out[x] = list(dict.fromkeys(out.get(x, []) + ss))
    return out


SUITES = {
    "default": dict(
        plan=join_plans(ISSUE_5_PLAN, ISSUE_19_PLAN),
        pairs=list(dict.fromkeys(ISSUE_5_PAIRS + ISSUE_19_PAIRS)),
        measurements=["startup", "idle"], targets=["5", "19"], rounds=5,
        title="heron against issue 5's and issue 19's targets, side by side with other HTTP "
              "servers",
        intro="Each scenario runs on heron and the servers its targets compare it with "
              "(see Targets). heron runs its own App (`bench/app.py`); `heron-wsgi` hosts "
              "the WSGI app file waitress, gunicorn and granian run "
              "(`bench/apps/wsgi_app.py`). The floor (`bench/apps/floor_server.py`) only "
              "finds the end of each request head and writes fixed bytes: heron ÷ floor is "
              "the share of the loop's capacity heron's own work leaves."),
    "issue19": dict(
        plan=ISSUE_19_PLAN, pairs=ISSUE_19_PAIRS, targets=["19"], rounds=5,
        title="heron against issue 19's targets: waitress, uvicorn with C parts, granian, "
              "nginx and the floor",
        intro="heron on asyncio and on uvloop runs its own App (`bench/app.py`); "
              "`heron-wsgi` hosts the WSGI app file waitress and granian run "
              "(`bench/apps/wsgi_app.py`). The floor (`bench/apps/floor_server.py`) only "
              "finds the end of each request head and writes fixed bytes: heron ÷ floor is "
              "the share of the loop's capacity heron's own work leaves."),
    "hosting": dict(
        # issue 4: the same WSGI app on heron, waitress and gunicorn; the same ASGI app on
        # heron, uvicorn and hypercorn. `heron` (its own App, bench/app.py) is a reference
        # for what hosting a foreign app costs.
        servers=["heron-wsgi", "waitress", "gunicorn-gthread", "gunicorn-sync",
                 "heron-asgi", "heron-asgi-uvloop", "uvicorn-h11", "uvicorn-httptools-uvloop",
                 "hypercorn", "hypercorn-uvloop", "heron"],
        scenarios=["plaintext", "json", "user", "echo-4k", "plaintext-close"], rounds=3,
        pairs=[("heron-wsgi", "waitress"), ("heron-wsgi", "gunicorn-gthread"),
               ("heron-wsgi", "gunicorn-sync"),
               ("heron-asgi", "uvicorn-h11"), ("heron-asgi", "hypercorn"),
               ("heron-asgi-uvloop", "uvicorn-httptools-uvloop"),
               ("heron-asgi-uvloop", "hypercorn-uvloop"),
               ("heron-wsgi", "heron"), ("heron-asgi", "heron")],
        title="Hosting WSGI and ASGI apps: heron vs waitress, gunicorn, uvicorn and hypercorn",
        intro="Every server runs the same app file: `bench/apps/wsgi_app.py` (heron-wsgi, "
              "waitress, gunicorn-*) or `bench/apps/asgi_app.py` (heron-asgi*, uvicorn-*, "
              "hypercorn*); `heron` is heron's own App (`bench/app.py`), for the cost of "
              "hosting. heron-wsgi is compared with the WSGI servers (threads, pure Python); "
              "heron-asgi with uvicorn-h11 and hypercorn (pure Python, asyncio selector "
              "loop); heron-asgi-uvloop with uvicorn-httptools-uvloop (C parser, so this "
              "ratio is pure-Python parsing against C llhttp, both on uvloop) and "
              "hypercorn-uvloop."),
}

WRK_LUA_DONE = r'''
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"stdev_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, latency.stdev))
end
'''


def wrk_script(sc, path):
    lines = []
    if sc.get("method", "GET") != "GET":
        lines.append('wrk.method = "%s"' % sc["method"])
    if sc.get("body") is not None:
        lines.append('wrk.body = "%s"' % sc["body"].decode("ascii"))  # plain ASCII, no quoting needed
    for k, v in sc.get("headers", {}).items():
        if k.lower() != "connection":  # passed with wrk -H, see wrk_cmd
            lines.append('wrk.headers["%s"] = "%s"' % (k, v))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n" + WRK_LUA_DONE)


def wrk_cmd(args, sc, port, script, duration):
    cmd = ["taskset", "-c", CLIENT_CPU, "wrk", "-t%d" % args.wrk_threads,
           "-c%d" % args.connections, "-d%ds" % duration, "--timeout", "%ds" % args.timeout,
           "--latency", "-s", script]
    for k, v in sc.get("headers", {}).items():
        if k.lower() == "connection":
            cmd += ["-H", "%s: %s" % (k, v)]
    cmd.append("http://%s:%d%s" % (HOST, port, sc["path"]))
    return cmd


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((HOST, 0))
    p = s.getsockname()[1]
    s.close()
    return p


def request(port, sc, timeout=5.0):
    """One request with http.client; returns (status, headers dict, body) or raises."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(sc.get("method", "GET"), sc["path"], body=sc.get("body"),
                     headers=sc.get("headers", {}))
        r = conn.getresponse()
        body = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        conn.close()


def wait_ready(proc, port, deadline_s):
    """None once the server answers HTTP (or accepts TCP but keeps failing HTTP for 3 s:
    the check then reports why); else the reason it is not up."""
    t_end = time.monotonic() + deadline_s
    accepted_at, last = None, None
    while time.monotonic() < t_end:
        if proc.poll() is not None:
            return "exited with code %s" % proc.returncode
        try:
            with socket.create_connection((HOST, port), timeout=1.0):
                pass
        except OSError as e:
            last = e
            time.sleep(0.1)
            continue
        accepted_at = accepted_at or time.monotonic()
        try:
            request(port, dict(path="/plaintext"), timeout=1.0)
            return None
        except Exception as e:  # noqa: BLE001 - the check below reports it
            last = e
            if time.monotonic() - accepted_at > 3.0:
                return None
            time.sleep(0.1)
    return "did not answer within %.0fs (%r)" % (deadline_s, last)


def check(port, sc):
    """Correctness of one scenario: (None or a reason, response headers)."""
    try:
        status, headers, body = request(port, sc)
    except Exception as e:  # noqa: BLE001
        return "request failed: %s: %s" % (type(e).__name__, e), {}
    if status != 200:
        return "status %d (body %r)" % (status, body[:200]), headers
    want = sc["expect"]()
    if body != want:
        return "body mismatch: got %d bytes (sha256 %s), want %d bytes" % (
            len(body), hashlib.sha256(body).hexdigest()[:12], len(want)), headers
    for k, v in sc.get("expect_headers", {}).items():  # None: must be present
        if k not in headers or v is not None and headers[k] != v:
            return "header %s: got %r, want %s" % (k, headers.get(k), v or "one"), headers
    return None, headers


def proc_tree(root):
    """PIDs of root and all its descendants (from /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
            ppid = int(st[st.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


CLK_TCK = os.sysconf("SC_CLK_TCK")


def tree_cpu_s(root, user_only=False):
    """utime+stime (all threads, incl. exited ones) over root and its descendants, seconds.
    The root is `taskset`, which execs the server, so it is the server's own PID."""
    tot = 0
    for p in proc_tree(root):
        try:
            with open("/proc/%d/stat" % p) as f:
                st = f.read()
            fields = st[st.rindex(")") + 2:].split()
            tot += int(fields[11]) + (0 if user_only else int(fields[12]))  # utime, stime
        except (OSError, ValueError, IndexError):
            pass
    return tot / CLK_TCK


def tree_rss_kb(root, field="VmHWM"):
    """A memory figure summed over root and its descendants, KiB: VmHWM (peak resident
    set, the default) or VmRSS (resident now) from /proc/<pid>/status."""
    tot = 0
    for p in proc_tree(root):
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith(field + ":"):
                        tot += int(line.split()[1])
        except (OSError, ValueError):
            pass
    return tot


def listen_overflows():
    try:
        with open("/proc/net/netstat") as f:
            lines = f.read().splitlines()
        for i in range(0, len(lines) - 1, 2):
            if lines[i].startswith("TcpExt:"):
                d = dict(zip(lines[i].split()[1:], map(int, lines[i + 1].split()[1:])))
                return d.get("ListenOverflows", 0)
    except (OSError, ValueError):
        pass
    return 0


def wait_quiet(max_wait, threshold=0.10):
    """Wait (up to max_wait s) until, over 1 s, the machine's CPUs together are busy
    less than `threshold` of one core (other people's jobs share this machine; the
    harness sleeps meanwhile). Returns (seconds waited, last busy share)."""
    t0 = time.monotonic()
    while True:
        b0, w0 = machine_cpu_s()[1], time.monotonic()
        time.sleep(1.0)
        busy = (machine_cpu_s()[1] - b0) / (time.monotonic() - w0)
        waited = time.monotonic() - t0
        if busy < threshold or waited >= max_wait:
            return round(waited, 1), round(busy, 3)


def standalone(measure, report):
    """Run one extra measurement on its own (bench/idle.py, bench/startup.py): on the
    client CPU, against a temporary heron snapshot; ``measure(src) -> record``,
    ``report(record) -> text``; the exit status says whether it passed."""
    os.sched_setaffinity(0, {int(CLIENT_CPU)})
    snap = tempfile.mkdtemp(prefix="heron-bench-src-")
    try:
        rec = measure(snapshot_heron(snap))
    finally:
        shutil.rmtree(snap, ignore_errors=True)
    print(report(rec))
    return 0 if rec["ok"] else 1


def snapshot_heron(dest):
    """Copy heron/ and bench/app.py from the repo to dest and byte-compile them with the
    bench venv's python (as installing a package does; the environment may forbid
    writing bytecode at import, and startup would then be timed with compiling); returns
    dest."""
    shutil.copytree(os.path.join(REPO, "heron"), os.path.join(dest, "heron"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    os.makedirs(os.path.join(dest, "bench"))
    shutil.copy2(os.path.join(BENCH, "app.py"), os.path.join(dest, "bench", "app.py"))
    subprocess.run([VPY, "-m", "compileall", "-q", dest], check=True, stdout=subprocess.DEVNULL)
    return dest


def heron_fingerprint(root=REPO):
    """Short hash of heron/*.py under root."""
    h = hashlib.sha256()
    for d, dirs, files in sorted(os.walk(os.path.join(root, "heron"))):
        dirs.sort()
        for fn in sorted(files):
            if fn.endswith(".py"):
                p = os.path.join(d, fn)
                h.update(os.path.relpath(p, root).encode())
                try:
                    with open(p, "rb") as f:
                        h.update(f.read())
                except OSError:
                    pass
    return h.hexdigest()[:10]


NOISE_RE = re.compile(r"^(ConnectionResetError|BrokenPipeError|ConnectionAbortedError)\b")


def log_errors(tail):
    """Exception lines in a server log, minus the peer-reset noise some servers print
    when wrk stops (e.g. http.server's ConnectionResetError tracebacks)."""
    out = []
    for line in tail.splitlines():
        line = line.strip()
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception)\b", line) and not NOISE_RE.match(line):
            out.append(line)
    return out


def machine_cpu_s():
    """(user+nice, user+nice+system) seconds of all CPUs so far, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:4]]
    return (v[0] + v[1]) / CLK_TCK, sum(v) / CLK_TCK


def children_cpu_s(user_only=False):
    import resource
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + (0 if user_only else ru.ru_stime)


def own_user_s():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_utime


def start_server(spec, heron_src, tmp, port, log, wrapper=()):
    """Start a server entry on port, pinned to SERVER_CPU, output to the file log; returns
    (Popen, argv). Its config templates are rendered into tmp. It leads a new session, so
    stop_server can end whatever it spawned. ``wrapper``: a command the server runs under
    (bench/instructions.py: valgrind)."""
    values = dict(port=port, python=VPY, venv=VENV, bench=BENCH, apps=APPS, repo=REPO,
                  static=STATIC, tmp=tmp, heron_src=heron_src)
    for src, dst in spec.get("render", {}).items():
        rv = dict(values, static_root=STATIC, user=pwd.getpwuid(os.getuid()).pw_name,
                  **nginx_values())
        with open(os.path.join(APPS, src)) as f:
            text = fill(f.read(), rv)
        with open(os.path.join(tmp, dst), "w") as f:
            f.write(text)
    argv = ["taskset", "-c", SERVER_CPU, *wrapper] + shlex.split(fill(spec["cmd"], values))
    env = dict(os.environ, BENCH_STATIC_DIR=STATIC)
    env.update({k: fill(v, values) for k, v in spec.get("env", {}).items()})
    env.pop("PYTHONUNBUFFERED", None)
    proc = subprocess.Popen(argv, cwd=fill(spec.get("cwd", APPS), values), env=env,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    return proc, argv


def end_server(proc, log, tmp, rec):
    """Stop a standalone bench's server, keep the tail of its log in ``rec``, remove its scratch directory."""
    stop_server(proc)
    log.seek(0)
    rec["log_tail"] = log.read()[-1500:]
    log.close()
    shutil.rmtree(tmp, ignore_errors=True)


def stop_server(proc, grace=5.0):
    """Stop the server we started, by its PID; then its process group (pgid == its pid)."""
    pid = proc.pid
    if proc.poll() is None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    try:  # leftovers in the group this server leads
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(2)
    except subprocess.TimeoutExpired:
        pass


def with_extras(ap, extras):
    """SERVERS and the --extra NAME=CMD servers (run from the repo; ``ap.error`` for a malformed one)."""
    servers = dict(SERVERS)
    for e in extras:
        name, _, cmd = e.partition("=")
        if not name or not cmd:
            ap.error("--extra wants NAME=CMD")
        servers[name] = dict(cmd=cmd, cwd=REPO, kind="extra (--extra)")
    return servers


def fill(template, values):
    for k, v in values.items():
        template = template.replace("{%s}" % k, str(v))
    return template


def nginx_values():
    if os.path.exists(ECHO_MOD):
        return dict(
            echo_load="load_module %s;" % ECHO_MOD,
            echo_block=("        location = /echo {\n"
                        "            client_body_buffer_size 64k;\n"
                        "            client_max_body_size 1m;\n"
                        "            default_type application/octet-stream;\n"
                        "            echo_read_request_body;\n"
                        "            echo -n $request_body;\n"
                        "        }"))
    return dict(echo_load="# echo module absent", echo_block="")


def parse_wrk(out):
    res = {}
    m = re.search(r"^BENCHJSON (\{.*\})$", out, re.M)
    if m:
        res.update(json.loads(m.group(1)))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    if res.get("duration_us"):
        res["rps"] = res["requests"] / (res["duration_us"] / 1e6)
    return res


# --------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------
def settle(args, rec):
    """Wait (bounded by --quiet-wait and what is left of --quiet-budget) for other jobs on
    the machine to go idle; note the wait and the load average in rec."""
    wait = min(args.quiet_wait, args.quiet_budget_left)
    if wait > 0:
        rec["quiet_waited_s"], rec["busy_before"] = wait_quiet(wait)
        args.quiet_budget_left -= rec["quiet_waited_s"]
    rec["loadavg_1m"] = round(os.getloadavg()[0], 2)


def measure(args, name, rnd):
    """One of the suite's measurements (bench/startup.py, bench/idle.py): its record and a
    one-line summary."""
    import idle  # noqa: PLC0415  (they import this file, as `run`, for its helpers)
    import startup  # noqa: PLC0415
    rec = dict(measurement=name, round=rnd)
    settle(args, rec)
    if name == "startup":
        rec.update(startup.measure(args.heron_src))
        return rec, startup.summary(rec)
    rec.update(idle.measure(args, args.heron_src))
    return rec, idle.verdict(rec)


def run_one(args, name, spec, scname, sc, rnd):
    rec = dict(server=name, scenario=scname, round=rnd, ok=False, reason=None)
    settle(args, rec)
    tmp = tempfile.mkdtemp(prefix="heron-bench-%s-" % name)
    port = free_port()
    log_path = os.path.join(tmp, "server.log")
    logf = open(log_path, "wb")
    proc, argv = start_server(spec, args.heron_src, tmp, port, logf)
    rec["cmd"] = " ".join(shlex.quote(a) for a in argv)
    try:
        err = wait_ready(proc, port, args.start_timeout)
        if err:
            rec["reason"] = "start: " + err
            return rec
        why, headers = check(port, sc)
        rec["resp_connection_header"] = headers.get("connection")
        if why:
            # No load test: a server that cannot answer one request would only
            # produce a wall of socket errors.
            rec["reason"] = "pre-load check: " + why + " (load test skipped)"
            return rec
        script = os.path.join(tmp, "bench.lua")
        wrk_script(sc, script)
        if args.warmup > 0:
            subprocess.run(wrk_cmd(args, sc, port, script, args.warmup), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=args.warmup + 30)
        wc = wrk_cmd(args, sc, port, script, args.duration)
        rec["wrk_cmd"] = " ".join(shlex.quote(a) for a in wc)
        lo0 = listen_overflows()
        srv0, cli0, t0 = tree_cpu_s(proc.pid), children_cpu_s(), time.monotonic()
        # user time only for the noise estimate: loopback TCP work is system time
        noise0 = (machine_cpu_s()[0] - tree_cpu_s(proc.pid, True) - children_cpu_s(True)
                  - own_user_s())
        try:
            p = subprocess.run(wc, capture_output=True, text=True, timeout=args.duration + 60)
            out = p.stdout + p.stderr
        except subprocess.TimeoutExpired as e:
            out = "wrk timeout: %s" % e
        srv1, cli1, wall = tree_cpu_s(proc.pid), children_cpu_s(), time.monotonic() - t0
        # user CPU time of everything but the server, wrk and this harness (other
        # people's jobs), in cores
        noise1 = (machine_cpu_s()[0] - tree_cpu_s(proc.pid, True) - children_cpu_s(True)
                  - own_user_s())
        rec["other_cpu_share"] = round(max(0.0, noise1 - noise0) / wall, 3)
        rec["listen_overflows"] = listen_overflows() - lo0
        rec["server_cpu_s"] = round(srv1 - srv0, 3)
        rec["server_cpu_share"] = round((srv1 - srv0) / wall, 3)
        rec["wrk_cpu_share"] = round((cli1 - cli0) / wall, 3)
        rec["wrk_out"] = out
        rec.update(parse_wrk(out))
        rec["peak_rss_kb"] = tree_rss_kb(proc.pid)
        alive = proc.poll() is None
        post = check(port, sc)[0] if alive else None
        # verdict
        reqs = rec.get("requests", 0)
        if reqs:
            rec["cpu_us_per_req"] = round(rec["server_cpu_s"] * 1e6 / reqs, 1)
            rec["bytes_per_resp"] = round(rec["bytes"] / reqs, 1)
        conn_err = rec.get("connect", 0) + rec.get("timeout", 0)
        rw_err = rec.get("read", 0) + rec.get("write", 0)
        if (sc.get("headers", {}).get("Connection") == "close"
                and (rec["resp_connection_header"] or "").lower() != "close"
                and rw_err <= 1.05 * reqs + args.connections):
            # The client asked for close; a server that closes without sending
            # 'Connection: close' (a SHOULD, RFC 9112 9.6) makes wrk try to reuse the
            # socket and count one read/write error per request. Not a failure.
            rec["close_artifact"] = rw_err
            rw_err = 0
        rec["socket_errors"] = conn_err + rw_err
        reasons = []
        if not alive:
            reasons.append("server died during the load (exit code %s)" % proc.returncode)
        if post:
            reasons.append("post-load check: " + post)
        if "rps" not in rec:
            reasons.append("wrk output not parsed")
        elif reqs == 0:
            reasons.append("no completed requests")
        else:
            if rec["non2xx"] > 0.01 * reqs:
                reasons.append("non-2xx responses: %d of %d" % (rec["non2xx"], reqs))
            if rec["socket_errors"] > 0.01 * reqs:
                reasons.append("socket errors %d (connect %d, read %d, write %d, timeout %d) for %d "
                               "requests" % (rec["socket_errors"], rec.get("connect", 0),
                                             rec.get("read", 0), rec.get("write", 0),
                                             rec.get("timeout", 0), reqs))
            if rec["bytes_per_resp"] < len(sc["expect"]()):
                reasons.append("responses too short under load: %.1f bytes each on average, "
                               "body alone is %d" % (rec["bytes_per_resp"], len(sc["expect"]())))
        rec["reason"] = "; ".join(reasons) or None
        rec["ok"] = not reasons
        return rec
    finally:
        stop_server(proc)
        logf.close()
        try:
            with open(log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(log_path) - 2000))
                tail = f.read().decode("utf-8", "replace").strip()
            errs = log_errors(tail)
            if errs:
                rec["server_log_errors"] = errs[-5:]
            # keep the log when something went wrong, or when the server complained
            if not rec["ok"] or errs:
                rec["server_log_tail"] = tail
        except OSError:
            pass
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(runs):
    """(server, scenario) -> medians over the rounds that passed."""
    cells = {}
    for r in runs:
        cells.setdefault((r["server"], r["scenario"]), []).append(r)
    out = {}
    for key, rs in cells.items():
        ok = [r for r in rs if r["ok"]]
        good = len(ok) * 2 > len(rs)  # a cell is 'fail' unless most rounds passed
        out[key] = dict(
            good=good, n_ok=len(ok), n=len(rs),
            reasons=sorted({r["reason"] for r in rs if r.get("reason")}),
            rps=med([r["rps"] for r in ok]) if good else None,
            rps_min=min([r["rps"] for r in ok]) if good else None,
            rps_max=max([r["rps"] for r in ok]) if good else None,
            by_round={r["round"]: r["rps"] for r in ok},  # for ratios per round (targets.py)
            p50=med([r["p50_us"] / 1000 for r in ok]) if good else None,
            p99=med([r["p99_us"] / 1000 for r in ok]) if good else None,
            max_lat=max([r["max_us"] / 1000 for r in ok]) if good else None,
            cpu_us=med([r.get("cpu_us_per_req") for r in ok]) if good else None,
            cpu_share=med([r.get("server_cpu_share") for r in ok]) if good else None,
            errs=med([r.get("socket_errors", 0) for r in rs if "rps" in r]),
            non2xx=med([r.get("non2xx", 0) for r in rs if "rps" in r]),
            reqs=med([r.get("requests", 0) for r in rs if "rps" in r]),
            artifact=any(r.get("close_artifact") for r in rs),
            rss=med([r.get("peak_rss_kb", 0) / 1024 for r in rs if "peak_rss_kb" in r]),
            other=med([r.get("other_cpu_share") for r in rs]),
        )
    return out


def log_excerpt(tail, limit=1500):
    """The first complete traceback (or the last lines) of a server log tail, with the
    temp dir of the heron snapshot shown as <heron snapshot>."""
    tail = re.sub(r"/[^\s\"']*/heron-bench-src-[^/\s\"']+", "<heron snapshot>", tail)
    lines = tail.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(("Exception in callback", "Traceback", "Error", "ERROR")):
            lines = lines[i:]
            break
    else:
        lines = lines[1:]  # the first line of a tail is usually cut
    out = []
    for j, line in enumerate(lines):
        # stop at the start of the next repeat of the same traceback
        if j and (line == lines[0] or line.startswith("Exception in callback")):
            break
        out.append(line)
    return "\n".join(out)[:limit]


def fmt_int(x):
    return "{:,}".format(int(round(x)))


def ratio_pairs(meta):
    """The (numerator, denominator) servers whose req/s ratios the report gives: the
    suite's "pairs" (those of them that ran), or else every heron entry against every
    other server."""
    servers = meta["servers"]
    if meta.get("pairs") is not None:
        return [(a, b) for a, b in meta["pairs"] if a in servers and b in servers]
    herons = [s for s in servers if s.startswith("heron")]
    return [(h, o) for h in herons for o in servers if not o.startswith("heron")]


def summarize_extras(extras):
    """The measurements' figures that bench/targets.py checks: startup over all launches,
    idle over the rounds that passed (median of each round's figure); "fail" where every
    record failed, absent where none was made."""
    out = {}
    ms = [m for r in extras.get("startup", []) for m in r["ms"]]
    if ms:
        out.update(startup_ms=med(ms), startup_min=min(ms), startup_max=max(ms),
                   startup_n=len(ms))
    elif extras.get("startup"):
        out["startup_ms"] = "fail"
    ok = [r for r in extras.get("idle", []) if r["ok"]]
    for key, field in (("idle_rss_delta_mib", "rss_delta_mib"), ("idle_rate_ratio", "rate_ratio"),
                       ("idle_rss_mib", "idle_rss_mib"), ("idle_kib_per_conn", "kib_per_conn")):
        if ok:
            out[key] = med([r[field] for r in ok])
        elif extras.get("idle"):
            out[key] = "fail"
    return out


def extras_markdown(extras, X):
    """The startup and idle sections of the report: how, and the figures of every round."""
    L = []
    if extras.get("startup"):
        st = extras["startup"]
        L.append("## Startup: `python3 -m heron` to the first answered request\n")
        L.append("`%s` (the demo site: no app argument; heron from the snapshot, on "
                 "PYTHONPATH and as cwd; `--loop auto`, which picks uvloop from the bench "
                 "venv), %d launches per round, one after another. Timed from just before the "
                 "spawn to the status line of a 200 answer to `GET /`, connecting every 1 ms "
                 "until something listens; then SIGTERM, and the process is waited for. The "
                 "snapshot is byte-compiled first, as installing heron would.\n" % (
                     st[0]["cmd"], st[0]["launches"]))
        L.append("| round | launches | median ms | min ms | max ms |")
        L.append("|---|---:|---:|---:|---:|")
        for r in st:
            ms = r["ms"] or [0]
            L.append("| %d | %d%s | %.1f | %.1f | %.1f |" % (
                r["round"], len(r["ms"]), "" if r["ok"] else " (then a failure)",
                med(ms), min(ms), max(ms)))
        if X.get("startup_n"):
            L.append("| all | %d | **%.1f** | %.1f | %.1f |" % (
                X["startup_n"], X["startup_ms"], X["startup_min"], X["startup_max"]))
        L.append("")
    if extras.get("idle"):
        idle = extras["idle"]
        L.append("## %s idle keep-alive connections on one heron process\n" % fmt_int(
            idle[0]["held"]))
        L.append("heron (`bench/app.py`, asyncio loop, on the server CPU) runs with `%s`: its "
                 "defaults, 2048 connections and a 5 s keep-alive timeout, would refuse or "
                 "close most of them. Unloaded rate: the plaintext scenario's wrk warm-up and "
                 "run. Idle RSS: VmRSS summed over the server's process tree, 1 s after that. "
                 "Then the harness (on the client CPU) opens the connections, sends `GET "
                 "/plaintext` on each and reads the whole answer, and holds them idle: RSS "
                 "again, and the same wrk warm-up and run while they are held. Afterwards "
                 "none of them may be readable (closed, or bytes nobody asked for), and 100 "
                 "of them, evenly spread, must each answer one more request with 200.\n"
                 % idle[0]["server_args"])
        L.append("| round | idle RSS MiB | held RSS MiB | + MiB | KiB per connection | "
                 "unloaded req/s | held req/s | held ÷ unloaded | CPU µs/req unloaded, held | "
                 "still open | sample answered | ok |")
        L.append("|---|" + "---:|" * 10 + "---|")
        for r in idle:
            if "loaded" not in r:
                L.append("| %d | %s |" % (r["round"], " | ".join(["–"] * 10 + ["fail"])))
                continue
            L.append("| %d | %.1f | %.1f | %.1f | %.2f | %s | %s | %.2f | %s, %s | %s | %d / %d "
                     "| %s |" % (
                         r["round"], r["idle_rss_mib"], r["held_rss_mib"], r["rss_delta_mib"],
                         r["kib_per_conn"], fmt_int(r["unloaded"]["rps"]),
                         fmt_int(r["loaded"]["rps"]), r.get("rate_ratio", 0),
                         r["unloaded"]["cpu_us_per_req"], r["loaded"]["cpu_us_per_req"],
                         fmt_int(r["still_open"]), r["sample_ok"], r["sample"],
                         "yes" if r["ok"] else "fail"))
        if isinstance(X.get("idle_rss_delta_mib"), float):
            L.append("| median (rounds that passed) | %.1f | | **%.1f** | %.2f | | | **%.2f** | "
                     "| | | |" % (X["idle_rss_mib"], X["idle_rss_delta_mib"],
                                  X["idle_kib_per_conn"], X["idle_rate_ratio"]))
        L.append("")
    return L


TARGETS_NOTE = ("Ratios are taken round by round (each round's req/s of one server over the "
                "same round's of the other, or of two heron scenarios) and judged by their "
                "median, shown as median [lowest–highest round]; ✓ / ✗ per figure. A ratio "
                "over fewer than %d rounds is shown but not judged." % targets.MIN_ROUNDS)


def target_sets(meta: dict) -> list:
    """The target sets (keys of targets.TARGETS) a run's report checks; True in result files
    made before issue 19 meant issue 5's."""
    t = meta.get("targets")
    return ["5"] if t is True else t or []


def readme_summary(meta, runs, extras):
    """The Targets tables with the date, machine, code and command: what the project README
    quotes (bench/results/<stamp>-readme.md)."""
    S = summarize(runs)
    X = summarize_extras(extras)
    heron_cpu = ["%s %.0f" % (x, S[("heron", x)]["cpu_us"]) for x in meta["scenarios"]
                 if S.get(("heron", x), {}).get("cpu_us") is not None]
    tables = []
    for which in target_sets(meta):
        tables += ["Issue %s's targets:" % which, "", *targets.table(S, X, which), ""]
    return "\n".join([
        "Measured %s on %s; heron %s." % (meta["date"], meta["machine"],
                                          meta.get("heron_rev", "?")),
        "Each server on one core; load on the other: %s; %d interleaved rounds; req/s are "
        "medians. %s" % (meta["load"], meta["rounds"], TARGETS_NOTE),
        "",
        *tables,
        "heron's server CPU per request, µs: %s." % ", ".join(heron_cpu),
        "",
        "Reproduce (from the repo root; `bench/setup.sh` installs wrk, nginx and the other "
        "servers on first use):",
        "",
        "```sh",
        meta["command"],
        "```",
        "",
        *(["Full report: [%s](%s)." % (meta["report"], meta["report"]), ""]
          if meta.get("report") else []),
        ])


def markdown(meta, runs, extras):
    servers, scen = meta["servers"], meta["scenarios"]
    pairs = ratio_pairs(meta)
    # numerators of the ratios, in order: a "<numerator> ÷ this" column in each scenario table
    herons = list(dict.fromkeys(a for a, _ in pairs)) if pairs else [
        s for s in servers if s.startswith("heron")]
    # which cells of those columns to fill: all of them (default report), or only the
    # suite's pairs (and 1.00 on the numerator's own row)
    shown = None if meta.get("pairs") is None else set(pairs)
    S = summarize(runs)
    X = summarize_extras(extras)
    L = []
    # descriptive text: the suite's current wording (or the one saved with the run)
    suite = SUITES.get(meta.get("suite", "default"), {})
    L.append("# %s\n" % (suite.get("title") or meta.get("title")))
    if suite.get("intro") or meta.get("intro"):
        L.append((suite.get("intro") or meta["intro"]) + "\n")
    for which in target_sets(meta):
        L.append("## Targets (issue %s)\n" % which)
        L.append(TARGETS_NOTE + "%s `incomplete` or `–`: a figure this run did not make "
                 "(not planned, or the other server failed); `fail`: heron's run failed (see "
                 "Failures).\n" % (" The startup and idle figures are explained in their "
                                    "sections below." if meta.get("measurements") else ""))
        L.extend(targets.table(S, X, which))
        L.append("")
    L.append("- date: %s" % meta["date"])
    L.append("- machine: %s" % meta["machine"])
    L.append("- heron: %s; heron/ and bench/app.py were copied to a temp dir when the run "
             "started (sha256 of heron/*.py: %s), so all rounds ran the same code" % (
                 meta.get("heron_rev", "?"), meta.get("heron_fingerprint", "?")))
    L.append("- command: `%s` (from the repo root)" % meta["command"])
    L.append("- load: %s" % meta["load"])
    L.append("- rounds: %d, interleaved (every planned scenario and server once, %sthen again); "
             "cells are "
             "medians over rounds; a fresh server process per run, checked (status 200 and "
             "the exact body) before and after the load" % (
                 meta["rounds"], "then the %s measurements, " % " and ".join(meta["measurements"])
                 if meta.get("measurements") else ""))
    if meta.get("quiet_wait"):
        L.append("- before each run the harness waited (up to %.0f s) until other processes used "
                 "under 10%% of a core" % meta["quiet_wait"])
    L.append("- total time: %s s\n" % meta.get("total_s", "?"))

    def ratio(a, b, x):
        ca, cb = S.get((a, x)), S.get((b, x))
        if not ca or not cb:  # not both planned in this scenario
            return ""
        if not ca["good"]:
            return "fail"
        if not cb["good"]:
            return "n/a"
        r = targets.per_round(ca, cb)
        return targets.fmt_spread(r) if r else "n/a"

    if pairs:
        L.append("## Ratios: heron req/s ÷ other server's req/s\n")
        L.append("Above 1: heron served more requests per second than that server "
                 "(each on one core). Each round's req/s over the same round's of the other "
                 "server; the median over rounds, then [lowest–highest round]. `fail`: the "
                 "heron entry failed that scenario; `n/a`: the other server did.\n")
        cols = [x_ for x_ in scen if any((h, x_) in S and (o, x_) in S for h, o in pairs)]
        L.append("| heron entry ÷ server | " + " | ".join(cols) + " |")
        L.append("|---|" + "---:|" * len(cols))
        for h, o in pairs:
            cells = [ratio(h, o, x_) for x_ in cols]
            if any(cells):
                L.append("| %s ÷ %s | %s |" % (h, o, " | ".join(cells)))
        L.append("")
        L.append("## CPU cost: server CPU µs per request (median of rounds)\n")
        L.append("Process CPU time (user+system, all threads) of the server during the measured "
                 "run ÷ requests wrk completed. Lower is cheaper. Kernel work in softirq context "
                 "(loopback TCP) is not always charged to the process.\n")
        L.append("| server | " + " | ".join(scen) + " |")
        L.append("|---|" + "---:|" * len(scen))
        for s in servers:
            cells = []
            for x_ in scen:
                c = S.get((s, x_))
                cells.append("" if not c else "%.0f" % c["cpu_us"]
                             if c["good"] and c["cpu_us"] is not None else "fail")
            L.append("| %s | %s |" % (s, " | ".join(cells)))
        L.append("")

    for x_ in scen:
        L.append("## %s: %s\n" % (x_, meta["scenario_desc"].get(x_, "")))
        nums = [h for h in herons if (h, x_) in S]  # the "÷ this" columns this scenario has
        hdr = ["server", "req/s (median)", "req/s min–max", "p50 ms", "p99 ms", "CPU µs/req",
               "server CPU %", "other procs CPU %"] + ["%s ÷ this" % h for h in nums] + [
            "socket errors / requests"]
        L.append("| " + " | ".join(hdr) + " |")
        L.append("|---|" + "---:|" * (len(hdr) - 1))
        for s in servers:
            c = S.get((s, x_))
            if not c:
                continue
            if not c["good"]:
                row = [s, "fail"] + ["–"] * 6 + ["–" for _ in nums]
            else:
                mark = ""
                if c["errs"]:
                    mark += " †"
                if c["artifact"]:
                    mark += " ‡"
                row = [s, fmt_int(c["rps"]) + mark,
                       "%s–%s" % (fmt_int(c["rps_min"]), fmt_int(c["rps_max"])),
                       "%.2f" % c["p50"], "%.2f" % c["p99"],
                       "%.0f" % c["cpu_us"] if c["cpu_us"] is not None else "?",
                       "%.0f" % (100 * c["cpu_share"]) if c["cpu_share"] is not None else "?",
                       "%.0f" % (100 * c["other"]) if c["other"] is not None else "?"]
                row += ["1.00" if h == s else ratio(h, s, x_)
                        if shown is None or (h, s) in shown else "" for h in nums]
            if c["errs"] is None:
                row.append("–")
            else:
                row.append("%d / %s" % (c["errs"], fmt_int(c["reqs"])))
            L.append("| " + " | ".join(row) + " |")
        L.append("")
    L.append("server CPU %: the server's process CPU time ÷ wall time of the measured run "
             "(100 = its core was saturated). other procs CPU %: CPU time of everything except "
             "the server and wrk during the run (user time, all CPUs, from /proc/stat), in % of one "
             "core: noise from other jobs on the machine.\n")
    L.append("`†`: some socket errors, under 1% of requests. `‡`: the server closed "
             "`Connection: close` requests without sending `Connection: close` itself, so wrk "
             "counted one read error per request (not counted as failures; RFC 9112 §9.6 makes "
             "the header a SHOULD). `fail`: most rounds failed, see below.\n")
    L.extend(extras_markdown(extras, X))

    L.append("## Failures and warnings\n")
    notes = []
    for s in servers:
        for x_ in scen:
            c = S.get((s, x_))
            if c and c["reasons"]:
                notes.append("- **%s / %s**: %d of %d rounds failed: %s" % (
                    s, x_, c["n"] - c["n_ok"], c["n"], "; ".join(c["reasons"])))
    noisy, busy = [], []
    for r in runs:
        if r.get("other_cpu_share", 0) > 0.15:
            noisy.append("%s/%s r%d (%.0f%%)" % (r["server"], r["scenario"], r["round"],
                                                 100 * r["other_cpu_share"]))
        if r.get("quiet_waited_s", 0) >= meta.get("quiet_wait", 1e9):
            busy.append("%s/%s r%d" % (r["server"], r["scenario"], r["round"]))
    if noisy:
        notes.append("- noise: other processes used over 15%% of a core during %d of %d measured "
                     "runs: %s" % (len(noisy), sum(1 for r in runs if "rps" in r), ", ".join(noisy)))
    if busy:
        notes.append("- the machine was still busy after the %.0f s quiet wait before: %s" % (
            meta["quiet_wait"], ", ".join(busy)))
    for r in runs:
        if r.get("listen_overflows"):
            notes.append("- %s / %s round %d: the kernel's accept queue overflowed %d times "
                         "(ListenOverflows)" % (r["server"], r["scenario"], r["round"],
                                                r["listen_overflows"]))
        if r["ok"] and r.get("max_us", 0) > 1e6:
            notes.append("- %s / %s round %d: max latency %.2f s (p99 %.1f ms)" % (
                r["server"], r["scenario"], r["round"], r["max_us"] / 1e6, r["p99_us"] / 1e3))
        if r["ok"] and r.get("server_log_errors"):
            notes.append("- %s / %s round %d passed but the server logged: `%s`" % (
                r["server"], r["scenario"], r["round"], "`, `".join(r["server_log_errors"])))
    excerpts = {}  # (server, excerpt) -> scenarios, so a repeated traceback is quoted once
    for r in runs:
        t = r.get("server_log_tail")
        if not r["ok"] and t:
            sc_list = excerpts.setdefault((r["server"], log_excerpt(t)), [])
            if r["scenario"] not in sc_list:
                sc_list.append(r["scenario"])
    for (srv, ex), sc_list in excerpts.items():
        notes.append("- server log of %s (failed runs of %s), excerpt:\n\n```\n%s\n```" % (
            srv, ", ".join(sc_list), ex))
    for name, recs in extras.items():
        for r in recs:
            if not r["ok"]:
                notes.append("- **%s** round %d failed: %s%s" % (
                    name, r["round"], r["reason"], "; server log excerpt:\n\n```\n%s\n```" % (
                        log_excerpt(r["server_log_tail"])) if r.get("server_log_tail") else ""))
    L.extend(notes or ["none"])
    L.append("")

    L.append("## Servers\n")
    L.append("`{python}`, `{venv}`: the bench venv (made by bench/setup.sh in $BENCH_STATE, "
             "default ~/.cache/heron-bench); `{heron_src}`: the temp copy of heron/ and "
             "bench/app.py; %s`{port}`: a free port on 127.0.0.1.\n" % (
                 "`{apps}`: the repo's bench/apps; " if any(
                     "{apps}" in meta["server_specs"].get(s, {}).get("cmd", "") for s in servers)
                 else ""))
    for s in servers:
        spec = meta["server_specs"].get(s, {})
        L.append("- **%s**: %s  \n  `%s` (cwd `%s`)" % (
            s, spec.get("kind", ""), spec.get("cmd", ""), spec.get("cwd", "")))
    L.append("\n## Versions\n")
    L.append("```\n%s\n```\n" % meta.get("versions", "").strip())
    return "\n".join(L)


# --------------------------------------------------------------------------
# Setup and metadata
# --------------------------------------------------------------------------
def needed_packages(names, servers):
    """The anchor packages the named servers use, in ANCHOR_PACKAGES order."""
    want = {p for n in names for p in servers[n].get("pkgs", ())}
    return [p for p in ANCHOR_PACKAGES if p in want]


def missing_prereqs(names, servers):
    miss = [t for t in ("wrk", "taskset") if not shutil.which(t)]
    pkgs = needed_packages(names, servers)
    if not os.access(VPY, os.X_OK):
        miss.append("venv %s" % VENV)
    elif pkgs:
        r = subprocess.run([VPY, "-c", "import " + ",".join(pkgs)], capture_output=True)
        if r.returncode:
            miss.append("anchor packages (%s) in %s" % (", ".join(pkgs), VENV))
    if not os.path.isdir(STATIC):
        miss.append("fixtures")
    if "nginx" in names and not shutil.which("nginx") and not os.path.exists("/usr/sbin/nginx"):
        miss.append("nginx")
    return miss


def versions(pkgs):
    lines = []
    r = subprocess.run([VPY, "-c", "import sys, importlib.metadata as m\n"
                        "print('python', sys.version.split()[0], '(all Python servers)')\n"
                        "for p in sys.argv[1:]: print(p, m.version(p))"] + list(pkgs),
                       capture_output=True, text=True)
    lines.append(r.stdout.strip())
    r = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    lines.append((r.stdout + r.stderr).splitlines()[0] if (r.stdout + r.stderr) else "wrk ?")
    return "\n".join(lines)


def heron_rev():
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0")  # read-only: never touch the index
    try:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, env=env).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "diff", "--quiet", "HEAD", "--", "heron"],
                               env=env).returncode
        return "git %s%s" % (rev or "?", " + uncommitted changes in heron/" if dirty else "")
    except OSError:
        return "?"


def machine():
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
        m = re.search(r"^model name\s*:\s*(.+)$", info, re.M)
        if m:
            model = m.group(1).strip()
        m = re.search(r"^flags\s*:(.*)$", info, re.M)
        if m and " hypervisor" in m.group(1):
            model += " (virtual machine)"
        with open("/proc/meminfo") as f:
            m = re.search(r"MemTotal:\s+(\d+)", f.read())
        if m:
            model += ", %.0f GiB RAM" % (int(m.group(1)) / 2**20)
    except OSError:
        pass
    return ("%s, %d CPUs, Linux %s; server pinned to CPU %s (`taskset -c %s`), wrk to CPU %s "
            "(`taskset -c %s`); loopback 127.0.0.1" % (
                model, os.cpu_count(), platform.release(), SERVER_CPU, SERVER_CPU,
                CLIENT_CPU, CLIENT_CPU))


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------
def suite_plan(suite):
    """scenario -> servers, for a suite with a plan or with servers x scenarios."""
    return suite.get("plan") or {x: list(suite["servers"]) for x in suite["scenarios"]}


def select_plan(suite, names, scen, extra):
    """The suite's plan narrowed by --servers (names) and --scenarios (scen), None when not
    given. Both given: exactly names x scen. Only names: each scenario keeps the named
    servers it plans, and a named server the suite plans nowhere runs in every scenario.
    Only scen: those scenarios with their planned servers (one the suite does not plan:
    all its servers). --extra servers join every scenario once (also when named in
    --servers); empty scenarios are dropped."""
    base = suite_plan(suite)
    planned = list(dict.fromkeys(s for ss in base.values() for s in ss))
    if names and scen:
        plan = {x: list(names) for x in scen}
    elif names:
        plan = {x: [s for s in names if s in ss or s not in planned] for x, ss in base.items()}
    elif scen:
        plan = {x: list(base.get(x, planned)) for x in scen}
    else:
        plan = base
    return {x: list(dict.fromkeys(ss + extra)) for x, ss in plan.items() if ss + extra}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", choices=sorted(SUITES), default="default",
                    help="what to run: per scenario, the servers; the ratios and measurements "
                         "(see --list)")
    ap.add_argument("--servers", help="comma list: only these of the suite's plan (a server "
                                      "the plan lacks runs in all its scenarios)")
    ap.add_argument("--scenarios", help="comma list: only these of the suite's plan (with "
                                        "--servers too: exactly servers x scenarios)")
    ap.add_argument("--measurements", help="comma list of startup, idle, or none (default: "
                                           "the suite's, unless --servers or --scenarios is given)")
    ap.add_argument("--extra", action="append", default=[], metavar="NAME=CMD",
                    help="add a server: command template with {port} (cwd: repo root); repeatable")
    ap.add_argument("--duration", type=int, default=5, help="wrk seconds per measured run")
    ap.add_argument("--warmup", type=int, default=2, help="wrk warm-up seconds")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default: the suite's, 5 "
                                               "where it checks targets)")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=2, help="wrk per-request timeout, s")
    ap.add_argument("--start-timeout", type=float, default=20.0)
    ap.add_argument("--quiet-wait", type=float, default=20.0,
                    help="before each run, wait up to this many seconds for other processes to "
                         "go idle (0: do not wait)")
    ap.add_argument("--quiet-budget", type=float, default=300.0,
                    help="stop waiting for quiet once this many seconds were spent waiting in total")
    ap.add_argument("--out", help="raw JSON (default bench/results/<stamp>.json)")
    ap.add_argument("--md", help="also write the markdown report here (e.g. bench/RESULTS.md)")
    ap.add_argument("--no-setup", action="store_true",
                    help="do not run setup.sh when wrk or the anchor venv is missing")
    ap.add_argument("--report-only", metavar="JSON", help="re-make the markdown from a results file")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()

    if args.report_only:
        with open(args.report_only) as f:
            data = json.load(f)
        base = os.path.splitext(args.report_only)[0]
        write_reports(data, [args.md or base + ".md"], base + "-readme.md")
        return 0

    servers = with_extras(ap, args.extra)
    if args.list:
        for n, s in servers.items():
            print("%-26s %s\n%-26s   %s" % (n, s["kind"], "", s["cmd"]))
        print("scenarios:", ", ".join(SCENARIOS))
        for n, su in SUITES.items():
            print("suite %s:" % n)
            for x, ss in suite_plan(su).items():
                print("  %-16s %s" % (x, ", ".join(ss)))
            print("  ratios: %s" % ", ".join("%s÷%s" % p for p in su["pairs"]))
            print("  measurements: %s" % (", ".join(su.get("measurements", ())) or "none"))
            print("  targets: %s; rounds: %d" % (
                ", ".join("issue " + t for t in su.get("targets", ())) or "none", su["rounds"]))
        return 0
    suite = SUITES[args.suite]
    args.rounds = args.rounds or suite["rounds"]
    narrow = [v.split(",") if v else None for v in (args.servers, args.scenarios)]
    for n in narrow[0] or []:
        if n not in servers:
            ap.error("unknown server %r (see --list)" % n)
    for x in narrow[1] or []:
        if x not in SCENARIOS:
            ap.error("unknown scenario %r (see --list)" % x)
    plan = select_plan(suite, *narrow, [n for n in servers if n not in SERVERS])
    if args.measurements is None:
        meas = [] if any(narrow) else suite.get("measurements", [])
    else:
        meas = [m for m in args.measurements.split(",") if m != "none"]
    for m in meas:
        if m not in ("startup", "idle"):
            ap.error("unknown measurement %r (startup, idle or none)" % m)
    if not plan and not meas:
        ap.error("nothing to run: no server of --servers is planned for --scenarios")
    names = list(dict.fromkeys(s for ss in plan.values() for s in ss))
    if (os.cpu_count() or 1) < 2:
        ap.error("needs at least 2 CPUs (server on CPU %s, wrk on CPU %s)" % (SERVER_CPU, CLIENT_CPU))

    miss = missing_prereqs(names, servers)
    if miss:
        if args.no_setup:
            ap.error("missing: %s; run bench/setup.sh" % ", ".join(miss))
        print("missing: %s; running bench/setup.sh" % ", ".join(miss), flush=True)
        subprocess.run(["bash", os.path.join(BENCH, "setup.sh")], check=True)
        miss = missing_prereqs(names, servers)
        if miss:
            ap.error("still missing after setup.sh: %s" % ", ".join(miss))

    # keep the harness itself off the server's CPU
    try:
        os.sched_setaffinity(0, {int(CLIENT_CPU)})
    except OSError:
        pass

    n_runs = sum(map(len, plan.values())) * args.rounds
    # seconds: quiet check, start and checks per wrk run; per round, idle's two loads plus
    # opening 10k connections, and startup's 10 launches
    est = n_runs * (args.duration + args.warmup + 2.5) + args.rounds * (
        ("idle" in meas) * (2 * (args.duration + args.warmup) + 8) + ("startup" in meas) * 5)
    print("%d wrk runs%s; about %.1f min" % (
        n_runs, " + %s per round" % " and ".join(meas) if meas else "", est / 60), flush=True)

    os.makedirs(RESULTS, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or os.path.join(RESULTS, "%s.json" % stamp)
    base = os.path.splitext(out)[0]
    args.quiet_budget_left = args.quiet_budget
    snap = tempfile.mkdtemp(prefix="heron-bench-src-")
    args.heron_src = snapshot_heron(snap)
    meta = dict(
        date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        command=" ".join(shlex.quote(a) for a in
                         ["python3", os.path.relpath(os.path.abspath(sys.argv[0]), REPO)]
                         + sys.argv[1:]),
        machine=machine(), heron_rev=heron_rev(), heron_fingerprint=heron_fingerprint(snap),
        load="`wrk -t%d -c%d -d%ds --timeout %ds --latency`, after a %d s wrk warm-up on the "
             "same URL" % (args.wrk_threads, args.connections, args.duration, args.timeout,
                           args.warmup),
        rounds=args.rounds, quiet_wait=args.quiet_wait, servers=names, scenarios=list(plan),
        plan=plan, measurements=meas, suite=args.suite, title=suite["title"],
        intro=suite.get("intro"), pairs=suite["pairs"], targets=suite.get("targets", []),
        report=os.path.relpath(args.md, REPO) if args.md else None,
        scenario_desc={x: SCENARIOS[x]["desc"] for x in plan},
        versions=versions(needed_packages(names, servers)),
        server_specs={n: dict(cmd=servers[n]["cmd"], kind=servers[n]["kind"],
                              cwd=servers[n].get("cwd", APPS).replace(REPO, "<repo>"))
                      for n in names},
    )
    data = dict(meta=meta, runs=[], extras={m: [] for m in meas})
    t0 = time.monotonic()
    try:
        run_all(args, plan, servers, data, out, t0, n_runs)
    finally:
        shutil.rmtree(snap, ignore_errors=True)
    meta["total_s"] = round(time.monotonic() - t0)
    with open(out, "w") as f:
        json.dump(data, f, indent=1)
    write_reports(data, [base + ".md"] + ([args.md] if args.md else []), base + "-readme.md")
    print("raw: %s" % out)
    return 0


def save_run(kind, meta, runs, text, md_path):
    """A standalone benchmark's record (bench/websocket.py, bench/upload.py): print the report, keep
    the raw runs as results/<kind>-<time>.json, write the report to md_path if given; the exit
    status: 0 if every run was good."""
    print(text)
    os.makedirs(RESULTS, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(RESULTS, "%s-%s.json" % (kind, stamp)), "w") as f:
        json.dump(dict(meta=meta, runs=runs), f, indent=1)
    if md_path:
        with open(md_path, "w") as f:
            f.write(text)
    return 0 if all(r["ok"] for r in runs) else 1


def write_reports(data, md_paths, readme_path):
    """The markdown report to each of md_paths and, for a suite with targets, the README
    summary to readme_path; prints the report and says where they went."""
    md = markdown(data["meta"], data["runs"], data.get("extras", {}))
    for p in md_paths:
        with open(p, "w") as f:
            f.write(md)
    print(md)
    print("markdown: %s" % ", ".join(md_paths))
    if data["meta"].get("targets"):
        with open(readme_path, "w") as f:
            f.write(readme_summary(data["meta"], data["runs"], data.get("extras", {})))
        print("README summary: %s" % readme_path)


def rotated(names, rnd):
    """``names`` in the order round ``rnd`` runs them: each round starts one server later.

    The machine drifts over minutes (the same server's CPU time per
    request moves by 20-30% between runs a minute apart), so a fixed
    order would give one server of a pair always the earlier slot; rotating
    spreads every slot over every server within as many rounds as servers.
    """
    shift = (rnd - 1) % len(names) if names else 0
    return names[shift:] + names[:shift]


def run_all(args, plan, servers, data, out, t0, n_runs):
    """Every round: each scenario's servers, then the measurements; saved as it goes."""
    k = 0
    for rnd in range(1, args.rounds + 1):
        for x, names in plan.items():
            for n in rotated(names, rnd):
                k += 1
                t1 = time.monotonic()
                rec = run_one(args, n, servers[n], x, SCENARIOS[x], rnd)
                rec["wall_s"] = round(time.monotonic() - t1, 2)
                data["runs"].append(rec)
                print("[%3d/%d %4.0fs] r%d %-16s %-25s %s" % (
                    k, n_runs, time.monotonic() - t0, rnd, x, n,
                    ("%8.0f req/s  p99 %6.2f ms  %5.0f CPU-µs/req  err %d  non2xx %d" % (
                        rec["rps"], rec["p99_us"] / 1000, rec.get("cpu_us_per_req", 0),
                        rec.get("socket_errors", 0), rec.get("non2xx", 0))
                     if "rps" in rec else "") + ("" if rec["ok"] else "  FAIL: %s" % rec["reason"])),
                    flush=True)
                with open(out, "w") as f:  # save as we go
                    json.dump(data, f, indent=1)
                time.sleep(0.3)
        for m in data["extras"]:
            rec, line = measure(args, m, rnd)
            data["extras"][m].append(rec)
            print("[         %4.0fs] r%d %-42s %s" % (time.monotonic() - t0, rnd, m, line),
                  flush=True)
            with open(out, "w") as f:
                json.dump(data, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
