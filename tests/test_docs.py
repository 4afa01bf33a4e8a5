"""Generated documentation stays in step with the code."""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_limits_doc_is_generated_from_limits() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--check"], timeout=30)
    assert result.returncode == 0, "docs/limits.md is stale: run python3 scripts/gen_docs.py"
