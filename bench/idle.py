#!/usr/bin/env python3
"""10,000 idle keep-alive connections on one heron process: memory and throughput.

    python3 bench/idle.py            # once, on a fresh snapshot of heron/ (bench/run.py
                                     # runs it once per round through measure())

heron (bench/app.py on the asyncio loop, pinned to the server CPU) is started with
`--max-connections 11000 --keepalive-timeout 600`: its defaults (2048 connections,
5 s keep-alive) would refuse or close most of the idle connections, which is what
they are for. Then:

1. wrk warm-up and a measured plaintext run, exactly as bench/run.py's plaintext
   scenario: the unloaded rate; the server's VmRSS (summed over its process tree)
   after it is "idle RSS";
2. this process, pinned to the client CPU, opens 10,000 connections and on each sends
   `GET /plaintext` and reads the whole answer, so they are idle keep-alive connections
   (not unfinished request heads), and holds them; VmRSS again;
3. the same wrk warm-up and run while they are held: the loaded rate;
4. the held connections must still be open (none readable: no EOF, no stray bytes), and
   100 of them, spread evenly, must each answer one more request with 200.

Target (issue 5): under 40 MiB above idle RSS, and at least 80% of the unloaded rate.
Every step is bounded in time. Standard library only; talks to 127.0.0.1 only.
"""
import argparse
import json
import os
import resource
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import run  # the harness: servers, wrk, /proc helpers (run.py imports this module lazily)

HELD = 10_000
SAMPLE = 100
SERVER_ARGS = " --max-connections 11000 --keepalive-timeout 600"
RSS_LIMIT_MIB = 40.0
RATE_LIMIT = 0.80
OPEN_WINDOW = 256  # connections in flight (connecting or awaiting the answer) while opening
OPEN_DEADLINE_S = 60.0
REQUEST = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def answer_status(buf):
    """The status of the one complete response in buf, or None while it is incomplete.
    Enough HTTP for the bench app's plaintext answer (Content-Length framing)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end]).decode("latin-1").split("\r\n")
    length = 0
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if len(buf) < end + 4 + length:
        return None
    return int(head[0].split()[1])


def open_idle(port, n):
    """n connections, each having had one full 200 answer; raises if any fails or the
    deadline passes (the sockets opened so far are closed then)."""
    sel = selectors.DefaultSelector()
    held, opened = [], 0
    deadline = time.monotonic() + OPEN_DEADLINE_S
    try:
        while len(held) < n:
            if time.monotonic() > deadline:
                raise TimeoutError("%d of %d connections ready after %.0f s"
                                   % (len(held), n, OPEN_DEADLINE_S))
            while opened < n and opened - len(held) < OPEN_WINDOW:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                s.connect_ex((run.HOST, port))
                sel.register(s, selectors.EVENT_WRITE, bytearray())
                opened += 1
            for key, events in sel.select(timeout=1.0):
                s, buf = key.fileobj, key.data
                if events & selectors.EVENT_WRITE:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, "connection %d: %s" % (opened, os.strerror(err)))
                    s.send(REQUEST)  # 44 bytes into an empty send buffer: sent whole
                    sel.modify(s, selectors.EVENT_READ, buf)
                    continue
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("connection %d closed by the server before its "
                                          "answer (%d held)" % (opened, len(held)))
                buf += chunk
                status = answer_status(buf)
                if status is not None:
                    if status != 200:
                        raise ConnectionError("status %d on connection %d" % (status, opened))
                    sel.unregister(s)
                    held.append(s)
        return held
    except BaseException:
        for key in list(sel.get_map().values()):
            key.fileobj.close()
        for s in held:
            s.close()
        raise
    finally:
        sel.close()


def still_open(held):
    """How many held connections have nothing to read: the server neither closed them nor
    sent anything unasked."""
    with selectors.DefaultSelector() as sel:
        for s in held:
            sel.register(s, selectors.EVENT_READ)
        return len(held) - len(sel.select(timeout=0))


def sample_ok(held, k):
    """How many of k held connections, spread evenly, answer one more request with 200."""
    ok = 0
    for s in held[::max(1, len(held) // k)][:k]:
        try:
            s.setblocking(True)
            s.settimeout(5.0)
            s.sendall(REQUEST)
            buf = bytearray()
            while answer_status(buf) is None:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            ok += answer_status(buf) == 200
        except (OSError, ValueError, IndexError):
            pass
    return ok


def load(args, port, script):
    """The plaintext scenario's wrk warm-up and measured run; the measured run's figures
    and the server's CPU µs per request."""
    sc = run.SCENARIOS["plaintext"]
    if args.warmup > 0:
        subprocess.run(run.wrk_cmd(args, sc, port, script, args.warmup),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=args.warmup + 30)
    return subprocess.run(run.wrk_cmd(args, sc, port, script, args.duration),
                          capture_output=True, text=True, timeout=args.duration + 60).stdout


def measured(args, proc, port, script):
    """One load() with the server's CPU time around it; the record's wrk part."""
    cpu0 = run.tree_cpu_s(proc.pid)
    res = run.parse_wrk(load(args, port, script))
    cpu = run.tree_cpu_s(proc.pid) - cpu0
    reqs = res.get("requests", 0)
    errors = sum(res.get(k, 0) for k in ("connect", "read", "write", "timeout"))
    return dict(rps=round(res.get("rps", 0)), requests=reqs, socket_errors=errors,
                non2xx=res.get("non2xx", 0),
                cpu_us_per_req=round(cpu * 1e6 / reqs, 1) if reqs else None,
                ok=reqs > 0 and errors + res.get("non2xx", 0) <= 0.01 * reqs)


