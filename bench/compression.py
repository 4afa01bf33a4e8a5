#!/usr/bin/env python3
"""gzip responses over the wire: heron's compression middleware beside Starlette's GZipMiddleware.

    python3 bench/compression.py --rounds 5        # writes bench/RESULTS-compression.md
    python3 bench/compression.py --rounds 1 --servers heron,starlette-6 --scenarios json-1k --no-md

Issue 18 asks that heron's ``compression()`` middleware serve at least 1.5x the responses
per second of Starlette's ``GZipMiddleware`` on uvicorn with httptools and uvloop (the
stack FastAPI apps run). Cost per response is what the middleware adds, so it is measured
where it is paid: a server on one core answering as fast as it can, every answer gzipped.

Servers (bench/apps/heron_compression.py, bench/apps/starlette_compression.py): heron with
``app.add_middleware(compression())`` (its defaults: gzip level 6, from 500 bytes) on
asyncio's selector loop and on uvloop; Starlette with ``GZipMiddleware`` at its default
compresslevel 9 (``starlette``) and at 6 (``starlette-6``, the same zlib work as heron's).
Scenarios, the same bytes from every server (bench/apps/compression_bodies.py): a JSON
answer of about 1 KiB, one of about 100 KiB, and an ndjson stream of 16 pieces of about
64 KiB (1 MiB), which both middlewares compress and flush piece by piece. Every body stays
below both thread-pool thresholds (Starlette 128 KiB, heron 256 KiB, per piece for a
stream): all compression runs on the event loop, on the server's core.

Each round starts every server once (a fresh process pinned to CPU 1 as bench/run.py
starts its servers, heron from a snapshot of heron/), the servers' order rotated from
round to round. For each scenario: one request with ``Accept-Encoding: gzip`` must answer
200, ``Content-Encoding: gzip`` and a body that decompresses to the exact bytes (so no
server is timed doing less work); then wrk on CPU 0 sends the same header (a warm-up, then
the measured run: 50 connections, 8 for the stream, whose responses advance piece by piece
in step and would otherwise finish in bursts of 50, too coarse a count for a few seconds);
the server's CPU time around it; the check again. Ratios are taken per round (heron ÷
Starlette in the same round) and given as median [min-max]. Only 127.0.0.1 is contacted;
every step is bounded in time; servers are stopped by PID, even on failure.
"""
import argparse
import datetime
import gzip
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from typing import Any

import run  # the harness: start/stop servers, wrk, /proc helpers, machine and revision

sys.path.insert(0, run.APPS)
import compression_bodies as bodies  # noqa: E402  (the servers' bodies, to check answers against)

HERON_CMD = ("{python} -m heron {apps}/heron_compression.py:app --host 127.0.0.1 --port {port}"
             " --no-access-log --loop %s")
UVICORN_CMD = ("{venv}/bin/uvicorn --host 127.0.0.1 --port {port} --http httptools --loop uvloop"
               " --no-access-log --log-level warning starlette_compression:%s")
