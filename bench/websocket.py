#!/usr/bin/env python3
"""WebSocket echo, side by side: heron (its own App, on asyncio and on uvloop, and hosting
an ASGI app), the `websockets` library's own server, and uvicorn with `--ws websockets`.

    python3 bench/websocket.py --md                  # writes bench/RESULTS-websocket.md
    python3 bench/websocket.py --servers heron,websockets --scenarios echo-32 --rounds 1

Issue 15 asks whether heron's WebSocket is fast and lean next to the library people
reach for; this measures it. Each server runs alone on CPU 1 (a fresh process per run,
started as bench/run.py starts its servers, heron from a snapshot of heron/). The
client is this process, on CPU 0: standard library, raw sockets and `selectors`. It does
the opening handshake itself (checks the 101 and Sec-WebSocket-Accept; offers no
extension, so no compression) and sends frames masked as a browser does (RFC 6455 5.3),
built once per connection with a random mask key. Scenarios:

- echo-32: 50 connections, each keeping 16 text messages of 32 bytes outstanding;
- echo-1m: 8 connections, each keeping 2 binary messages of 1 MiB outstanding;
- idle-1000: 1,000 connections opened (each echoes one message) and held: server RSS
  (VmRSS over its process tree) minus that of the same server just started and warmed
  with a few connections; then none of them may have been closed and 50 must echo.

Echoes are counted from received bytes against the exact server frame size (frames from
a server are unmasked), so the client's cost is per recv(), not per message. Every
connection's first echoed frame must be byte-identical to the expected one; after the
measured run the client stops sending, every connection must get exactly the echoes it
is owed (a stray or a missing byte fails the run), then one more message must come back
identical. Warm-up, then a fixed measured time with server and client CPU (from /proc
and getrusage) around it; rounds interleaved, medians reported. Every step is bounded
in time; only 127.0.0.1 is contacted; servers are stopped by PID, even on failure.
"""
import argparse
import base64
import datetime
import errno
import hashlib
import os
import random
import resource
import selectors
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import run  # the harness: start/stop servers, /proc helpers, machine and revision

SERVERS = {
    "heron": run.SERVERS["heron"],
    "heron-uvloop": run.SERVERS["heron-uvloop"],
    "heron-asgi": run.SERVERS["heron-asgi"],
    "websockets": dict(cmd="{python} ws_echo_server.py {port}", cwd=run.APPS),
    "uvicorn-websockets": dict(
        cmd="{venv}/bin/uvicorn --host 127.0.0.1 --port {port} --http httptools --loop uvloop"
            " --ws websockets --no-access-log --log-level warning asgi_app:app", cwd=run.APPS),
}
KINDS = {
    "heron": "heron's App (`bench/app.py`, `@app.websocket`), asyncio selector loop",
    "heron-uvloop": "the same on uvloop",
    "heron-asgi": "heron hosting `bench/apps/asgi_app.py` (ASGI websocket scope), asyncio loop",
    "websockets": "`websockets.asyncio.server.serve` (`bench/apps/ws_echo_server.py`), C "
                  "speedups, `compression=None`, `max_size` 16 MiB, asyncio loop",
    "uvicorn-websockets": "uvicorn `--ws websockets --http httptools --loop uvloop`, "
                          "`bench/apps/asgi_app.py`",
}
SCENARIOS = {
    "echo-32": dict(size=32, opcode=0x1, conns=50, window=16,
                    desc="50 connections × 16 outstanding 32-byte text messages"),
    "echo-1m": dict(size=1 << 20, opcode=0x2, conns=8, window=2,
                    desc="8 connections × 2 outstanding 1 MiB (1,048,576-byte) binary messages"),
    "idle-1000": dict(size=32, opcode=0x1, held=1000, warm=5, sample=50,
                      desc="1,000 connections held idle (each echoed one 32-byte text message)"),
}
TARGETS = [  # (scenario, label, threshold, is the figure a ratio to websockets?)
    ("echo-32", "echo-32: heron messages/s ÷ websockets", 1.5, True),
    ("echo-1m", "echo-1m: heron messages/s ÷ websockets", 0.8, True),
    ("idle-1000", "idle-1000: heron RSS above its idle RSS, MiB", 30.0, False),
]
BASE = "websockets"
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OPEN_WINDOW, OPEN_DEADLINE_S, DRAIN_S, CLOSE_S = 64, 60.0, 15.0, 3.0
RECV_BUF = 1 << 20
SEND_IOV = 64  # buffers per sendmsg()
DEFAULT_MD = os.path.join(run.BENCH, "RESULTS-websocket.md")


