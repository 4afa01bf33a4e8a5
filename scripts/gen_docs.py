#!/usr/bin/env python3
"""Regenerate docs/limits.md from heron.limits (a test checks it is up to date).

Usage: python3 scripts/gen_docs.py [--check]
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from heron.limits import describe  # noqa: E402

PATH = os.path.join(ROOT, "docs", "limits.md")


def render() -> str:
    lines = [
        "# Limits and timeouts",
        "",
        "Every size and time a client controls has a cap. This page is generated from",
        "`heron/limits.py` by `scripts/gen_docs.py`; each limit is also a command-line",
        "flag (`--max-body-bytes 1048576`) and a field of `heron.Limits`",
        "(`Limits(max_body_bytes=1048576)`). No limit can be turned off with 0.",
        "",
        "| setting | default | when exceeded | why this default |",
        "| --- | --- | --- | --- |",
    ]
    for name, default, unit, on_exceed, why in describe():
        flag = "--" + name.replace("_", "-")
        lines.append(f"| `{flag}` | {default:,} {unit} | {on_exceed} | {why} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        with open(PATH, encoding="utf-8") as f:
            return 0 if f.read() == text else 1
    with open(PATH, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
