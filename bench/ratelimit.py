#!/usr/bin/env python3
"""Rate limiting: what a hit costs in each store, what the limiter adds to a request, and the
count ``--workers 2`` lets through over the wire.

    python3 bench/ratelimit.py                      # about 5 minutes; writes bench/RESULTS-ratelimit.md
    python3 bench/ratelimit.py --rounds 1 --duration 10 --no-md
    python3 bench/ratelimit.py --report-only bench/results/ratelimit-<stamp>.json

Issue 18 asks three things of ``heron.web.ratelimit``, all measured in this one run:

(a) The store for ``--workers`` "chosen by measurement" between SQLite in WAL mode and
    shared memory. heron ships the shared-memory one (``SharedStore``: a fixed hash table
    in an mmap'd file in /dev/shm, ``fcntl.lockf`` around each hit). ``SqliteStore``
    below is the SQLite prototype it is measured against, with the same interface and
    the same ``gcra`` inside one ``BEGIN IMMEDIATE`` transaction. In-process, each
    store's ``hit`` is timed per call (best and median of ``--repeat`` batches of
    ``--batch`` calls, every store in turn within each repeat): one key, 10,000 keys in
    turn (all already stored), and one key refused (the over-the-wire case: a limited
    route under load refuses almost everything). ``MemoryStore`` runs beside them, and a
    no-op ``hit`` gives the loop and call alone. Then 1, 2 and 4 forked processes hit
    one SharedStore (or one SQLite file) at once for ``--mp-seconds``: hits per second
    per process and in all, since contention between workers is what ``--workers``
    adds.
(b) "Limiter overhead per request under 3 microseconds in memory": ``App.handle`` on
    pre-built ``Request`` objects in a loop on one event loop (no sockets, no test
    client thread hop), an app with ``app.add_middleware(RateLimit("1000000/s",
    store=MemoryStore()))`` minus the same app without it; also with the default
    ``shared_store()`` and the SQLite prototype.
(c) "With --workers 2, 50 clients hammering a route limited to 100 requests per 10 s
    for 30 s admit 300 plus or minus the burst, never per-process multiples":
    ``python3 -m heron bench/apps/ratelimited.py:app --workers 2`` (its limit:
    ``RateLimit("100/10s", key=everyone)``, default store), ``wrk -c50 -d30s`` on
    ``/limited``; admitted requests are counted by the server (per worker, in shared
    memory; ``GET /count`` after) and from wrk (requests minus non-2xx). With GCRA and
    burst = count = 100 the exact figure is 100 + 10 per second of the span the
    requests came over: about 400. The same with ``MemoryStore()`` shows the
    per-process multiple the shared store prevents (about 800), and with the SQLite
    prototype.

The in-process parts run on CPU 1 (the server's core in every bench here; the forked
processes of (a) on any CPU); the servers of (c) on CPU 1 as bench/run.py starts its
servers (heron from a snapshot of heron/, both workers on that core), wrk on CPU 0.
heron for the in-process parts is imported from the same snapshot. Only 127.0.0.1 is
contacted, counts and times are bounded, servers are stopped by PID.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import json
import multiprocessing
import os
import shlex
import shutil
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import run  # the harness: start/stop servers, wrk, /proc helpers, machine and revision

if TYPE_CHECKING:
    from heron.web.gcra import Decision, Rate

SQLITE_SYNCHRONOUS = "NORMAL"
"""With WAL, NORMAL syncs only at checkpoints (a commit is a write to the WAL file): the setting
SQLite recommends for WAL. The file is in /dev/shm, as SharedStore's is, where a sync costs nothing."""
SQLITE_TIMEOUT_S = 5.0
"""sqlite3's busy timeout: how long BEGIN IMMEDIATE waits for another process's write lock."""
SHM = "/dev/shm" if os.path.isdir("/dev/shm") else None
WIRE_LIMIT = (100, 10.0)  # bench/apps/ratelimited.py's "100/10s": count, period
TARGET_OVERHEAD_US = 3.0
SINGLE_STORES = ("noop", "gcra", "memory", "shared", "sqlite")
STORE_LABEL = {"noop": "no-op `hit` (the loop and the call)", "gcra": "`gcra` alone (no store)",
               "memory": "`MemoryStore`", "shared": "`SharedStore` (mmap + lockf)", "sqlite": "SQLite WAL prototype"}
CASES = ("1 key", "10,000 keys", "1 key, refused")
MP_CASES = ("1 key", "10,000 keys")
B_VARIANTS = ("no limiter", "RateLimit, MemoryStore()", "RateLimit, shared_store() (default)",
              "RateLimit, SQLite prototype")
WIRE_APPS = {"shared": "app", "memory": "app_memory", "sqlite": "app_sqlite"}
WIRE_RUNS = ("shared", "memory", "sqlite", "shared/close", "memory/close")
"""(c): each store with wrk's keep-alive connections; and with ``Connection: close`` (a new connection per
request), which spreads the requests over both workers whichever worker accepted wrk's first connections."""
WIRE_CMD = ("{python} -m heron {apps}/ratelimited.py:%s --workers %d --host 127.0.0.1 --port {port}"
            " --no-access-log --loop asyncio")