class Failure(Exception):
    """A step of a run failed; the message says which and why."""


def payload(sc):
    """The scenario's message: ASCII for text, deterministic bytes for binary."""
    if sc["opcode"] == 0x1:
        return (b"0123456789abcdef" * (sc["size"] // 16 + 1))[:sc["size"]]
    return random.Random(15).randbytes(sc["size"])


def frame(data, opcode, mask=None):
    """One final frame: unmasked as a server sends it, or masked with a 4-byte key."""
    n, bit = len(data), 0x80 if mask else 0
    if n <= 125:
        head = bytes([0x80 | opcode, bit | n])
    elif n <= 0xFFFF:
        head = bytes([0x80 | opcode, bit | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, bit | 127]) + n.to_bytes(8, "big")
    if not mask:
        return head + data
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return head + mask + (int.from_bytes(data, "big") ^ key).to_bytes(n, "big")


class Conn:
    """One client connection: its socket, frames, what it sent and received, what is queued."""
    __slots__ = ("sock", "n", "frame", "expect", "sent", "received", "out", "events",
                 "cap_from", "cap")

    def __init__(self, sock, n, data, opcode):
        self.sock, self.n = sock, n
        self.frame = frame(data, opcode, os.urandom(4))
        self.expect = frame(data, opcode)
        self.sent = self.received = 0
        self.out, self.events = [], selectors.EVENT_READ
        self.cap_from, self.cap = 0, bytearray()  # check the first echo

    def queue(self, k):
        """Queue k more messages (the same pre-built frame)."""
        self.sent += k
        if len(self.frame) < 65536:
            self.out.append(self.frame * k)
        else:
            self.out.extend([self.frame] * k)


def handshake(port):
    """An opening handshake request and the Sec-WebSocket-Accept it must get."""
    key = base64.b64encode(os.urandom(16))
    req = (b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
           % (port, key))
    return req, base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()


def check_101(buf, accept):
    """None when buf is a complete, correct 101 answer with nothing after it; else why not."""
    end = buf.find(b"\r\n\r\n")
    head = bytes(buf[:end]).decode("latin-1").split("\r\n")
    fields = dict((k.strip().lower(), v.strip()) for k, _, v in (h.partition(":") for h in head[1:]))
    if head[0].split()[1:2] != ["101"]:
        return "answer %r" % head[0]
    if fields.get("upgrade", "").lower() != "websocket" or "upgrade" not in fields.get(
            "connection", "").lower():
        return "101 without Upgrade: websocket / Connection: upgrade"
    if fields.get("sec-websocket-accept") != accept:
        return "Sec-WebSocket-Accept %r, want %r" % (fields.get("sec-websocket-accept"), accept)
    if "sec-websocket-extensions" in fields:
        return "an extension none was offered: %s" % fields["sec-websocket-extensions"]
    if len(buf) > end + 4:
        return "%d bytes after the 101 before any message" % (len(buf) - end - 4)
    return None


def open_ws(port, n, held, sc, deadline_s=OPEN_DEADLINE_S):
    """Open n WebSocket connections (at most OPEN_WINDOW handshakes in flight), appending a
    Conn for each to held; raises Failure on a refused or wrong handshake or at the deadline."""
    sel, opened, ready = selectors.DefaultSelector(), 0, len(held)
    data, deadline, goal = payload(sc), time.monotonic() + deadline_s, len(held) + n
    try:
        while len(held) < goal:
            if time.monotonic() > deadline:
                raise Failure("%d of %d connections open after %.0f s" % (
                    len(held) - ready, n, deadline_s))
            while opened < n and opened - (len(held) - ready) < OPEN_WINDOW:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                err = s.connect_ex((run.HOST, port))
                if err not in (0, errno.EINPROGRESS):
                    s.close()
                    raise Failure("connect: %s" % os.strerror(err))
                sel.register(s, selectors.EVENT_WRITE, [bytearray()] + list(handshake(port)))
                opened += 1
            for key, events in sel.select(timeout=0.5):
                s, (buf, req, accept) = key.fileobj, key.data
                if events & selectors.EVENT_WRITE:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise Failure("connect: %s" % os.strerror(err))
                    s.send(req)  # ~170 bytes into an empty send buffer: sent whole
                    sel.modify(s, selectors.EVENT_READ, key.data)
                    continue
                chunk = s.recv(65536)
                if not chunk:
                    raise Failure("closed during the handshake (%d open)" % (len(held) - ready))
                buf += chunk
                if b"\r\n\r\n" in buf:
                    why = check_101(buf, accept)
                    if why:
                        raise Failure("handshake: " + why)
                    sel.unregister(s)
                    held.append(Conn(s, len(held), data, sc["opcode"]))
    except OSError as e:
        raise Failure("opening connections: %s" % e) from None
    finally:
        for key in list(sel.get_map().values()):
            key.fileobj.close()
        sel.close()


def capture(c, view):
    """Collect the echo starting at stream offset c.cap_from from view (the bytes received
    at c.received); once whole, it must equal the expected frame."""
    start = c.cap_from + len(c.cap) - c.received  # never < 0: it sees every chunk
    if start >= len(view):
        return
    c.cap += view[start:start + len(c.expect) - len(c.cap)]
    if len(c.cap) == len(c.expect):
        if c.cap != c.expect:
            at = next(i for i in range(len(c.cap)) if c.cap[i] != c.expect[i])
            raise Failure("connection %d: echo at byte %d differs from the expected frame at "
                          "its byte %d (got %s, want %s)" % (
                              c.n, c.cap_from, at, bytes(c.cap[:12]).hex(), c.expect[:12].hex()))
        c.cap = None


def flush(c, sel):
    """Send what c has queued, as far as the socket takes it; watch for writability if not all."""
    try:
        sent = c.sock.sendmsg(c.out[:SEND_IOV])
    except (BlockingIOError, InterruptedError):
        sent = 0
    except OSError as e:
        raise Failure("connection %d: send: %s" % (c.n, e)) from None
    i = 0
    while sent and sent >= len(c.out[i]):
        sent -= len(c.out[i])
        i += 1
    del c.out[:i]
    if sent:
        c.out[0] = memoryview(c.out[0])[sent:]
    want = selectors.EVENT_READ | (selectors.EVENT_WRITE if c.out else 0)
    if want != c.events:
        sel.modify(c.sock, want, c)
        c.events = want


def pump(sel, conns, until, window=0):
    """Run the client's I/O until the monotonic time `until`. With a window, every echo
    received re-fills it; without, return once every connection has all its echoes (a
    Failure if that takes until `until`). Any close, stray byte or wrong echo is a Failure."""
    view = memoryview(bytearray(RECV_BUF))
    for c in conns:
        if c.out:
            flush(c, sel)
    while True:
        now = time.monotonic()
        if not window and all(c.received == c.sent * len(c.expect) for c in conns):
            return
        if now >= until:
            if window:
                return
            short = [c for c in conns if c.received != c.sent * len(c.expect)]
            raise Failure("%d connections still owed echoes after the drain (connection %d: "
                          "%d of %d bytes)" % (len(short), short[0].n, short[0].received,
                                               short[0].sent * len(short[0].expect)))
        for key, events in sel.select(min(0.2, until - now)):
            c = key.data
            if events & selectors.EVENT_READ:
                try:
                    n = c.sock.recv_into(view)
                except (BlockingIOError, InterruptedError):
                    n = -1
                except OSError as e:
                    raise Failure("connection %d: recv: %s" % (c.n, e)) from None
                if n == 0:
                    raise Failure("connection %d closed by the server after %d echoes" % (
                        c.n, c.received // len(c.expect)))
                if n > 0:
                    if c.cap is not None:
                        capture(c, view[:n])
                    c.received += n
                    size = len(c.expect)
                    if c.received > c.sent * size:
                        raise Failure("connection %d: %d bytes more than the echoes asked for" %
                                      (c.n, c.received - c.sent * size))
                    if window and c.received // size + window > c.sent:
                        c.queue(c.received // size + window - c.sent)
            if c.out:
                flush(c, sel)


def echo_once(sel, conns, deadline_s=DRAIN_S):
    """Each connection sends one message and must get it back byte for byte."""
    for c in conns:
        c.cap_from, c.cap = c.received, bytearray()
        c.queue(1)
    pump(sel, conns, time.monotonic() + deadline_s)


def close_all(held):
    """Send each connection a masked close frame (1000), wait (bounded) for the server to
    close, then close the sockets."""
    bye = frame(b"\x03\xe8", 0x8, os.urandom(4))
    with selectors.DefaultSelector() as sel:
        for c in held:
            try:
                c.sock.send(bye)
                sel.register(c.sock, selectors.EVENT_READ)
            except (OSError, ValueError, KeyError):
                pass
        end = time.monotonic() + CLOSE_S
        while sel.get_map() and time.monotonic() < end:
            for key, _ in sel.select(0.2):
                try:
                    if not key.fileobj.recv(65536):
                        sel.unregister(key.fileobj)
                except OSError:
                    sel.unregister(key.fileobj)
    for c in held:
        c.sock.close()
    held.clear()


def registered(held):
    sel = selectors.DefaultSelector()
    for c in held:
        sel.register(c.sock, selectors.EVENT_READ, c)
    return sel


def echo_run(args, proc, port, sc, held, rec):
    """An echo scenario: open, warm up, measure, drain, check once more."""
    open_ws(port, sc["conns"], held, sc)
    size, window = len(held[0].expect), sc["window"]
    with registered(held) as sel:
        for c in held:
            c.queue(window)
        pump(sel, held, time.monotonic() + args.warmup, window)
        srv0 = run.tree_cpu_s(proc.pid)
        ru0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        done0 = sum(c.received // size for c in held)
        pump(sel, held, t0 + args.duration, window)
        done = sum(c.received // size for c in held) - done0
        ru1, wall = resource.getrusage(resource.RUSAGE_SELF), time.monotonic() - t0
        srv1 = run.tree_cpu_s(proc.pid)
        pump(sel, held, time.monotonic() + DRAIN_S)  # no re-fill: every echo owed must arrive
        echo_once(sel, held)
    rec.update(messages=done, msgs_s=round(done / wall), mib_s=round(done * sc["size"] / wall / 2**20, 1),
               server_cpu=round(100 * (srv1 - srv0) / wall), client_cpu=round(100 * (
                   ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime) / wall))
    if not done:
        raise Failure("no echo in the measured %d s" % args.duration)


def rss_mib(proc):
    time.sleep(1.0)  # let the server settle (freed buffers, finished callbacks)
    return run.tree_rss_kb(proc.pid, "VmRSS") / 1024


def idle_run(args, proc, port, sc, held, rec):
    """idle-1000: RSS of the warmed idle server, then with the connections held; then none
    may have been closed and a sample must still echo."""
    open_ws(port, sc["warm"], held, sc)
    with registered(held) as sel:
        echo_once(sel, held)
    close_all(held)
    rec["idle_rss_mib"] = round(rss_mib(proc), 2)
    t0 = time.monotonic()
    open_ws(port, sc["held"], held, sc)
    with registered(held) as sel:
        echo_once(sel, held)
        rec["open_s"] = round(time.monotonic() - t0, 2)
        rec["held_rss_mib"] = round(rss_mib(proc), 2)
        rec["rss_delta_mib"] = round(rec["held_rss_mib"] - rec["idle_rss_mib"], 2)
        rec["kib_per_conn"] = round(rec["rss_delta_mib"] * 1024 / sc["held"], 1)
        readable = len(sel.select(timeout=0))
        if readable:
            raise Failure("%d held connections were closed or got unasked bytes" % readable)
        sample = held[::len(held) // sc["sample"]][:sc["sample"]]
    with registered(sample) as sel:
        echo_once(sel, sample)
    rec["sample_ok"] = len(sample)


def wait_up(proc, port, deadline_s):
    """None once the server completes a WebSocket handshake; else why it did not."""
    end, last = time.monotonic() + deadline_s, None
    while time.monotonic() < end:
        if proc.poll() is not None:
            return "exited with code %s" % proc.returncode
        held = []
        try:
            open_ws(port, 1, held, SCENARIOS["echo-32"], 2.0)
            return None
        except Failure as e:
            last = e
            time.sleep(0.1)
        finally:
            close_all(held)
    return "no WebSocket handshake within %.0f s (%s)" % (deadline_s, last)


def run_one(args, name, scname, rnd):
    """One fresh server, one scenario: the record (ok, reason, figures)."""
    rec = dict(server=name, scenario=scname, round=rnd, ok=False, reason=None)
    if args.quiet_wait > 0:
        rec["quiet_waited_s"], rec["busy_before"] = run.wait_quiet(args.quiet_wait)
    tmp = tempfile.mkdtemp(prefix="heron-bench-ws-")
    port, held = run.free_port(), []
    log_path = os.path.join(tmp, "server.log")
    with open(log_path, "wb") as log:
        proc, argv = run.start_server(SERVERS[name], args.heron_src, tmp, port, log)
    rec["cmd"] = " ".join(shlex.quote(a) for a in argv)
    try:
        why = wait_up(proc, port, args.start_timeout)
        if why:
            raise Failure("start: " + why)
        sc = SCENARIOS[scname]
        (idle_run if "held" in sc else echo_run)(args, proc, port, sc, held, rec)
        if proc.poll() is not None:
            raise Failure("server died (exit code %s)" % proc.returncode)
        rec["ok"] = True
    except Failure as e:
        rec["reason"] = str(e)
    finally:
        close_all(held)
        run.stop_server(proc)
        with open(log_path, "rb") as f:
            tail = f.read()[-2000:].decode("utf-8", "replace").strip()
        errs = run.log_errors(tail)
        if errs:
            rec["server_log_errors"] = errs[-5:]
        if errs or not rec["ok"]:
            rec["server_log_tail"] = tail
        shutil.rmtree(tmp, ignore_errors=True)
    return rec


def one_line(rec):
    if not rec["ok"]:
        return "FAIL: %s" % rec["reason"]
    if "rss_delta_mib" in rec:
        return "+%.1f MiB over %.1f idle (%.1f KiB/conn), opened in %.1f s, %d/%d sampled echoed" % (
            rec["rss_delta_mib"], rec["idle_rss_mib"], rec["kib_per_conn"], rec["open_s"],
            rec["sample_ok"], rec["sample_ok"])
    return "%s msg/s (%s MiB/s), server CPU %d%%, client CPU %d%%" % (
        f"{rec['msgs_s']:,}", rec["mib_s"], rec["server_cpu"], rec["client_cpu"])


def figure(scname):
    """The figure a scenario is ranked by, and whether more is better."""
    return ("rss_delta_mib", False) if "held" in SCENARIOS[scname] else ("msgs_s", True)


def summary(runs, scname, name):
    """Median and spread of a server's passing rounds in a scenario (None if none passed)."""
    ok = [r for r in runs if r["scenario"] == scname and r["server"] == name and r["ok"]]
    if not ok:
        return None
    med = lambda k: statistics.median(r[k] for r in ok)  # noqa: E731
    key = figure(scname)[0]
    out = dict(n=len(ok), lo=min(r[key] for r in ok), hi=max(r[key] for r in ok))
    for k in (key, "mib_s", "server_cpu", "client_cpu", "idle_rss_mib", "held_rss_mib",
              "kib_per_conn", "open_s"):
        if k in ok[0]:
            out[k] = med(k)
    return out


def fmt(x, digits=0):
    return "–" if x is None else f"{x:,.{digits}f}"


def markdown(meta, runs):
    """The report: header, Targets, one table per scenario, failures and server complaints."""
    L = ["# WebSocket echo: heron side by side with websockets and uvicorn\n",
         "- date: %s" % meta["date"], "- machine: %s" % meta["machine"],
         "- heron: %s (heron/ and bench/app.py copied when the run started, sha256 of "
         "heron/*.py %s)" % (meta["heron_rev"], meta["heron_fingerprint"]),
         "- anchors (bench venv): %s" % meta["versions"],
         "- command: `%s` (from the repo root)" % meta["command"],
         "- load: %d rounds, interleaved; per run a fresh server, %d s warm-up, %d s measured; "
         "cells are medians over rounds, min–max beside them" % (
             meta["rounds"], meta["warmup"], meta["duration"]),
         "- client: `bench/websocket.py` itself (stdlib, `selectors`, CPU 0): own handshake, "
         "masked frames, no extension; client CPU % is its own CPU ÷ wall time\n"]
    L += ["## Targets (issue 15)\n", "| target | heron | websockets | figure | threshold | |",
          "|---|---:|---:|---:|---:|---|"]
    for scname, label, limit, is_ratio in TARGETS:
        if scname not in meta["scenarios"]:
            continue
        key = figure(scname)[0]
        h, b = summary(runs, scname, "heron"), summary(runs, scname, BASE)
        hv, bv = h and h[key], b and b[key]
        val = (hv / bv if hv and bv else None) if is_ratio else hv
        met = val is not None and (val >= limit if is_ratio else val < limit)
        L.append("| %s | %s | %s | %s | %s %s | %s |" % (
            label, fmt(hv, 0 if is_ratio else 1), fmt(bv, 0 if is_ratio else 1),
            fmt(val, 2 if is_ratio else 1), "≥" if is_ratio else "<", limit,
            "✓ met" if met else ("✗ not met" if val is not None else "incomplete")))
    L.append("\n## Servers (each alone on CPU 1)\n")
    L += ["| server | what |", "|---|---|"] + ["| `%s` | %s |" % (s, KINDS[s]) for s in meta["servers"]]
    for scname in meta["scenarios"]:
        sc, (key, _) = SCENARIOS[scname], figure(scname)
        L.append("\n## %s: %s\n" % (scname, sc["desc"]))
        base = summary(runs, scname, BASE)
        if "held" in sc:
            L += ["| server | RSS above idle, MiB | min–max | KiB per connection | idle RSS, MiB "
                  "| held RSS, MiB | open 1,000, s | ÷ websockets |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        else:
            L += ["| server | messages/s | min–max | %sserver CPU %% | client CPU %% | ÷ websockets |"
                  % ("MiB/s | " if sc["size"] > 1000 else ""),
                  "|---|---:|---:|%s---:|---:|---:|" % ("---:|" if sc["size"] > 1000 else "")]
        for name in meta["servers"]:
            s = summary(runs, scname, name)
            if s is None:
                L.append("| `%s` | fail |%s" % (name, " |" * (L[-1].count("|") - 3)))
                continue
            ratio = fmt(s[key] / base[key], 2) if base and base[key] else "–"
            spread = "%s–%s" % (fmt(s["lo"], 1 if "held" in sc else 0), fmt(s["hi"], 1 if "held" in sc else 0))
            if "held" in sc:
                L.append("| `%s` | %s | %s | %s | %s | %s | %s | %s |" % (
                    name, fmt(s[key], 1), spread, fmt(s["kib_per_conn"], 1), fmt(s["idle_rss_mib"], 1),
                    fmt(s["held_rss_mib"], 1), fmt(s["open_s"], 1), ratio))
            else:
                L.append("| `%s` | %s | %s | %s%s | %s | %s |" % (
                    name, fmt(s[key]), spread, fmt(s["mib_s"], 1) + " | " if sc["size"] > 1000 else "",
                    fmt(s["server_cpu"]), fmt(s["client_cpu"]), ratio))
    bad = [r for r in runs if not r["ok"] or r.get("server_log_errors")]
    if bad:
        L.append("\n## Failures and server log errors\n")
    for r in bad:
        L.append("- %s, %s, round %d: %s%s" % (
            r["server"], r["scenario"], r["round"], "ok" if r["ok"] else "FAIL: " + r["reason"],
            "; log: `%s`" % " / ".join(r.get("server_log_errors", [])) if r.get("server_log_errors") else ""))
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default=",".join(SERVERS), help="comma list (default: all)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma list (default: all)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5, help="measured seconds per run")
    ap.add_argument("--warmup", type=int, default=2, help="warm-up seconds per run")
    ap.add_argument("--start-timeout", type=float, default=20.0)
    ap.add_argument("--quiet-wait", type=float, default=5.0,
                    help="before each run, wait up to this long for other processes to go idle")
    ap.add_argument("--md", nargs="?", const=DEFAULT_MD, help="write the report here too "
                    "(no value: %s)" % DEFAULT_MD)
    args = ap.parse_args()
    servers, scens = args.servers.split(","), args.scenarios.split(",")
    for x, known in ((servers, SERVERS), (scens, SCENARIOS)):
        if set(x) - set(known):
            ap.error("unknown: %s (known: %s)" % (", ".join(set(x) - set(known)), ", ".join(known)))
    if not os.access(run.VPY, os.X_OK) or subprocess.run(
            [run.VPY, "-c", "import websockets.speedups, uvicorn, uvloop, httptools"]).returncode:
        subprocess.run(["bash", os.path.join(run.BENCH, "setup.sh")], check=True)
    os.sched_setaffinity(0, {int(run.CLIENT_CPU)})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the servers inherit it too
    per = sum((8 if "held" in SCENARIOS[s] else args.warmup + args.duration + 2) for s in scens)
    print("%d runs, about %.0f minutes" % (args.rounds * len(servers) * len(scens),
                                          args.rounds * len(servers) * per / 60), file=sys.stderr)
    snap = tempfile.mkdtemp(prefix="heron-bench-src-")
    runs = []
    try:
        args.heron_src = run.snapshot_heron(snap)
        for rnd in range(1, args.rounds + 1):
            for scname in scens:
                for name in servers:
                    rec = run_one(args, name, scname, rnd)
                    runs.append(rec)
                    print("[round %d/%d] %-9s %-18s %s" % (rnd, args.rounds, scname, name,
                                                           one_line(rec)), file=sys.stderr)
        fingerprint = run.heron_fingerprint(snap)
    finally:
        shutil.rmtree(snap, ignore_errors=True)
    vers = subprocess.run([run.VPY, "-c", "import sys, importlib.metadata as m\nprint('python '"
                               " + sys.version.split()[0] + ', ' + ', '.join(p + ' ' + m.version(p) "
                               "for p in ('websockets', 'uvicorn', 'httptools', 'uvloop')))"],
                              capture_output=True, text=True).stdout.strip()
    meta = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                machine=run.machine().replace("wrk to CPU", "the client to CPU"),
                heron_rev=run.heron_rev(), heron_fingerprint=fingerprint, versions=vers,
                command="python3 bench/websocket.py " + " ".join(map(shlex.quote, sys.argv[1:])),
                rounds=args.rounds, warmup=args.warmup, duration=args.duration,
                servers=servers, scenarios=scens)
    return run.save_run("websocket", meta, runs, markdown(meta, runs), args.md)

if __name__ == "__main__":
    sys.exit(main())