SERVERS: dict[str, dict[str, Any]] = {
    "heron": dict(cmd=HERON_CMD % "asyncio", cwd="{heron_src}", env=run.HERON_ENV,
                  kind="heron (this repo), asyncio's selector loop; `compression()`: gzip level 6"),
    "heron-uvloop": dict(cmd=HERON_CMD % "uvloop", cwd="{heron_src}", env=run.HERON_ENV,
                         kind="heron (this repo) on uvloop; `compression()`: gzip level 6"),
    "starlette": dict(cmd=UVICORN_CMD % "app", cwd=run.APPS,
                      kind="Starlette, `GZipMiddleware` defaults (compresslevel 9); uvicorn, httptools, uvloop"),
    "starlette-6": dict(cmd=UVICORN_CMD % "app_level6", cwd=run.APPS,
                        kind="Starlette, `GZipMiddleware(compresslevel=6)`; uvicorn, httptools, uvloop"),
}
SCENARIOS: dict[str, dict[str, Any]] = {
    "json-1k": dict(path="/json-1k", body=bodies.JSON_1K, connections=50,
                    desc="`application/json`, one piece"),
    "json-100k": dict(path="/json-100k", body=bodies.JSON_100K, connections=50,
                      desc="`application/json`, one piece"),
    "stream-1m": dict(path="/stream-1m", body=b"".join(bodies.STREAM), connections=8,
                      desc="`application/x-ndjson`, %d pieces of whole lines up to %d KiB, chunked" % (
                          bodies.PIECES, bodies.PIECE // 1024)),
}
PAIRS = [("heron", "starlette"), ("heron", "starlette-6"), ("heron-uvloop", "starlette"),
         ("heron-uvloop", "starlette-6")]
TARGET = 1.5
ACCEPT = {"Accept-Encoding": "gzip"}
WRK_TIMEOUT_S = 5
NOISY = 0.15  # other processes' share of a core above which the report names a run
PACKAGES = ("starlette", "anyio", "uvicorn", "httptools", "uvloop")


def check(port: int, sc: dict[str, Any]) -> tuple[str | None, int]:
    """One gzip request: (None or what is wrong, the compressed body's size)."""
    try:
        status, headers, body = run.request(port, dict(path=sc["path"], headers=ACCEPT))
    except Exception as e:  # noqa: BLE001 - reported as the reason
        return "request failed: %s: %s" % (type(e).__name__, e), 0
    if status != 200:
        return "status %d" % status, 0
    if headers.get("content-encoding") != "gzip":
        return "Content-Encoding %r, not gzip" % headers.get("content-encoding"), 0
    try:
        plain = gzip.decompress(body)
    except (OSError, EOFError, zlib.error) as e:
        return "body does not decompress: %s" % e, 0
    if plain != sc["body"]:
        return "decompressed body: %d bytes, want the %d expected" % (len(plain), len(sc["body"])), 0
    return None, len(body)


def run_server(args: argparse.Namespace, name: str, rnd: int) -> list[dict[str, Any]]:
    """Start one server and load it with every scenario in turn: a record per scenario."""
    recs = [dict(server=name, scenario=x, round=rnd, ok=False, reason=None) for x in args.scenarios]
    if args.quiet_wait > 0:
        waited, busy = run.wait_quiet(args.quiet_wait)
        for rec in recs:
            rec.update(quiet_waited_s=waited, busy_before=busy)
    tmp = tempfile.mkdtemp(prefix="heron-bench-compression-")
    log = open(os.path.join(tmp, "server.log"), "w+")
    port = run.free_port()
    proc, _ = run.start_server(SERVERS[name], args.heron_src, tmp, port, log)
    try:
        why = run.wait_ready(proc, port, 20)
        for rec in recs:
            if why:
                rec["reason"] = "start: " + why
            else:
                load(args, proc, port, rec, tmp)
        return recs
    finally:
        run.stop_server(proc)
        log.seek(0)
        tail = log.read()[-1500:]
        log.close()
        for rec in recs:
            if not rec["ok"]:
                rec["log_tail"] = tail
        shutil.rmtree(tmp, ignore_errors=True)


def load(args: argparse.Namespace, proc: subprocess.Popen, port: int, rec: dict[str, Any], tmp: str) -> None:
    """Check, warm up, measure and check again one scenario on a running server; fills rec."""
    sc = SCENARIOS[rec["scenario"]]
    why, rec["gzip_bytes"] = check(port, sc)
    if why:
        rec["reason"] = "pre-load check: " + why + " (load skipped)"
        return
    wsc = dict(path=sc["path"], headers=ACCEPT)
    script = os.path.join(tmp, rec["scenario"] + ".lua")
    run.wrk_script(wsc, script)
    wrk = argparse.Namespace(wrk_threads=1, connections=sc["connections"], timeout=WRK_TIMEOUT_S)
    subprocess.run(run.wrk_cmd(wrk, wsc, port, script, args.warmup), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=args.warmup + 30)
    cmd = run.wrk_cmd(wrk, wsc, port, script, args.duration)
    rec["wrk_cmd"] = " ".join(shlex.quote(a) for a in cmd)
    # other people's jobs: user CPU of everything but the server, wrk and this process
    noise0 = run.machine_cpu_s()[0] - run.tree_cpu_s(proc.pid, True) - run.children_cpu_s(True) - run.own_user_s()
    cpu0, t0 = run.tree_cpu_s(proc.pid), time.monotonic()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 60)
        out = done.stdout + done.stderr
    except subprocess.TimeoutExpired as e:
        out = "wrk timeout: %s" % e
    cpu, wall = run.tree_cpu_s(proc.pid) - cpu0, time.monotonic() - t0
    noise1 = run.machine_cpu_s()[0] - run.tree_cpu_s(proc.pid, True) - run.children_cpu_s(True) - run.own_user_s()
    rec.update(run.parse_wrk(out))
    rec.update(server_cpu_s=round(cpu, 3), server_cpu_share=round(cpu / wall, 3),
               other_cpu_share=round(max(0.0, noise1 - noise0) / wall, 3))
    reasons = []
    if proc.poll() is not None:
        reasons.append("server died under load (exit code %s)" % proc.returncode)
    elif why := check(port, sc)[0]:
        reasons.append("post-load check: " + why)
    reqs = rec.get("requests", 0)
    if not reqs:
        reasons.append("no requests completed: " + out[-300:])
    else:
        rec["cpu_us_per_req"] = round(cpu * 1e6 / reqs, 1)
        errors = sum(rec.get(k, 0) for k in ("connect", "read", "write", "timeout"))
        if errors > 0.01 * reqs or rec["non2xx"] > 0.01 * reqs:
            reasons.append("%d socket errors, %d non-2xx of %d requests" % (errors, rec["non2xx"], reqs))
        if rec["bytes"] / reqs < rec["gzip_bytes"]:
            reasons.append("responses under load average %.0f bytes, the gzip body alone is %d" % (
                rec["bytes"] / reqs, rec["gzip_bytes"]))
    rec["reason"] = "; ".join(reasons) or None
    rec["ok"] = not reasons


def one_line(rec: dict[str, Any]) -> str:
    if not rec["ok"]:
        return "FAILED: %s" % rec["reason"]
    return "%8.0f req/s  %6.0f CPU µs/req  server CPU %3.0f%%  others %3.0f%%  gzip %d bytes" % (
        rec["rps"], rec["cpu_us_per_req"], 100 * rec["server_cpu_share"], 100 * rec["other_cpu_share"],
        rec["gzip_bytes"])


def cell(runs: list[dict[str, Any]], server: str, scenario: str) -> list[dict[str, Any]]:
    return [r for r in runs if r["server"] == server and r["scenario"] == scenario and r["ok"]]


def ratios(runs: list[dict[str, Any]], a: str, b: str, scenario: str, key: str = "rps") -> list[float]:
    """a's figure ÷ b's in each round where both passed."""
    fig = {(r["server"], r["round"]): r[key] for r in runs if r["scenario"] == scenario and r["ok"]}
    return [fig[a, rnd] / fig[b, rnd] for (s, rnd) in fig if s == a and (b, rnd) in fig]


def spread(xs: list[float]) -> str:
    return "%.2f [%.2f–%.2f]" % (statistics.median(xs), min(xs), max(xs))


def markdown(meta: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    servers, scenarios = meta["servers"], meta["scenarios"]
    L = ["# gzip responses: heron's compression middleware beside Starlette's GZipMiddleware", "",
         "Generated by `%s` on %s (%s; heron %s, sha256 of heron/*.py %s)." % (
             meta["command"], meta["date"], meta["machine"], meta["heron_rev"], meta["heron_fingerprint"]),
         "%s. Every request sends `Accept-Encoding: gzip`; `wrk -t1` (%s connections, %s for the stream) "
         "runs %d s after a %d s warm-up per scenario. %d interleaved rounds, the servers' order rotated; "
         "req/s are medians over the rounds." % (
             meta["versions"], SCENARIOS["json-1k"]["connections"], SCENARIOS["stream-1m"]["connections"],
             meta["duration"], meta["warmup"], meta["rounds"]), "",
         "Target (issue 18): heron at least %.1fx Starlette's req/s. `starlette` is `GZipMiddleware` as "
         "shipped (compresslevel 9); `starlette-6` is compresslevel 6, heron's level, so both do the same "
         "zlib work." % TARGET, ""]
    pairs = [(a, b) for a, b in PAIRS if a in servers and b in servers]
    if pairs:
        L += ["Ratios are per round: median [min–max]. The last column divides CPU time per response the "
              "other way round (Starlette's ÷ heron's), which other jobs on the machine disturb less than "
              "req/s.", "",
              "| scenario | heron | Starlette | heron req/s | Starlette req/s | heron ÷ Starlette req/s | ≥ %.1f "
              "| Starlette ÷ heron CPU µs/req |" % TARGET,
              "| --- | --- | --- | ---: | ---: | --- | --- | --- |"]
        for x in scenarios:
            for a, b in pairs:
                rs, cpu = ratios(runs, a, b, x), ratios(runs, b, a, x, "cpu_us_per_req")
                if not rs:
                    L.append("| %s | %s | %s | | | no round where both passed | | |" % (x, a, b))
                    continue
                L.append("| %s | %s | %s | %.0f | %.0f | **%s** | %s | %s |" % (
                    x, a, b, statistics.median(r["rps"] for r in cell(runs, a, x)),
                    statistics.median(r["rps"] for r in cell(runs, b, x)), spread(rs),
                    "met" if statistics.median(rs) >= TARGET else "not met", spread(cpu)))
        L.append("")
    L += ["## Every server", "",
          "CPU µs/req: the server's CPU time (user + system, all its threads) during the measured run ÷ "
          "requests. Server CPU %: that time ÷ wall time (100: its core was the limit).", "",
          "| scenario | server | req/s median (min–max) | CPU µs/req | server CPU % | gzip body bytes | rounds ok |",
          "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for x in scenarios:
        for s in servers:
            good, total = cell(runs, s, x), sum(r["server"] == s and r["scenario"] == x for r in runs)
            if not good:
                L.append("| %s | %s | failed | | | | 0/%d |" % (x, s, total))
                continue
            rps = [r["rps"] for r in good]
            L.append("| %s | %s | %.0f (%.0f–%.0f) | %.0f | %.0f | %d | %d/%d |" % (
                x, s, statistics.median(rps), min(rps), max(rps),
                statistics.median(r["cpu_us_per_req"] for r in good),
                100 * statistics.median(r["server_cpu_share"] for r in good), good[0]["gzip_bytes"],
                len(good), total))
    L += ["", "## Scenarios", "", "| scenario | request | body bytes | what |", "| --- | --- | ---: | --- |"]
    L += ["| %s | `GET %s` | %d | %s |" % (x, SCENARIOS[x]["path"], len(SCENARIOS[x]["body"]), SCENARIOS[x]["desc"])
          for x in scenarios]
    L += ["", "## Servers", "",
          "Each alone on CPU 1; `{python}`, `{venv}`: the bench venv (bench/setup.sh); `{heron_src}`: a copy "
          "of heron/ taken when the run started; `{apps}`: bench/apps.", ""]
    L += ["- **%s**: %s  \n  `%s`" % (s, SERVERS[s]["kind"], SERVERS[s]["cmd"]) for s in servers]
    L += ["", "## Every run", "", "Others: user CPU of every other process on the machine during the run, in % "
          "of one core (noise).", "", "| round | server | scenario | result |", "| --- | --- | --- | --- |"]
    L += ["| %d | %s | %s | %s |" % (r["round"], r["server"], r["scenario"], one_line(r)) for r in runs]
    noisy = ["round %d %s %s (%.0f%%)" % (r["round"], r["server"], r["scenario"], 100 * r["other_cpu_share"])
             for r in runs if r.get("other_cpu_share", 0) > NOISY]
    if noisy:
        L += ["", "Noise: other processes used more than %.0f%% of a core during %d of %d runs: %s." % (
            100 * NOISY, len(noisy), len(runs), ", ".join(noisy))]
    return "\n".join(L) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--servers", default=",".join(SERVERS))
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=5, help="seconds of each measured wrk run")
    ap.add_argument("--warmup", type=int, default=1, help="seconds of wrk before each measured run")
    ap.add_argument("--quiet-wait", type=float, default=5.0,
                    help="before each server, wait up to this long for the machine's other jobs to go idle")
    ap.add_argument("--no-md", action="store_true", help="do not write bench/RESULTS-compression.md")
    args = ap.parse_args()
    servers, args.scenarios = args.servers.split(","), args.scenarios.split(",")
    for given, known in ((servers, SERVERS), (args.scenarios, SCENARIOS)):
        if set(given) - set(known):
            ap.error("unknown: %s (known: %s)" % (", ".join(sorted(set(given) - set(known))), ", ".join(known)))
    if not shutil.which("wrk") or not os.access(run.VPY, os.X_OK) or subprocess.run(
            [run.VPY, "-c", "import uvicorn, uvloop, httptools"]).returncode:
        subprocess.run(["bash", os.path.join(run.BENCH, "setup.sh")], check=True)
    if subprocess.run([run.VPY, "-c", "import starlette"]).returncode:
        subprocess.run([run.VPY, "-m", "pip", "install", "-q", "starlette==1.10.0"], check=True)
    os.sched_setaffinity(0, {int(run.CLIENT_CPU)})
    per_server = 2 + len(args.scenarios) * (args.warmup + args.duration + 1)
    print("about %.0f minutes: %d rounds x %d servers x %d scenarios" % (
        args.rounds * len(servers) * per_server / 60, args.rounds, len(servers), len(args.scenarios)),
        file=sys.stderr)
    snap = tempfile.mkdtemp(prefix="heron-bench-src-")
    runs: list[dict[str, Any]] = []
    try:
        args.heron_src = run.snapshot_heron(snap)
        for rnd in range(1, args.rounds + 1):
            turn = (rnd - 1) % len(servers)
            for name in servers[turn:] + servers[:turn]:
                for rec in run_server(args, name, rnd):
                    runs.append(rec)
                    print("[round %d/%d] %-12s %-9s %s" % (rnd, args.rounds, name, rec["scenario"], one_line(rec)),
                          file=sys.stderr)
        fingerprint = run.heron_fingerprint(snap)
    finally:
        shutil.rmtree(snap, ignore_errors=True)
    meta = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                machine=run.machine(), heron_rev=run.heron_rev(), heron_fingerprint=fingerprint,
                versions=run.versions(PACKAGES).replace(" (all Python servers)", "").split(" Copyright")[0].replace(
                    "\n", ", "),
                rounds=args.rounds, duration=args.duration, warmup=args.warmup, servers=servers,
                scenarios=args.scenarios, command="python3 bench/compression.py " + " ".join(map(shlex.quote, sys.argv[1:])))
    md = None if args.no_md else os.path.join(run.BENCH, "RESULTS-compression.md")
    return run.save_run("compression", meta, runs, markdown(meta, runs), md)


if __name__ == "__main__":
    sys.exit(main())