# -- the SQLite prototype ------------------------------------------------------------------


class SqliteStore:
    """A rate limit store in an SQLite file in WAL mode: the alternative to ``SharedStore``.

    The same interface (``hit(key, rates, now) -> Decision``) and arithmetic
    (``heron.web.gcra.gcra``): one row per key, its arrival times packed as doubles,
    read and written in one ``BEGIN IMMEDIATE`` transaction (the write lock taken
    first, so two processes cannot both read the old times). One connection per
    process, opened on the first hit in that process (a connection must not cross a
    fork), ``journal_mode=WAL``, ``synchronous=NORMAL``, the default busy timeout
    of 5 s; a ``threading.Lock`` for the threads of one process, as SharedStore has.
    Unbounded (no sweep of idle keys), which only flatters it.
    """

    def __init__(self, path: str, *, synchronous: str = SQLITE_SYNCHRONOUS) -> None:
        self.path = path
        self.synchronous = synchronous
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self._stale: list[sqlite3.Connection] = []  # inherited over a fork: never used, never closed here
        from heron.web.gcra import gcra
        self._gcra = gcra
        self._connection()  # the file, WAL mode and the table made once, before any fork
        self.close()

    def _connection(self) -> sqlite3.Connection:
        if self._pid != os.getpid():
            if self._conn is not None:
                self._stale.append(self._conn)
            conn = sqlite3.connect(self.path, timeout=SQLITE_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("CREATE TABLE IF NOT EXISTS limits (key TEXT PRIMARY KEY, tats BLOB NOT NULL) WITHOUT ROWID")
            self._conn, self._pid = conn, os.getpid()
        assert self._conn is not None
        return self._conn

    def hit(self, key: str, rates: Sequence[Rate], now: float) -> Decision:
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT tats FROM limits WHERE key = ?", (key,)).fetchone()
                record = struct.unpack(f"<{len(row[0]) // 8}d", row[0]) if row else None
                new, decision = self._gcra(record, rates, now)
                if new is not None:
                    conn.execute("INSERT OR REPLACE INTO limits (key, tats) VALUES (?, ?)",
                                 (key, struct.pack(f"<{len(new)}d", *new)))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return decision

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn, self._pid = None, 0


class GcraOnly:
    """``gcra`` on one record kept in an attribute: the arithmetic every store runs, with no store around it."""

    def __init__(self) -> None:
        from heron.web.gcra import gcra
        self._gcra, self._record = gcra, None

    def hit(self, key: str, rates: Sequence[Rate], now: float) -> Decision:
        new, decision = self._gcra(self._record if self._key == key else None, rates, now)
        if new is not None:
            self._key, self._record = key, new
        return decision

    _key = ""


class NoopStore:
    """A ``hit`` that does nothing: the loop and the call alone."""

    def __init__(self) -> None:
        from heron.web.gcra import Decision
        self._decision = Decision(True, 0.0, (1,), (0,))

    def hit(self, key: str, rates: Sequence[Rate], now: float) -> Decision:
        return self._decision


# -- (a) one store, in this process and in several ---------------------------------------------


def make_store(name: str, directory: str) -> Any:
    from heron.web.ratestores import MemoryStore, SharedStore
    if name == "memory":
        return MemoryStore()
    if name == "shared":
        return SharedStore()  # an unnamed file in /dev/shm, as shared_store() makes
    if name == "sqlite":
        return SqliteStore(os.path.join(directory, "limits-%d-%d.db" % (os.getpid(), time.monotonic_ns())))
    if name == "gcra":
        return GcraOnly()
    return NoopStore()


def cases() -> dict[str, tuple[list[str], tuple[Rate, ...]]]:
    """name -> (keys of one batch, the limits): admitted every time, or refused every time."""
    from heron.web.gcra import Rate
    generous = (Rate(1_000_000, 1.0),)  # never refuses here: every hit writes
    made = {"1 key": (["one-key"], generous),
            "10,000 keys": (["client-%d" % i for i in range(10_000)], generous),
            "1 key, refused": (["refused-key"], (Rate(1, 3600.0),))}
    assert tuple(made) == CASES
    return made


def time_batch(store: Any, keys: list[str], rates: tuple[Rate, ...], batch: int) -> float:
    """Seconds for ``batch`` hits, cycling through ``keys``."""
    work = (keys * (batch // len(keys) + 1))[:batch]
    hit, now = store.hit, time.time()
    gc.collect()
    started = time.perf_counter()
    for key in work:
        hit(key, rates, now)
    return time.perf_counter() - started


def single(args: argparse.Namespace, directory: str, rnd: int) -> list[dict[str, Any]]:
    """Per-hit µs of every store and case: best and median of ``--repeat`` batches, stores interleaved."""
    stores = {name: make_store(name, directory) for name in SINGLE_STORES}
    all_cases = cases()
    times: dict[tuple[str, str], list[float]] = {}
    for case, (keys, rates) in all_cases.items():
        for name, store in stores.items():  # warm: every key stored, the refused key's one admission spent
            for key in keys:
                store.hit(key, rates, time.time())
            time_batch(store, keys, rates, min(args.batch, 2000))
    for _ in range(args.repeat):
        for case, (keys, rates) in all_cases.items():
            for name, store in stores.items():
                times.setdefault((name, case), []).append(time_batch(store, keys, rates, args.batch) / args.batch)
    allowed = {name: {case: store.hit(keys[0], rates, time.time()).allowed for case, (keys, rates) in
                      all_cases.items()} for name, store in stores.items() if name not in ("noop", "gcra")}
    for store in stores.values():
        if hasattr(store, "close"):
            store.close()
    ok = all(a["1 key"] and a["10,000 keys"] and not a["1 key, refused"] for a in allowed.values())
    return [dict(part="a-single", round=rnd, store=name, case=case, ok=ok,
                 best_us=round(min(ts) * 1e6, 3), median_us=round(statistics.median(ts) * 1e6, 3))
            for (name, case), ts in times.items()]


def _hammer(store: Any, keys: list[str], rates: tuple[Rate, ...], offset: int, seconds: float,
            go: Any, out: Any) -> None:
    """In a forked child: hit ``store`` as fast as it goes for ``seconds`` once ``go`` is set; send the count."""
    work = keys[offset:] + keys[:offset]
    chunk = [work[i % len(work)] for i in range(64)] if len(work) < 64 else None
    hit, clock, n, i, worst, slow = store.hit, time.perf_counter, 0, 0, 0.0, 0
    go.wait()
    started = clock()
    stop = started + seconds
    while True:
        now = time.time()
        if clock() >= stop:
            break
        if chunk is None:
            batch, i = work[i:i + 64], (i + 64) % len(work)
        else:
            batch = chunk
        for key in batch:
            t0 = clock()
            hit(key, rates, now)
            took = clock() - t0
            if took > 1e-3:
                slow += 1
                if took > worst:
                    worst = took
        n += len(batch)
    out.send((n, clock() - started, worst, slow))
    out.close()


def contended(args: argparse.Namespace, directory: str, rnd: int) -> list[dict[str, Any]]:
    """1, 2 and 4 processes hitting one store at once: hits per second per process and in all."""
    ctx = multiprocessing.get_context("fork")
    recs = []
    for case in MP_CASES:
        keys, rates = cases()[case]
        for name in ("shared", "sqlite"):
            for procs in args.procs:
                store = make_store(name, directory)  # made before the fork, as a server makes it
                go = ctx.Event()
                pipes, children = [], []
                for p in range(procs):
                    mine, theirs = ctx.Pipe(duplex=False)
                    child = ctx.Process(target=_hammer, args=(store, keys, rates, p * len(keys) // max(procs, 1),
                                                              args.mp_seconds, go, theirs), daemon=True)
                    child.start()
                    theirs.close()
                    pipes.append(mine)
                    children.append(child)
                time.sleep(0.2)
                go.set()
                results = []
                for pipe in pipes:
                    if pipe.poll(args.mp_seconds + 30):
                        results.append(pipe.recv())
                for child in children:
                    child.join(5)
                    if child.is_alive():
                        child.kill()
                        child.join()
                if hasattr(store, "close"):
                    store.close()
                rec: dict[str, Any] = dict(part="a-procs", round=rnd, store=name, case=case, procs=procs,
                                           ok=len(results) == procs)
                if rec["ok"]:
                    per = [n / s for n, s, _, _ in results]
                    rec.update(total_hits_s=round(sum(per)), per_proc_hits_s=[round(x) for x in per],
                               worst_ms=round(max(w for _, _, w, _ in results) * 1e3, 2),
                               over_1ms=round(sum(k for _, _, _, k in results) / sum(n for n, _, _, _ in results), 5))
                recs.append(rec)
                print("[round %d] (a) %-6s %-12s %d procs: %s" % (
                    rnd, name, case, procs, "%s hits/s in all" % rec.get("total_hits_s", "FAILED")), file=sys.stderr)
    return recs


# -- (b) the limiter's cost per request through App.handle ------------------------------------


class _Body:
    """An empty request body that is never read."""

    async def read_chunk(self) -> bytes:
        return b""

    def take_if_complete(self) -> bytes:
        return b""

    @property
    def gone(self) -> bool:
        return False

    async def wait_disconnected(self) -> None:
        await asyncio.get_running_loop().create_future()


def overhead_apps(directory: str) -> dict[str, Any]:
    """variant -> App: one async route, without and with the middleware over each store."""
    from heron import App, Request, Response
    from heron.web.ratelimit import RateLimit
    from heron.web.ratestores import MemoryStore

    def app_with(store: Any, limited: bool) -> App:
        app = App()
        if limited:
            app.add_middleware(RateLimit("1000000/s", store=store))

        @app.get("/plaintext")
        async def plaintext(request: Request) -> Response:
            return Response(b"Hello, World!", content_type="text/plain; charset=utf-8")

        return app

    apps = {"no limiter": app_with(None, False),
            "RateLimit, MemoryStore()": app_with(MemoryStore(), True),
            "RateLimit, shared_store() (default)": app_with(None, True),
            "RateLimit, SQLite prototype": app_with(make_store("sqlite", directory), True)}
    assert tuple(apps) == B_VARIANTS
    return apps


def overhead(args: argparse.Namespace, directory: str, rnd: int) -> list[dict[str, Any]]:
    """µs per ``App.handle`` for each variant: best and median of ``--repeat`` batches, interleaved."""
    from heron.messages.request import Request
    from heron.protocol.events import RequestHead

    apps = overhead_apps(directory)
    loop = asyncio.new_event_loop()
    head = RequestHead("GET", "/plaintext", "/plaintext", "", "1.1", [("Host", "127.0.0.1:8080"),
                       ("User-Agent", "bench"), ("Accept", "*/*")], "127.0.0.1:8080", True, False, None, False)

    def requests(n: int) -> list[Request]:
        return [Request(head, _Body(), client=("127.0.0.1", 40000 + i % 20000), server=("127.0.0.1", 8080),
                        loop=loop) for i in range(n)]

    async def batch(handle: Callable[[Request], Any], reqs: list[Request]) -> float:
        started = time.perf_counter()
        for request in reqs:
            await handle(request)
        return time.perf_counter() - started

    async def checked(app: Any) -> tuple[str | None, set[str]]:
        response = await app.handle(requests(1)[0])
        names = {k.lower() for k, _ in response.headers}
        return (None if response.status == 200 else "status %d" % response.status), names

    times: dict[str, list[float]] = {}
    problems = []
    try:
        for name, app in apps.items():
            why, names = loop.run_until_complete(checked(app))
            if why or (name != "no limiter") != ("ratelimit" in names and "ratelimit-policy" in names):
                problems.append("%s: %s, fields %s" % (name, why, sorted(names)))
            loop.run_until_complete(batch(app.handle, requests(2000)))  # warm
        for _ in range(args.repeat):
            for name, app in apps.items():
                reqs = requests(args.batch)
                gc.collect()
                times.setdefault(name, []).append(loop.run_until_complete(batch(app.handle, reqs)) / args.batch)
                del reqs
    finally:
        loop.close()
    return [dict(part="b", round=rnd, variant=name, ok=not problems, problems=problems,
                 best_us=round(min(ts) * 1e6, 3), median_us=round(statistics.median(ts) * 1e6, 3))
            for name, ts in times.items()]


# -- (c) over the wire ------------------------------------------------------------------------


def count(port: int) -> list[dict[str, Any]]:
    status, _, body = run.request(port, dict(path="/count"))
    if status != 200:
        raise RuntimeError("GET /count answered %d" % status)
    return json.loads(body)["workers"]


def wire(args: argparse.Namespace, name: str, rnd: int) -> dict[str, Any]:
    """One fresh ``--workers`` server hammered by wrk on /limited; what it admitted."""
    store, _, mode = name.partition("/")
    rec: dict[str, Any] = dict(part="c", round=rnd, run=name, store=store, close=mode == "close",
                               workers=args.workers, ok=False)
    tmp = tempfile.mkdtemp(prefix="heron-bench-ratelimit-", dir=SHM)
    log = open(os.path.join(tmp, "server.log"), "w+")
    port = run.free_port()
    spec = dict(cmd=WIRE_CMD % (WIRE_APPS[store], args.workers), cwd="{heron_src}",
                env=dict(run.HERON_ENV, RATELIMIT_SQLITE_PATH="{tmp}/limits.db"))
    proc, argv = run.start_server(spec, args.heron_src, tmp, port, log)
    rec["command"] = " ".join(shlex.quote(a) for a in argv[3:]).replace(args.heron_src, "{heron_src}")
    try:
        why = run.wait_ready(proc, port, 20)
        if why:
            rec["error"] = "server not ready: " + why
            return rec
        if any(w["admitted"] or w["refused"] for w in count(port)):
            rec["error"] = "counts not zero before the load"
            return rec
        script = os.path.join(tmp, "limited.lua")
        sc: dict[str, Any] = dict(path="/limited", headers={"Connection": "close"} if rec["close"] else {})
        run.wrk_script(sc, script)
        wrk = argparse.Namespace(wrk_threads=1, connections=args.connections, timeout=2)
        cmd = run.wrk_cmd(wrk, sc, port, script, args.duration)
        rec["wrk_cmd"] = " ".join(shlex.quote(a) for a in cmd)
        cpu0 = run.tree_cpu_s(proc.pid)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 60)
        rec["server_cpu_s"] = round(run.tree_cpu_s(proc.pid) - cpu0, 2)
        time.sleep(0.3)  # the answers wrk had in flight
        workers = count(port)
        status, headers, _ = run.request(port, dict(path="/limited"))
        rec["probe"] = dict(status=status, **{k: headers.get(k) for k in ("ratelimit-policy", "ratelimit",
                                                                           "retry-after")})
        wrk_out = run.parse_wrk(done.stdout + done.stderr)
        if not wrk_out.get("requests"):
            rec["error"] = "wrk completed no requests: " + (done.stdout + done.stderr)[-300:]
            return rec
        span = max(w["last"] for w in workers) - min(w["first"] for w in workers)
        count_, period = WIRE_LIMIT
        rec.update(
            wrk_requests=wrk_out["requests"], wrk_non2xx=wrk_out["non2xx"],
            wrk_admitted=wrk_out["requests"] - wrk_out["non2xx"], rps=round(wrk_out["rps"]),
            errors=sum(wrk_out.get(k, 0) for k in ("connect", "read", "write", "timeout")),
            admitted=sum(w["admitted"] for w in workers), refused=sum(w["refused"] for w in workers),
            per_worker=[dict(admitted=w["admitted"], refused=w["refused"]) for w in workers],
            span_s=round(span, 3), one_process_bound=count_ + int(span * count_ / period + 1e-9))
        rec["ok"] = proc.poll() is None and rec["errors"] <= 0.01 * rec["wrk_requests"]
        if not rec["ok"]:
            rec["error"] = "server died" if proc.poll() is not None else "%d socket errors" % rec["errors"]
        return rec
    except Exception as e:  # noqa: BLE001 - the record says why
        rec["error"] = "%s: %s" % (type(e).__name__, e)
        return rec
    finally:
        run.end_server(proc, log, tmp, rec)


# -- the report -------------------------------------------------------------------------------


def med(values: Sequence[float]) -> float:
    return statistics.median(values)


def split(rec: dict[str, Any]) -> str:
    """Who admitted what: "200 + 200 per worker", or that one worker took every connection."""
    if len(rec["per_worker"]) == 1:
        return "one worker took every connection"
    return " + ".join(str(w["admitted"]) for w in rec["per_worker"]) + " per worker"


def in_band(rec: dict[str, Any]) -> bool:
    """Issue 18's band: 300 (30 s at 10 a second) plus or minus the burst (100)."""
    return 300 - WIRE_LIMIT[0] <= rec["admitted"] <= 300 + WIRE_LIMIT[0]


def markdown(meta: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    good = [r for r in runs if r["ok"]]
    a1 = [r for r in good if r["part"] == "a-single"]
    a2 = [r for r in good if r["part"] == "a-procs"]
    b = [r for r in good if r["part"] == "b"]
    c = [r for r in runs if r["part"] == "c"]
    rounds = sorted({r["round"] for r in runs if r["part"] == "b"})

    def a1_med(store: str, case: str, key: str) -> float | None:
        values = [r[key] for r in a1 if (r["store"], r["case"]) == (store, case)]
        return med(values) if values else None

    def a2_cell(store: str, case: str, procs: int) -> list[dict[str, Any]]:
        return [r for r in a2 if (r["store"], r["case"], r["procs"]) == (store, case, procs)]

    def a2_total(store: str, case: str, procs: int) -> float | None:
        values = [r["total_hits_s"] for r in a2_cell(store, case, procs)]
        return med(values) if values else None

    def b_med(variant: str, key: str) -> float | None:
        values = [r[key] for r in b if r["variant"] == variant]
        return med(values) if values else None

    def b_over(variant: str, key: str = "best_us") -> float | None:
        """Per round: the variant's best (or median) minus the bare app's; the median of those."""
        best = {(r["variant"], r["round"]): r[key] for r in b}
        diffs = [best[variant, rnd] - best["no limiter", rnd] for rnd in rounds
                 if (variant, rnd) in best and ("no limiter", rnd) in best]
        return med(diffs) if diffs else None

    def fmt(x: float | None, spec: str = "%.2f") -> str:
        return "–" if x is None else spec % x

    def met(ok: bool) -> str:
        return "✓ met" if ok else "✗ not met"

    L = ["# Rate limiting: store costs, limiter overhead, and --workers over the wire", "",
         "Generated by `%s` on %s (%s; heron %s, sha256 of heron/*.py %s). %s, SQLite %s; %s." % (
             meta["command"].strip(), meta["date"], meta["machine"], meta["heron_rev"], meta["heron_fingerprint"],
             meta["python"], meta["sqlite"], meta["wrk"].split(" Copyright")[0]),
         "In-process figures: medians over %d interleaved rounds of the best (and median) of %d batches of "
         "%d calls, on CPU %s." % (meta["rounds"], meta["repeat"], meta["batch"], run.SERVER_CPU)]
    busy = [q for q in meta.get("quiet", []) if q["busy"] >= 0.10]
    L += ["Before each round and each run over the wire the machine was idle (under 10%% of a core busy)%s." % (
        "" if not busy else ", except before " + ", ".join("%s (%.0f%% of a core)" % (q["before"], 100 * q["busy"])
                                                            for q in busy)), ""]

    # -- targets
    over_mem = b_over("RateLimit, MemoryStore()")
    L += ["## Targets (issue 18)", "", "| target | figure | threshold | |", "| --- | --- | --- | --- |"]
    L.append("| limiter overhead per request, `MemoryStore`, in-process | %s µs (on the medians: %s µs) | < %.0f µs "
             "| %s |" % (fmt(over_mem), fmt(b_over("RateLimit, MemoryStore()", "median_us")), TARGET_OVERHEAD_US,
                         "–" if over_mem is None else met(over_mem < TARGET_OVERHEAD_US)))
    for r in c:
        if r["ok"] and r["store"] in ("shared", "sqlite"):
            L.append("| `--workers %d`, %d clients, %d s on `100/10s`, %s, %s: admitted | %d | 300 ± %d | %s |" % (
                r["workers"], meta["connections"], meta["duration"], STORE_LABEL[r["store"]],
                "`Connection: close`" if r["close"] else "keep-alive", r["admitted"], WIRE_LIMIT[0],
                met(in_band(r))))
    for r in c:
        if r["ok"] and r["store"] == "memory":
            L.append("| the same over `MemoryStore()` (a count per process), %s | %d (%s) | (the multiple the "
                     "shared store prevents) | %.2fx one budget |" % (
                         "`Connection: close`" if r["close"] else "keep-alive", r["admitted"], split(r),
                         r["admitted"] / r["one_process_bound"]))
    picks = []
    for procs in meta["procs"]:
        s, q = a2_total("shared", "1 key", procs), a2_total("sqlite", "1 key", procs)
        if s and q:
            picks.append("%d process%s: %.1fx" % (procs, "es" if procs > 1 else "", s / q))
    if picks:
        L.append("| the shared store, chosen by measurement: SharedStore ÷ SQLite WAL, hits/s in all, one key | %s "
                 "| > 1: SharedStore | %s |" % ("; ".join(picks), "SharedStore" if all(
                     float(p.rsplit(" ", 1)[1].rstrip("x")) > 1 for p in picks) else "mixed: see (a)"))
    L.append("")

    # -- (a)
    L += ["## (a) One hit, in one process (µs per call)", "",
          "Every key already stored. Admitted: a limit of 1,000,000/s, so every hit writes. Refused: a "
          "limit of 1 an hour, spent, so every hit only reads (what a limited route under load mostly does). "
          "`now` is taken once per batch. Best / median of the batches, medians over rounds.", "",
          "| store | " + " | ".join(CASES) + " |", "| --- |" + " ---: |" * len(CASES)]
    for store in SINGLE_STORES:
        L.append("| %s | " % STORE_LABEL[store] + " | ".join(
            "%s / %s" % (fmt(a1_med(store, cs, "best_us")), fmt(a1_med(store, cs, "median_us"))) for cs in CASES)
            + " |")
    ratios = []
    for cs in CASES:
        s, q = a1_med("shared", cs, "best_us"), a1_med("sqlite", cs, "best_us")
        if s and q:
            ratios.append("%s %.1fx" % (cs, q / s))
    L += ["", "SQLite ÷ SharedStore (best): " + ", ".join(ratios) + ".", ""]
    L += ["### Several processes hitting one store at once", "",
          "Forked after the store is made (as `--workers` forks after the app is imported), each process "
          "hits it in a loop for %.1f s, timing every hit. The machine has %d CPUs: 4 processes time-share "
          "them. Hits per second, medians over rounds; the slowest single hit and the share of hits over "
          "1 ms, worst over rounds (a slowest hit as long as the run: a process that waited for the lock "
          "all along)." % (meta["mp_seconds"], os.cpu_count() or 0), "",
          "| case | store | processes | hits/s in all | per process, min–max | slowest hit | hits over 1 ms |",
          "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for cs in MP_CASES:
        for store in ("shared", "sqlite"):
            for procs in meta["procs"]:
                cell = a2_cell(store, cs, procs)
                if not cell:
                    L.append("| %s | %s | %d | failed | | | |" % (cs, STORE_LABEL[store], procs))
                    continue
                per = [x for r in cell for x in r["per_proc_hits_s"]]
                L.append("| %s | %s | %d | {:,.0f} | {:,.0f}–{:,.0f} | %.2f ms | %.3f%% |".format(
                    a2_total(store, cs, procs), min(per), max(per)) % (
                    cs, STORE_LABEL[store], procs, max(r["worst_ms"] for r in cell),
                    100 * max(r["over_1ms"] for r in cell)))
    contention = []
    for cs in MP_CASES:
        for procs in meta["procs"]:
            s, q = a2_total("shared", cs, procs), a2_total("sqlite", cs, procs)
            if s and q:
                contention.append("%s, %d: %.1fx" % (cs, procs, s / q))
    L += ["", "SharedStore ÷ SQLite, hits per second in all: " + "; ".join(contention) + ".", ""]

    # -- (b)
    L += ["## (b) The limiter's cost per request (`App.handle`, in-process, µs)", "",
          "`App.handle` awaited in a loop on one event loop over pre-built `Request` objects (`GET /plaintext`, "
          "an `async def` route answering 13 bytes; the limit's key: the client's address, one key). Overhead: "
          "per round, the variant's best (median) minus the bare app's best (median); the median over rounds. "
          "Writing the two more header fields on the wire (about 70 bytes) is not in these figures.", "",
          "| app | best | median | overhead (best) | overhead (median) |", "| --- | ---: | ---: | ---: | ---: |"]
    for variant in B_VARIANTS:
        L.append("| %s | %s | %s | %s | %s |" % (
            variant, fmt(b_med(variant, "best_us")), fmt(b_med(variant, "median_us")),
            "" if variant == "no limiter" else fmt(b_over(variant)),
            "" if variant == "no limiter" else fmt(b_over(variant, "median_us"))))
    L.append("")

    # -- (c)
    L += ["## (c) `--workers %d` over the wire" % meta["workers"], "",
          "`%s`, APP one of `app`: `RateLimit(\"100/10s\", key=everyone)` over the default `shared_store()`; "
          "`app_memory`: over `MemoryStore()`; `app_sqlite`: over the SQLite prototype (bench/apps/ratelimited.py). "
          "A fresh server per run, both workers on CPU %s; `wrk -t1 -c%d -d%ds` on CPU %s on `GET /limited`, "
          "keep-alive or with `Connection: close` (a new connection per request, so that both workers take "
          "requests all along: with keep-alive, whichever worker accepts wrk's connections keeps them). No "
          "warm-up: it would spend the budget. Admitted: counted by the server (per worker, in shared memory, "
          "read from `GET /count` after); wrk's count (requests minus non-2xx) misses answers in flight when it "
          "stopped. One budget: what GCRA admits for one budget over the span from the first request to the "
          "last, 100 + 10 per second. req/s: everything wrk got, 429s included (each one ran the store); it "
          "depends on how wrk's connections fell between the workers more than on the store (two workers "
          "time-sharing one core serve fewer than one alone). Server CPU µs/req: the server's CPU time (all "
          "its processes) ÷ the requests it counted." % (
              WIRE_CMD.replace("{python}", "python3").replace("{apps}", "bench/apps") % ("APP", meta["workers"]),
              run.SERVER_CPU, meta["connections"], meta["duration"], run.CLIENT_CPU), "",
          "| run | store | connections | admitted | per worker: admitted of requests | wrk: admitted / requests "
          "| span | one budget | 300 ± 100 | req/s | server CPU µs/req |",
          "| --- | --- | --- | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: |"]
    for r in c:
        mode = "close" if r["close"] else "keep-alive"
        if not r["ok"]:
            L.append("| %d | %s | %s | failed: %s | | | | | | | |" % (
                r["round"], r["store"], mode, r.get("error", "?")))
            continue
        L.append("| %d | %s | %s | %d | %s | %d / %d | %.2f s | %d | %s | %d | %.0f |" % (
            r["round"], r["store"], mode, r["admitted"],
            " + ".join("%d of %d" % (w["admitted"], w["admitted"] + w["refused"]) for w in r["per_worker"]),
            r["wrk_admitted"], r["wrk_requests"], r["span_s"], r["one_process_bound"],
            ("✓" if in_band(r) else "✗") if r["store"] != "memory" else "– (a budget per worker)", r["rps"],
            r["server_cpu_s"] * 1e6 / (r["admitted"] + r["refused"])))
    probes = ["%s: %s, `RateLimit-Policy: %s`, `RateLimit: %s`" % (
        r["run"], r["probe"]["status"], r["probe"]["ratelimit-policy"], r["probe"]["ratelimit"])
        for r in c if r.get("probe")]
    if probes:
        L += ["", "One more `GET /limited` after each run: " + "; ".join(probes) + "."]
    L += ["", "## Settings", "",
          "- SQLite prototype (`SqliteStore` in bench/ratelimit.py): one connection per process, "
          "`journal_mode=WAL`, `synchronous=%s`, busy timeout %.0f s (sqlite3's `timeout`), autocommit mode "
          "with an explicit `BEGIN IMMEDIATE` ... `COMMIT` around the read, `gcra` and the write; a "
          "`WITHOUT ROWID` table of (key, arrival times packed as doubles); the file in %s (tmpfs, as "
          "SharedStore's); no sweep of idle keys." % (
              SQLITE_SYNCHRONOUS, SQLITE_TIMEOUT_S, SHM or tempfile.gettempdir()),
          "- SharedStore: heron's defaults (65,536 slots, an unnamed file in /dev/shm).", ""]
    failed = [r for r in runs if not r["ok"]]
    if failed:
        L += ["## Failed", ""] + ["- %s round %d %s: %s" % (r["part"], r["round"], r.get("run") or r.get("store") or
                                                             r.get("variant"), r.get("error") or r.get("problems"))
                                  for r in failed]
    return "\n".join(L) + "\n"


def quiet(args: argparse.Namespace, what: str) -> None:
    """Wait (bounded) for other jobs on the machine to go idle; note how busy it still was."""
    if args.quiet_wait > 0:
        waited, busy = run.wait_quiet(args.quiet_wait)
        args.quiet_log.append(dict(before=what, waited_s=waited, busy=busy))
        if busy >= 0.10:
            print("(%s: the machine is still %.0f%% busy after %.0f s)" % (what, 100 * busy, waited), file=sys.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the in-process parts (a) and (b)")
    ap.add_argument("--repeat", type=int, default=7, help="batches per store or app in each round")
    ap.add_argument("--batch", type=int, default=10_000, help="calls per batch")
    ap.add_argument("--mp-seconds", type=float, default=1.5, help="seconds of each several-process run in (a)")
    ap.add_argument("--procs", default="1,2,4", help="process counts for the several-process runs in (a)")
    ap.add_argument("--duration", type=int, default=30, help="seconds of wrk in (c)")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--wire", default=",".join(WIRE_RUNS),
                    help="runs over the wire in (c), STORE or STORE/close ('' for none)")
    ap.add_argument("--wire-rounds", type=int, default=1)
    ap.add_argument("--quiet-wait", type=float, default=20.0,
                    help="before each round and each run over the wire, wait up to this long for the machine's "
                         "other jobs to go idle")
    ap.add_argument("--no-md", action="store_true", help="do not write bench/RESULTS-ratelimit.md")
    ap.add_argument("--report-only", metavar="JSON",
                    help="re-make the report from a run's bench/results/ratelimit-*.json")
    args = ap.parse_args()
    md = None if args.no_md else os.path.join(run.BENCH, "RESULTS-ratelimit.md")
    if args.report_only:
        with open(args.report_only) as f:
            data = json.load(f)
        text = markdown(data["meta"], data["runs"])
        print(text)
        if md:
            with open(md, "w") as f:
                f.write(text)
        return 0
    args.procs = [int(p) for p in args.procs.split(",")]
    args.quiet_log = []
    wire_stores = [s for s in args.wire.split(",") if s]
    if set(wire_stores) - set(WIRE_RUNS):
        ap.error("unknown: %s (known: %s)" % (", ".join(set(wire_stores) - set(WIRE_RUNS)), ", ".join(WIRE_RUNS)))
    if wire_stores and (not shutil.which("wrk") or not os.access(run.VPY, os.X_OK)):
        subprocess.run(["bash", os.path.join(run.BENCH, "setup.sh")], check=True)
    estimate = args.rounds * (4 * len(args.procs) * (args.mp_seconds + 0.5) + 25) + \
        args.wire_rounds * len(wire_stores) * (args.duration + 4)
    print("about %.1f minutes" % (estimate / 60), file=sys.stderr)
    snap = tempfile.mkdtemp(prefix="heron-bench-src-")
    work = tempfile.mkdtemp(prefix="heron-bench-ratelimit-", dir=SHM)
    runs: list[dict[str, Any]] = []
    try:
        args.heron_src = run.snapshot_heron(snap)
        sys.path.insert(0, args.heron_src)  # the in-process parts use the same heron as the servers
        os.sched_setaffinity(0, {int(run.SERVER_CPU)})
        for rnd in range(1, args.rounds + 1):
            quiet(args, "round %d in-process" % rnd)
            for rec in single(args, work, rnd):
                runs.append(rec)
            print("[round %d] (a) one process: %s" % (rnd, ", ".join(
                "%s %s %.2f" % (r["store"], r["case"], r["best_us"]) for r in runs[-3 * len(SINGLE_STORES):])),
                file=sys.stderr)
            runs += overhead(args, work, rnd)
            print("[round %d] (b) %s" % (rnd, ", ".join("%s %.2f" % (r["variant"], r["best_us"]) for r in runs[-4:])),
                  file=sys.stderr)
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
            runs += contended(args, work, rnd)
            os.sched_setaffinity(0, {int(run.SERVER_CPU)})
        os.sched_setaffinity(0, {int(run.CLIENT_CPU)})
        for rnd in range(1, args.wire_rounds + 1):
            for store in wire_stores:
                quiet(args, "round %d %s" % (rnd, store))
                rec = wire(args, store, rnd)
                runs.append(rec)
                print("[round %d] (c) %-12s %s" % (rnd, store, (
                    "admitted %s (wrk %s of %s), per worker %s, span %s s" % (
                        rec.get("admitted"), rec.get("wrk_admitted"), rec.get("wrk_requests"), rec.get("per_worker"),
                        rec.get("span_s")) if rec["ok"] else "FAILED: %s" % rec.get("error"))), file=sys.stderr)
        fingerprint = run.heron_fingerprint(snap)
    finally:
        shutil.rmtree(snap, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    meta = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                machine=run.machine(), heron_rev=run.heron_rev(), heron_fingerprint=fingerprint,
                python="Python %s" % sys.version.split()[0], sqlite=sqlite3.sqlite_version,
                wrk=run.versions(()).splitlines()[-1],
                rounds=args.rounds, repeat=args.repeat, batch=args.batch, mp_seconds=args.mp_seconds,
                procs=args.procs, duration=args.duration, connections=args.connections, workers=args.workers,
                wire=wire_stores, quiet=args.quiet_log,
                command="python3 bench/ratelimit.py " + " ".join(map(shlex.quote, sys.argv[1:])))
    return run.save_run("ratelimit", meta, runs, markdown(meta, runs), md)


if __name__ == "__main__":
    sys.exit(main())