def rss_mib(proc):
    time.sleep(1.0)  # let the server settle (freed buffers, finished callbacks)
    return round(run.tree_rss_kb(proc.pid, "VmRSS") / 1024, 2)


def measure(args, heron_src, held_n=HELD):
    """One measurement; returns its record (ok False and a reason when a step failed)."""
    rec = dict(ok=False, reason=None, held=held_n, server_args=SERVER_ARGS.strip())
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < held_n + 1000:
        rec["reason"] = "RLIMIT_NOFILE hard limit %d is too low for %d connections" % (hard, held_n)
        return rec
    # the server is a child: it inherits the raised limit too
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = tempfile.mkdtemp(prefix="heron-bench-idle-")
    port = run.free_port()
    spec = dict(run.SERVERS["heron"])
    spec["cmd"] += SERVER_ARGS
    with open(os.path.join(tmp, "server.log"), "wb") as log:
        proc, argv = run.start_server(spec, heron_src, tmp, port, log)
    rec["cmd"] = " ".join(argv)
    held = []
    try:
        err = run.wait_ready(proc, port, args.start_timeout) or run.check(
            port, run.SCENARIOS["plaintext"])[0]
        if err:
            rec["reason"] = "start: " + err
            return rec
        script = os.path.join(tmp, "bench.lua")
        run.wrk_script(run.SCENARIOS["plaintext"], script)
        rec["unloaded"] = measured(args, proc, port, script)
        rec["idle_rss_mib"] = rss_mib(proc)
        t0 = time.monotonic()
        try:
            held = open_idle(port, held_n)
        except (OSError, TimeoutError) as e:
            rec["reason"] = "opening idle connections: %s" % e
            return rec
        rec["open_s"] = round(time.monotonic() - t0, 2)
        rec["held_rss_mib"] = rss_mib(proc)
        rec["loaded"] = measured(args, proc, port, script)
        rec["still_open"] = still_open(held)
        rec["sample_ok"] = sample_ok(held, SAMPLE)
        rec["sample"] = min(SAMPLE, len(held))
        rec["rss_delta_mib"] = round(rec["held_rss_mib"] - rec["idle_rss_mib"], 2)
        rec["kib_per_conn"] = round(rec["rss_delta_mib"] * 1024 / held_n, 2)
        if rec["unloaded"]["rps"]:
            rec["rate_ratio"] = round(rec["loaded"]["rps"] / rec["unloaded"]["rps"], 3)
        reasons = []
        if proc.poll() is not None:
            reasons.append("server died (exit code %s)" % proc.returncode)
        for k in ("unloaded", "loaded"):
            if not rec[k]["ok"]:
                reasons.append("%s wrk run: %d requests, %d socket errors, %d non-2xx" % (
                    k, rec[k]["requests"], rec[k]["socket_errors"], rec[k]["non2xx"]))
        if rec["still_open"] < held_n:
            reasons.append("%d of %d held connections were closed or got unasked bytes"
                           % (held_n - rec["still_open"], held_n))
        if rec["sample_ok"] < rec["sample"]:
            reasons.append("only %d of %d sampled held connections answered 200 afterwards"
                           % (rec["sample_ok"], rec["sample"]))
        rec["reason"] = "; ".join(reasons) or None
        rec["ok"] = not reasons
        return rec
    finally:
        for s in held:
            s.close()
        run.stop_server(proc)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        if not rec["ok"]:
            with open(os.path.join(tmp, "server.log"), "rb") as f:
                rec["server_log_tail"] = f.read()[-2000:].decode("utf-8", "replace")
        shutil.rmtree(tmp, ignore_errors=True)


def verdict(rec):
    """Text for one record: the figures and pass/fail against the targets."""
    if not rec["ok"] and "rss_delta_mib" not in rec:
        return "FAIL: %s" % rec["reason"]
    return ("idle RSS %.1f MiB, with %d held %.1f MiB: +%.1f MiB (%s %.0f; %.2f KiB each); "
            "%d req/s unloaded, %d held: %.2f (%s %.2f); %d still open, %d/%d answered%s" % (
                rec["idle_rss_mib"], rec["held"], rec["held_rss_mib"], rec["rss_delta_mib"],
                "pass <" if rec["rss_delta_mib"] < RSS_LIMIT_MIB else "FAIL, limit",
                RSS_LIMIT_MIB, rec["kib_per_conn"], rec["unloaded"]["rps"],
                rec["loaded"]["rps"], rec.get("rate_ratio", 0),
                "pass >=" if rec.get("rate_ratio", 0) >= RATE_LIMIT else "FAIL, limit",
                RATE_LIMIT, rec["still_open"], rec["sample_ok"], rec["sample"],
                "" if rec["ok"] else "; FAIL: %s" % rec["reason"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--held", type=int, default=HELD, help="idle connections to hold")
    ap.add_argument("--duration", type=int, default=5, help="wrk seconds per measured run")
    ap.add_argument("--warmup", type=int, default=2, help="wrk warm-up seconds")
    ap.add_argument("--connections", type=int, default=50, help="wrk connections")
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=2, help="wrk per-request timeout, s")
    ap.add_argument("--start-timeout", type=float, default=20.0)
    ap.add_argument("--json", action="store_true", help="print the record as JSON")
    args = ap.parse_args()
    return run.standalone(lambda src: measure(args, src, args.held),
                          lambda rec: json.dumps(rec, indent=1) if args.json else verdict(rec))


if __name__ == "__main__":
    sys.exit(main())
