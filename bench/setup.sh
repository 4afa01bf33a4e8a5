#!/usr/bin/env bash
# Idempotent setup for heron's side-by-side benchmark (bench/run.py).
# Adapted from the team's shared harness (../shared/bench/setup.sh): same pins and
# state directory, trimmed to the servers bench/run.py knows.
#
#  - apt: wrk, nginx (+ the nginx echo module, optional), valgrind if missing
#  - a venv with the anchor servers at pinned versions (and uvloop, for heron-uvloop)
#  - deterministic fixture files for the static scenarios (64k.bin, 1m.bin), which
#    heron (StaticFiles) and nginx serve
#
# Everything goes to $BENCH_STATE (default ${XDG_CACHE_HOME:-~/.cache}/heron-bench),
# never into the repo. heron itself is not installed: run.py puts the repo on PYTHONPATH.
set -euo pipefail

STATE="${BENCH_STATE:-${XDG_CACHE_HOME:-$HOME/.cache}/heron-bench}"
VENV="${BENCH_VENV:-$STATE/venv}"
PY="${PYTHON:-python3}"
# gunicorn and hypercorn: the newest releases on PyPI as of 2026-11-24 (same as ../shared/bench);
# granian (Rust, a wheel from PyPI): issue 19's anchor, the shared harness's pin, the newest
# release as of 2026-12-07; py-spy: the sampler bench/profile.py runs (not a server);
# websockets: the WebSocket anchor of bench/websocket.py (its own server, and uvicorn's
# --ws websockets).
PINS=(uvicorn==0.54.0 h11==0.16.0 httptools==0.9.0 uvloop==0.23.0 waitress==3.0.2
      gunicorn==27.0.1 hypercorn==0.18.0 granian==2.8.7 py-spy==0.4.3 websockets==17.4)

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; fi

apt_retry() {
    # Another process may hold the dpkg/apt lock: wait and retry.
    local i
    for i in $(seq 1 30); do
        if $SUDO "$@"; then return 0; fi
        echo "apt busy or failed (try $i), retrying in 10 s..." >&2
        sleep 10
    done
    return 1
}

need_apt=()
command -v wrk     >/dev/null 2>&1 || need_apt+=(wrk)
command -v taskset >/dev/null 2>&1 || need_apt+=(util-linux)
command -v nginx   >/dev/null 2>&1 || need_apt+=(nginx)
command -v valgrind >/dev/null 2>&1 || need_apt+=(valgrind)  # bench/instructions.py
if [ "${#need_apt[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt_retry apt-get update -q
    # nginx's package may try to start a service; that part can fail harmlessly.
    apt_retry apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi
if [ ! -e /usr/lib/nginx/modules/ngx_http_echo_module.so ]; then
    # optional: only the nginx entry's POST /echo needs it
    $SUDO apt-get install -y -q --no-install-recommends libnginx-mod-http-echo >/dev/null 2>&1 || \
        echo "note: libnginx-mod-http-echo not installed; nginx echo-4k will fail" >&2
fi

mkdir -p "$STATE"
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
# Only call pip when a pin is not met (keeps re-runs offline and fast).
if ! "$VENV/bin/python" - "${PINS[@]}" <<'PYEOF'
import sys
from importlib.metadata import version, PackageNotFoundError
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    try:
        have = version(name)
    except PackageNotFoundError:
        sys.exit(1)
    if have != want:
        sys.exit(1)
PYEOF
then
    # (pip may print "Location ... is ignored" warnings from the machine's pip config)
    "$VENV/bin/pip" install -q "${PINS[@]}" 2>&1 | { grep -v 'is ignored: it is neither' || true; }
    test "${PIPESTATUS[0]}" = 0
fi

# Fixture files for the static scenarios (deterministic content).
FIX="$STATE/fixtures/static"
mkdir -p "$FIX"
"$VENV/bin/python" - "$FIX" <<'PYEOF'
import hashlib, os, sys
d = sys.argv[1]
for name, size in (("64k.bin", 64 * 1024), ("1m.bin", 1024 * 1024)):
    p = os.path.join(d, name)
    out, seed = bytearray(), name.encode()
    while len(out) < size:
        seed = hashlib.sha256(seed).digest()
        out += seed
    data = bytes(out[:size])
    if not os.path.exists(p) or open(p, "rb").read() != data:
        with open(p, "wb") as f:
            f.write(data)
PYEOF

echo "bench state ready in $STATE:"
"$VENV/bin/python" -c "import sys; print('  python', sys.version.split()[0])"
"$VENV/bin/pip" list --format=freeze 2>/dev/null | grep -iE '^(uvicorn|h11|httptools|uvloop|waitress|gunicorn|hypercorn|granian|py-spy|websockets)==' | sed 's/^/  /'
echo "  $(wrk -v 2>&1 | head -1)"
echo "  $(nginx -v 2>&1)"
