"""``heron.serve()`` as a library call: it raises what stops it from serving, and never exits the process.

Each call runs in a child Python, as a program embedding heron would:
serving installs signal handlers and may fork workers, which a test
process should not have done to it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_program(body: str, timeout: float = 30.0) -> str:
    """Run ``body`` (after ``import heron``) in a child Python from the repo root; what it printed on stdout."""
    code = "import heron, sys\n" + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout


CATCH = """
try:
    {call}
except Exception as exc:
    print(type(exc).__name__, "|", exc, "|", type(exc.__cause__).__name__)
else:
    print("returned")
"""


def test_an_address_in_use_raises_serve_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = run_program(CATCH.format(call=f"heron.serve(heron.App(), port={port})"))
    kind, message, cause = out.strip().split(" | ")
    assert kind == "ServeError" and cause == "OSError"
    assert message.startswith(f"cannot listen on 127.0.0.1:{port}: ")


def test_tls_files_that_do_not_load_raise_serve_error(tmp_path: Path) -> None:
    bad = tmp_path / "cert.pem"
    bad.write_text("not a certificate")
    out = run_program(CATCH.format(call=f"heron.serve(heron.App(), port=0, certfile={str(bad)!r})"))
    kind, message, _ = out.strip().split(" | ")
    assert kind == "ServeError" and message.startswith("cannot load the TLS certificate or key")


def test_something_that_is_no_app_raises_serve_error() -> None:
    out = run_program(CATCH.format(call="heron.serve(42, port=0)"))
    assert out.startswith("ServeError | ")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_startup_hook_raises_startup_failed_with_its_message(workers: int) -> None:
    program = f"""
app = heron.App()

@app.on_startup
async def connect():
    raise ConnectionRefusedError("database at 127.0.0.1:5432")

{CATCH.format(call=f"heron.serve(app, port=0, workers={workers})")}
"""
    out = run_program(program)
    kind, message, _ = out.strip().splitlines()[-1].split(" | ")
    assert kind == "StartupFailed"
    assert "connect" in message and "ConnectionRefusedError: database at 127.0.0.1:5432" in message
