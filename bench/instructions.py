#!/usr/bin/env python3
"""Instructions a server runs per request, counted by valgrind: a measure the machine's noise does not move.

    python3 bench/instructions.py --servers heron,heron-uvloop --scenarios plaintext,echo-4k \\
        --extra "before=env PYTHONPATH=/tmp/before {python} -P -m heron /tmp/before/bench/app.py:app \\
                 --host 127.0.0.1 --port {port} --no-access-log"

(``-P``: the harness runs extras from the repo, whose heron would otherwise be imported first.)

Requests per second on this machine drift by 20-30% over minutes, so a change
of a few percent in heron's request path cannot be seen with wrk, even as a
ratio of interleaved rounds. This counts instead: each server of bench/run.py
(same commands, heron from a snapshot of the tree) runs under
`valgrind --tool=callgrind` and is sent a fixed number of requests of a
scenario, one at a time, by a client in this process (keep-alive on one
connection; a new connection per request for `Connection: close`). Two runs,
with SHORT and LONG requests, and the difference of their totals over
LONG - SHORT is the user-space instructions per request: start-up, imports
and shutdown cancel out. Repeated runs agree to about 0.5%.

What it leaves out: time in the kernel (system calls, the loopback stack),
and what an instruction costs (cache misses, branch mispredictions), which
wrk sees and this does not. So it says whether a change made heron do less,
and by how much; bench/run.py still says whether that shows in requests per
second. Needs valgrind (`bench/setup.sh` installs it).
"""
import argparse
import http.client
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the harness: servers, scenarios and helpers)

COLLECTED = re.compile(r"Collected : (\d+)")


def send_requests(port, sc, count):
    """``count`` requests of scenario ``sc``, one after the other; each answer checked."""
    headers = dict(sc.get("headers", {}))
    body = sc.get("body")
    want = sc["expect"]()
    conn = http.client.HTTPConnection(run.HOST, port, timeout=60)
    try:
        for _ in range(count):
            conn.request(sc.get("method", "GET"), sc["path"], body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != 200 or data != want:
                raise RuntimeError("status %d, %d bytes of body" % (response.status, len(data)))
    finally:
        conn.close()


def count_instructions(spec, sc, requests, heron_src):
    """Instructions the server ran in all, started under callgrind and sent ``requests`` requests."""
    tmp = tempfile.mkdtemp(prefix="heron-instructions-")
    port = run.free_port()
    log_path = os.path.join(tmp, "valgrind.log")
    try:
        with open(log_path, "wb") as log:
            # --trace-children: an "env ..." command (an --extra) execs the server
            proc, _ = run.start_server(spec, heron_src, tmp, port, log, wrapper=(
                "valgrind", "--tool=callgrind", "--trace-children=yes", "--callgrind-out-file=/dev/null"))
            try:
                why = run.wait_ready(proc, port, 120)  # valgrind starts a Python server in 5-20 s
                if why:
                    raise RuntimeError(why)
                send_requests(port, sc, requests)
            finally:
                run.stop_server(proc, grace=30)
        with open(log_path, errors="replace") as f:
            text = f.read()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    totals = [int(n) for n in COLLECTED.findall(text)]
    if not totals:
        raise RuntimeError("valgrind reported no count; its log:\n" + text[-2000:])
    return sum(totals)  # one line per process (a --workers parent and its children)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default="heron,heron-uvloop", help="bench/run.py server names, comma-separated")
    ap.add_argument("--scenarios", default="plaintext,plaintext-close,echo-4k")
    ap.add_argument("--extra", action="append", default=[], metavar="NAME=CMD",
                    help="one more server, as bench/run.py --extra (e.g. heron at another commit)")
    ap.add_argument("--short", type=int, default=500, help="requests in the first run")
    ap.add_argument("--long", type=int, default=2500, help="requests in the second run")
    args = ap.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("valgrind not found: run bench/setup.sh")
    servers = run.with_extras(ap, args.extra)
    names = [n for n in args.servers.split(",") if n] + [e.partition("=")[0] for e in args.extra]
    snap = tempfile.mkdtemp(prefix="heron-bench-src-")
    try:
        heron_src = run.snapshot_heron(snap)
        print("# user-space instructions per request (callgrind; %d minus %d requests), heron %s" % (
            args.long, args.short, run.heron_rev()))
        print("| server | scenario | instructions per request |\n|---|---|---:|")
        for x in args.scenarios.split(","):
            for n in names:
                short = count_instructions(servers[n], run.SCENARIOS[x], args.short, heron_src)
                long = count_instructions(servers[n], run.SCENARIOS[x], args.long, heron_src)
                print("| %s | %s | %s |" % (n, x, format(round((long - short) / (args.long - args.short)), ",")),
                      flush=True)
    finally:
        shutil.rmtree(snap, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
