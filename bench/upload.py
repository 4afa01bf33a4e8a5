#!/usr/bin/env python3
"""A large upload over the wire through ``request.form()``: heron beside Starlette on uvicorn.

    python3 bench/upload.py --md                 # 1 GiB, 3 rounds; writes bench/RESULTS-upload.md
    python3 bench/upload.py --size-mib 256 --rounds 1 --servers heron

Issue 16 asks that a 1 GiB upload through ``request.form()`` keeps the server under
64 MiB of resident memory above its idle size and runs at 300 MiB/s or more on one
core. Each server runs alone on CPU 1 (a fresh process per run, started as bench/run.py
starts its servers; heron from a snapshot of heron/ with ``--max-body-bytes`` raised to
fit). The client is this process, on CPU 0: a raw socket sending one
``multipart/form-data`` body with a small field and one file, the file a 1 MiB random
block repeated (generated once, never the whole body in memory), ``Content-Length``
framed as browsers send uploads. The server's handler reads the form (the file spooled to
a temporary file on disk) and answers its size, which must be exact.

Measured per run: wall time from the first byte sent to the answer read; the server's
CPU seconds over that time (from /proc, its whole process tree); its resident memory
sampled every 20 ms (VmRSS over the tree), reported as the peak above the same process's
idle size just before the upload; and VmHWM as a cross-check. Rounds interleave the
servers; medians are reported. Only 127.0.0.1 is contacted; every step is bounded in
time; servers are stopped by PID, even on failure. The anchor is the stack FastAPI apps
use: Starlette 1.10's ``request.form()`` (python-multipart 0.0.34) on uvicorn with
httptools and uvloop.
"""
import argparse
import datetime
import json
import os
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import run  # the harness: start/stop servers, /proc helpers, machine and revision

BOUNDARY = b"----heronUploadBench0123456789"
BLOCK = 1024 * 1024
SERVERS = {
    "heron": dict(run.SERVERS["heron"], cmd=run.SERVERS["heron"]["cmd"] + " --max-body-bytes 1099511627776"),
    "heron-uvloop": dict(run.SERVERS["heron-uvloop"],
                         cmd=run.SERVERS["heron-uvloop"]["cmd"] + " --max-body-bytes 1099511627776"),
    "starlette": dict(
        cmd="{venv}/bin/uvicorn --host 127.0.0.1 --port {port} --http httptools --loop uvloop"
            " --no-access-log --log-level warning starlette_upload:app", cwd=run.APPS),
}
TARGET_RSS_MIB = 64
TARGET_MIB_S = 300


def body_parts(size):
    """(head, file block, count, tail): the body is head + block * count + tail."""
    head = (b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="title"\r\n\r\nbench upload\r\n'
            + b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
            + b"Content-Type: application/octet-stream\r\n\r\n")
    tail = b"\r\n--" + BOUNDARY + b"--\r\n"
    block = os.urandom(BLOCK)
    while b"\r\n--" + BOUNDARY in block + block[:len(BOUNDARY) + 4]:  # never true in practice
        block = os.urandom(BLOCK)
    return head, block, size // BLOCK, tail


def upload(port, parts, timeout):
    """Send the body, read the answer; (seconds, status, answer JSON or text)."""
    head, block, count, tail = parts
    length = len(head) + len(block) * count + len(tail)
    request = (b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
               b"Content-Type: multipart/form-data; boundary=" + BOUNDARY +
               b"\r\nContent-Length: " + str(length).encode() + b"\r\n\r\n")
    started = time.perf_counter()
    with socket.create_connection((run.HOST, port), timeout=timeout) as sock:
        sock.sendall(request + head)
        view = memoryview(block)
        for _ in range(count):
            sock.sendall(view)
        sock.sendall(tail)
        answer = bytearray()
        while chunk := sock.recv(65536):
            answer += chunk
    seconds = time.perf_counter() - started
    status_line, _, rest = bytes(answer).partition(b"\r\n")
    status = int(status_line.split()[1]) if status_line.startswith(b"HTTP/1.1 ") else 0
    payload = rest.partition(b"\r\n\r\n")[2]
    try:
        return seconds, status, json.loads(payload)
    except ValueError:
        return seconds, status, payload[:200].decode("latin-1")


