#!/usr/bin/env python3
"""Every Autobahn TestSuite case against heron's echo apps, and the report docs/autobahn.md keeps.

    .venv/bin/python bench/autobahn.py                      # all 517 cases, both apps (about 7 minutes)
    .venv/bin/python bench/autobahn.py --md docs/autobahn-results.md
    .venv/bin/python bench/autobahn.py --cases '12.*' --apps asgi --loop uvloop

``scripts/test`` puts kosoku (the runner of Autobahn's case files) in .venv;
tests/integration/test_autobahn.py runs a quick subset of the same cases in CI.
Each app (examples/echo.py, examples/echo_asgi.py) is served by
``python -m heron`` on 127.0.0.1 with ``--max-websocket-message`` raised to
16 MiB and a little (section 9 sends messages that big), and kosoku's HTML
and JSON reports go to ``bench/results/autobahn/<app>/`` (git-ignored). The
markdown printed (and written with ``--md``) counts the verdicts per app and
lists every case that was not OK with what Autobahn said about it.
"""
import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys

import run  # the harness: free_port, wait_ready, stop_server, heron_rev

APPS = {"heron": "examples/echo.py:app", "asgi": "examples/echo_asgi.py:app"}
MAX_MESSAGE = 16 * 1024 * 1024 + 4096
VERDICTS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")


def kosoku_command():
    found = shutil.which("kosoku", path=os.path.dirname(sys.executable)) or shutil.which("kosoku")
    if found is None:
        sys.exit("bench/autobahn.py: kosoku is not installed (scripts/test puts it in .venv; run with .venv/bin/python)")
    return found


def run_app(name, args, out):
    """Serve one app, run the cases against it; kosoku's index of results for it."""
    port = run.free_port()
    command = [sys.executable, "-m", "heron", APPS[name], "--host", run.HOST, "--port", str(port),
               "--no-access-log", "--loop", args.loop, "--max-websocket-message", str(MAX_MESSAGE)]
    with open(os.path.join(out, "server.log"), "w") as log:
        server = subprocess.Popen(command, cwd=run.REPO, stdout=log, stderr=subprocess.STDOUT)
        try:
            failure = run.wait_ready(server, port, 15)
            if failure:
                sys.exit(f"bench/autobahn.py: {name} did not start: {failure}")
            selection = [flag for case in args.cases for flag in ("-i", case)]
            subprocess.run([kosoku_command(), f"ws://{run.HOST}:{port}/ws", "-p", str(args.parallel),
                            "-o", out, *selection], timeout=args.timeout, stdout=subprocess.DEVNULL, check=False)
        finally:
            run.stop_server(server)
    with open(os.path.join(out, "index.json")) as index:
        (results,) = json.load(index).values()
    return results


def case_details(out, entry):
    with open(os.path.join(out, entry["reportfile"])) as report:
        return json.load(report)


def markdown(args, outcomes):
    lines = [f"Autobahn TestSuite, run by kosoku on {datetime.date.today()}, heron {run.heron_rev()}, "
             f"loop {args.loop}, cases {' '.join(args.cases)}.", "",
             "| app | cases | " + " | ".join(VERDICTS) + " |", "|---|---:|" + "---:|" * len(VERDICTS)]
    notes = []
    for name, (out, results) in outcomes.items():
        counts = {verdict: 0 for verdict in VERDICTS}
        for case_id, entry in results.items():
            counts[entry["behavior"]] = counts.get(entry["behavior"], 0) + 1
            if entry["behavior"] != "OK" or entry["behaviorClose"] != "OK":
                details = case_details(out, entry)
                notes.append(f"- {name} {case_id}: {entry['behavior']} / {entry['behaviorClose']}: "
                             f"{details['result']} ({details['description'].split('<br>')[0].strip()})")
        lines.append(f"| {name} (`{APPS[name]}`) | {len(results)} | "
                     + " | ".join(str(counts[verdict]) for verdict in VERDICTS) + " |")
    lines += ["", "Every case not OK, with Autobahn's words:" if notes else "Every case OK.", "", *notes]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--apps", default=",".join(APPS), help="which echo apps: heron, asgi")
    parser.add_argument("--cases", action="append", help="case ids or globs (default: every case)")
    parser.add_argument("--loop", default="asyncio", choices=("asyncio", "uvloop"))
    parser.add_argument("--parallel", type=int, default=4, help="cases kosoku runs at once")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds each app's run may take")
    parser.add_argument("--md", help="also write the markdown report to this file")
    args = parser.parse_args()
    args.cases = args.cases or ["*"]
    outcomes = {}
    for name in args.apps.split(","):
        out = os.path.join(run.REPO, "bench", "results", "autobahn", name)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        outcomes[name] = (out, run_app(name, args, out))
    report = markdown(args, outcomes)
    print(report, end="")
    if args.md:
        with open(args.md, "w") as file:
            file.write(report)
    failed = any(entry["behavior"] in ("FAILED", "UNIMPLEMENTED") or entry["behaviorClose"] not in
                 ("OK", "INFORMATIONAL") for _, results in outcomes.values() for entry in results.values())
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
