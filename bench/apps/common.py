"""Shared constants for the anchor apps (so bodies are byte-identical to bench/app.py's).

Copied from the team's shared bench harness (../shared/bench/apps/common.py);
adapted: the static dir comes only from BENCH_STATIC_DIR (set by run.py).
"""
import json
import os

# run.py always sets BENCH_STATIC_DIR (fixtures live outside the repo, see setup.sh)
STATIC_DIR = os.environ.get("BENCH_STATIC_DIR", "")

PLAINTEXT = b"Hello, World!"
JSON_MESSAGE = {"message": "Hello, World!"}


def json_body():
    # serialised per request, on purpose (like TechEmpower's json test)
    return json.dumps(JSON_MESSAGE, separators=(",", ":")).encode()


def user_body(name):
    return ("Hello, %s!" % name).encode()


def static_path(name):
    """Map /static/<name> to a file in STATIC_DIR, or None (no sub-dirs, no dot-files)."""
    if not name or "/" in name or name.startswith("."):
        return None
    p = os.path.join(STATIC_DIR, name)
    return p if os.path.isfile(p) else None


def read_file(path):
    with open(path, "rb") as f:
        return f.read()