class RssSampler(threading.Thread):
    """The server tree's VmRSS every 20 ms, keeping the largest."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.done = pid, 0, threading.Event()

    def run(self):
        while not self.done.wait(0.02):
            self.peak_kb = max(self.peak_kb, run.tree_rss_kb(self.pid, "VmRSS"))


def run_one(args, name, rnd):
    spec = SERVERS[name]
    rec = dict(server=name, round=rnd, ok=False)
    port = run.free_port()
    tmp = tempfile.mkdtemp(prefix="heron-bench-upload-")
    log = open(os.path.join(tmp, "server.log"), "w+")
    proc, argv = run.start_server(spec, args.heron_src, tmp, port, log)
    try:
        why = run.wait_ready(proc, port, 20)
        if why:
            rec["error"] = "server not ready: " + why
            return rec
        warm = upload(port, body_parts(2 * BLOCK), 30)  # a first small upload: imports, pools, a temp file
        if warm[1] != 200:
            rec["error"] = "warm-up upload answered %s: %s" % (warm[1], warm[2])
            return rec
        time.sleep(0.5)
        idle_kb = run.tree_rss_kb(proc.pid, "VmRSS")
        sampler = RssSampler(proc.pid)
        cpu0 = run.tree_cpu_s(proc.pid)
        sampler.start()
        seconds, status, answer = upload(port, args.parts, args.timeout)
        sampler.done.set()
        sampler.join()
        cpu = run.tree_cpu_s(proc.pid) - cpu0
        size = args.size_mib * BLOCK
        if status != 200 or not isinstance(answer, dict) or answer.get("size") != size:
            rec["error"] = "answer %s: %s (want size %d)" % (status, answer, size)
            return rec
        rec.update(ok=True, seconds=round(seconds, 3), mib_s=round(args.size_mib / seconds, 1),
                   server_cpu_s=round(cpu, 3), mib_per_cpu_s=round(args.size_mib / cpu, 1),
                   idle_mib=round(idle_kb / 1024, 1), peak_above_idle_mib=round((sampler.peak_kb - idle_kb) / 1024, 1),
                   hwm_above_idle_mib=round((run.tree_rss_kb(proc.pid) - idle_kb) / 1024, 1),
                   form_seconds=answer.get("form_seconds"), on_disk=answer.get("on_disk"))
        return rec
    finally:
        run.end_server(proc, log, tmp, rec)


def one_line(rec):
    if not rec["ok"]:
        return "FAILED: " + rec.get("error", "?")
    return ("%(mib_s)7.1f MiB/s  %(seconds)6.2f s  server %(server_cpu_s)5.2f CPU-s (%(mib_per_cpu_s)6.1f MiB per"
            " CPU-s)  peak +%(peak_above_idle_mib)5.1f MiB over idle (HWM +%(hwm_above_idle_mib)5.1f)" % rec)


def markdown(meta, runs):
    lines = ["# Upload over the wire: %d MiB through the form parser" % meta["size_mib"], "",
             "Generated by `%s` on %s (%s, heron %s %s)." % (meta["command"], meta["date"], meta["machine"],
                                                           meta["heron_rev"], meta["heron_fingerprint"]),
             "%s. Medians of %d interleaved rounds; temporary files on %s." % (
                 meta["versions"], meta["rounds"], meta["tmp_fs"]), "",
             "| server | MiB/s (wall) | server CPU-s | MiB per server CPU-s | peak RSS above idle | idle RSS | ok |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name in meta["servers"]:
        good = [r for r in runs if r["server"] == name and r["ok"]]
        total = sum(r["server"] == name for r in runs)
        if not good:
            lines.append("| %s | failed | | | | | 0/%d |" % (name, total))
            continue

        def m(key):
            return statistics.median(r[key] for r in good)
        lines.append("| %s | %.0f | %.2f | %.0f | %.1f MiB | %.1f MiB | %d/%d |" % (
            name, m("mib_s"), m("server_cpu_s"), m("mib_per_cpu_s"), m("peak_above_idle_mib"), m("idle_mib"),
            len(good), total))
    heron = [r for r in runs if r["server"] == "heron" and r["ok"]]
    if heron:
        rate, peak = statistics.median(r["mib_s"] for r in heron), statistics.median(
            r["peak_above_idle_mib"] for r in heron)
        lines += ["", "Targets (issue 16), heron on asyncio: at least %d MiB/s: **%s** (%.0f); peak RSS under %d MiB "
                  "above idle: **%s** (%.1f MiB)." % (TARGET_MIB_S, "met" if rate >= TARGET_MIB_S else "not met",
                                                      rate, TARGET_RSS_MIB,
                                                      "met" if peak < TARGET_RSS_MIB else "not met", peak)]
    lines += ["", "Every run:", "", "| round | server | result |", "| --- | --- | --- |"]
    lines += ["| %d | %s | %s |" % (r["round"], r["server"], one_line(r)) for r in runs]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--servers", default="heron,heron-uvloop,starlette")
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--md", nargs="?", const=os.path.join(run.BENCH, "RESULTS-upload.md"), default=None)
    args = ap.parse_args()
    servers = args.servers.split(",")
    if set(servers) - set(SERVERS):
        ap.error("unknown: %s (known: %s)" % (", ".join(set(servers) - set(SERVERS)), ", ".join(SERVERS)))
    if not os.access(run.VPY, os.X_OK) or subprocess.run(
            [run.VPY, "-c", "import uvicorn, uvloop, httptools"]).returncode:
        subprocess.run(["bash", os.path.join(run.BENCH, "setup.sh")], check=True)
    if "starlette" in servers and subprocess.run([run.VPY, "-c", "import starlette, python_multipart"]).returncode:
        subprocess.run([run.VPY, "-m", "pip", "install", "-q", "starlette==1.10.0", "python-multipart==0.0.34"],
                       check=True)
    os.sched_setaffinity(0, {int(run.CLIENT_CPU)})
    args.parts = body_parts(args.size_mib * BLOCK)
    snap = tempfile.mkdtemp(prefix="heron-bench-src-")
    runs = []
    try:
        args.heron_src = run.snapshot_heron(snap)
        for rnd in range(1, args.rounds + 1):
            for name in servers:
                rec = run_one(args, name, rnd)
                runs.append(rec)
                print("[round %d/%d] %-13s %s" % (rnd, args.rounds, name, one_line(rec)), file=sys.stderr)
        fingerprint = run.heron_fingerprint(snap)
    finally:
        shutil.rmtree(snap, ignore_errors=True)
    vers = subprocess.run([run.VPY, "-c", "import sys, importlib.metadata as m\nprint('python '"
                           " + sys.version.split()[0] + ', ' + ', '.join(p + ' ' + m.version(p) for p in "
                           "('starlette', 'python-multipart', 'uvicorn', 'httptools', 'uvloop')))"],
                          capture_output=True, text=True).stdout.strip()
    tmp_fs = subprocess.run(["df", "--output=fstype", tempfile.gettempdir()], capture_output=True,
                            text=True).stdout.split()[-1:]
    meta = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                machine=run.machine().replace("wrk to CPU", "the client to CPU"), heron_rev=run.heron_rev(),
                heron_fingerprint=fingerprint, versions=vers, rounds=args.rounds, servers=servers,
                size_mib=args.size_mib, tmp_fs=" ".join(tmp_fs) or "?",
                command="python3 bench/upload.py " + " ".join(map(shlex.quote, sys.argv[1:])))
    return run.save_run("upload", meta, runs, markdown(meta, runs), args.md)

if __name__ == "__main__":
    sys.exit(main())
