#!/usr/bin/env python3
"""Profile one bench/run.py server under load, all threads, and write a text summary.

    python3 bench/profile.py heron-wsgi plaintext -o bench/profiles/hosted-wsgi.txt

Starts the server exactly as run.py does (same command, heron from a snapshot,
`taskset -c 1`), checks one response, warms up, then runs wrk (on CPU 0) while
py-spy samples the server (`py-spy record --gil --threads --format raw`, also
on CPU 0). The summary gives:

- CPU time and context switches per request of the main (event-loop) thread
  and of all other threads (the thread pool), from /proc/<pid>/task/*,
- over the samples (each taken from the thread that held the GIL, i.e. what
  the interpreter was running; time in syscalls with the GIL released is not
  sampled): the share per thread (main thread vs pool threads),
- functions by self samples (where the interpreter was when sampled),
- functions by inclusive samples (on the stack at all),
- the hottest whole stacks.

Unlike cProfile, sampling sees the WSGI thread pool and adds no per-call
overhead; it cannot give call counts. `--native` samples C frames too, GIL
held or not (`py-spy record --native`): time in system calls, in the event
loop's C code and in the garbage collector then shows under its own name
instead of inside the Python line that called it. py-spy is pinned with the anchor
servers: `bench/setup.sh` installs it in the bench venv.
req/s while sampling is lower than in a bench run (py-spy and wrk share CPU 0),
so read the figures here as shares, not speed.
"""
import argparse
import collections
import datetime
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the harness: servers, scenarios and helpers)

FRAME_RE = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


def short_path(path, heron_src):
    path = path.replace(heron_src + "/", "")
    path = re.sub(r"^.*/site-packages/", "", path)
    path = re.sub(r"^.*/lib/python3\.\d+/", "<stdlib>/", path)
    return path.replace(run.REPO + "/", "")


def parse_raw(text, heron_src):
    """py-spy's raw (collapsed) output -> list of (thread, [frame, ...] root first, count)."""
    stacks = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        body, _, n = line.rpartition(" ")
        try:
            count = int(n)
        except ValueError:
            continue
        parts = body.split(";")
        thread = parts[0] if parts and parts[0].startswith(("thread", "process")) else "?"
        frames = []
        for p in parts[1:] if thread != "?" else parts:
            if p.startswith(("thread", "process")):
                thread = p
                continue
            m = FRAME_RE.match(p)
            if m:
                frames.append("%s (%s)" % (m.group("func"), short_path(m.group("file"), heron_src)))
            else:
                frames.append(p)
        stacks.append((thread, frames, count))
    return stacks


def thread_role(thread):
    """py-spy's thread label, e.g. 'thread (123): MainThread' -> a role."""
    name = thread.partition(": ")[2]
    return "main thread (event loop)" if name == "MainThread" else "other threads (%s)" % (
        re.sub(r"_?\d+$", "_N", name) or "?")


def task_stats(pid):
    """{'main'|'other': [threads, cpu s, voluntary ctx switches, involuntary]} from /proc."""
    out = {"main": [0, 0.0, 0, 0], "other": [0, 0.0, 0, 0]}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                st = f.read()
            fields = st[st.rindex(")") + 2:].split()
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                status = f.read()
        except OSError:
            continue
        row = out["main" if int(tid) == pid else "other"]
        row[0] += 1
        row[1] += (int(fields[11]) + int(fields[12])) / run.CLK_TCK
        row[2] += int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
        row[3] += int(re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
    return out


def task_summary(t0, t1, requests):
    L = ["## CPU and context switches per request, by thread (from /proc/<pid>/task)\n",
         "| threads | count | CPU µs/req | voluntary cs/req | involuntary cs/req |",
         "|---|---:|---:|---:|---:|"]
    n = max(1, requests)
    for k, label in (("main", "main (event loop)"), ("other", "all others (pool)")):
        a, b = t0[k], t1[k]
        L.append("| %s | %d | %.1f | %.2f | %.2f |" % (
            label, b[0], (b[1] - a[1]) * 1e6 / n, (b[2] - a[2]) / n, (b[3] - a[3]) / n))
    return "\n".join(L) + "\n\n"


def summarize(stacks, top, native=False):
    total = sum(c for _, _, c in stacks) or 1
    by_role = collections.Counter()
    self_c, incl_c, whole = collections.Counter(), collections.Counter(), collections.Counter()
    for thread, frames, c in stacks:
        by_role[thread_role(thread)] += c
        if frames:
            self_c[frames[-1]] += c
        for f in set(frames):
            incl_c[f] += c
        whole[" <- ".join(reversed(frames[-6:]))] += c
    L = []
    L.append("samples (%s): %d\n" % ("every thread's, GIL or not" if native else
                                      "of the thread holding the GIL", total))
    L.append("## samples by thread\n")
    for role, c in by_role.most_common():
        L.append("%6.1f%%  %s" % (100 * c / total, role))
    L.append("\n## top %d functions by self samples (%% of all samples)\n" % top)
    for f, c in self_c.most_common(top):
        L.append("%6.1f%%  %s" % (100 * c / total, f))
    L.append("\n## top %d functions by inclusive samples (on the stack)\n" % top)
    for f, c in incl_c.most_common(top):
        L.append("%6.1f%%  %s" % (100 * c / total, f))
    L.append("\n## top %d stacks (innermost first, up to 6 frames)\n" % (top // 2))
    for f, c in whole.most_common(top // 2):
        L.append("%6.1f%%  %s" % (100 * c / total, f))
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("server", help="a bench/run.py server name (see run.py --list)")
    ap.add_argument("scenario", help="a bench/run.py scenario name")
    ap.add_argument("-o", "--out", help="write the summary here (default: print it)")
    ap.add_argument("--duration", type=int, default=8, help="seconds of load while sampling")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--native", action="store_true",
                    help="py-spy --native, every sample (GIL held or not): C frames too, so the "
                         "system calls, the event loop's C code and the garbage collector show")
    ap.add_argument("--no-spy", action="store_true",
                    help="no sampling: only the per-thread CPU and context switches, "
                         "undisturbed by py-spy")
    args = ap.parse_args()
    spec, sc = run.SERVERS[args.server], run.SCENARIOS[args.scenario]
    pyspy = shutil.which("py-spy") or os.path.join(run.VENV, "bin", "py-spy")
    if not args.no_spy and not os.access(pyspy, os.X_OK):
        sys.exit("py-spy not found in %s: run bench/setup.sh" % run.VENV)

    snap = tempfile.mkdtemp(prefix="heron-bench-src-")
    tmp = tempfile.mkdtemp(prefix="heron-profile-")
    heron_src = run.snapshot_heron(snap)
    fingerprint = run.heron_fingerprint(heron_src)
    port = run.free_port()
    values = dict(port=port, python=run.VPY, venv=run.VENV, bench=run.BENCH, apps=run.APPS,
                  repo=run.REPO, static=run.STATIC, tmp=tmp, heron_src=heron_src)
    argv = ["taskset", "-c", run.SERVER_CPU] + shlex.split(run.fill(spec["cmd"], values))
    env = dict(os.environ, BENCH_STATIC_DIR=run.STATIC)
    env.update({k: run.fill(v, values) for k, v in spec.get("env", {}).items()})
    logf = open(os.path.join(tmp, "server.log"), "wb")
    proc = subprocess.Popen(argv, cwd=run.fill(spec.get("cwd", run.APPS), values), env=env,
                            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        err = run.wait_ready(proc, port, 20)
        why = err or run.check(port, sc)[0]
        if why:
            sys.exit("%s: %s" % (args.server, why))
        wargs = argparse.Namespace(wrk_threads=1, connections=args.connections, timeout=2)
        script = os.path.join(tmp, "bench.lua")
        run.wrk_script(sc, script)
        subprocess.run(run.wrk_cmd(wargs, sc, port, script, args.warmup),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        raw = os.path.join(tmp, "pyspy.txt")
        sampling = ["--native"] if args.native else ["--gil"]
        spy = None if args.no_spy else subprocess.Popen(["taskset", "-c", run.CLIENT_CPU, pyspy, "record", "--pid",
                                str(proc.pid), *sampling, "--threads", "--format", "raw",
                                "--rate", str(args.rate), "--duration", str(args.duration + 1),
                                "--output", raw], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        cpu0, tasks0 = run.tree_cpu_s(proc.pid), task_stats(proc.pid)
        w = subprocess.run(run.wrk_cmd(wargs, sc, port, script, args.duration),
                           capture_output=True, text=True)
        cpu1, tasks1 = run.tree_cpu_s(proc.pid), task_stats(proc.pid)
        res = run.parse_wrk(w.stdout)
        stacks = None
        if spy is not None:
            spy_err = spy.communicate(timeout=60)[1]
            if not os.path.exists(raw):
                sys.exit("py-spy wrote nothing: %s" % spy_err)
            with open(raw) as f:
                stacks = parse_raw(f.read(), heron_src)
    finally:
        run.stop_server(proc)
        logf.close()
        shutil.rmtree(snap, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    head = [
        "# py-spy profile of %s, scenario %s (%s)" % (args.server, args.scenario,
                                                     sc["desc"]),
        "# %s; heron %s (snapshot sha256 %s)" % (
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            run.heron_rev(), fingerprint),
        "# command: python3 bench/profile.py %s" % " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "# server: %s" % spec["cmd"],
        "# load: wrk -t1 -c%d -d%ds %s(on CPU %s; server on CPU %s)" % (
            args.connections, args.duration, "" if args.no_spy else
            "while py-spy record %s --threads --rate %d " % (" ".join(sampling), args.rate),
            run.CLIENT_CPU, run.SERVER_CPU),
        "# %s%.0f req/s, server CPU %.0f µs/request%s" % (
            "" if args.no_spy else "under sampling: ", res.get("rps", 0),
            (cpu1 - cpu0) * 1e6 / max(1, res.get("requests", 1)),
            "" if args.no_spy else " (py-spy pauses the server for each sample: read "
            "these as shares, not speed)"),
        "",
    ]
    text = ("\n".join(head) + task_summary(tasks0, tasks1, res.get("requests", 0))
            + (summarize(stacks, args.top, args.native) if stacks is not None else "") + "\n")
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
