"""REDbot, the HTTP linter behind redbot.org, checks what a real heron server answers.

Issue 18: static files and dynamic responses pass REDbot with no warning that heron could have
avoided. The ``redbot`` package (pinned in requirements-test.txt) runs offline: its command line,
``python -m redbot.cli --output-format har URL``, fetches the URL, then probes it the way a cache
would (a ranged request, If-None-Match and If-Modified-Since revalidation, a gzip negotiation), and
writes every note it made, with its level (good, info, warning, bad), as JSON. Each run is a
subprocess with a deadline, against a server on 127.0.0.1; REDbot follows no links (no
``--assets``) and no redirects, so it talks to nothing else.

One server serves ``apps/redbot_site.py`` as it is, another behind the compression middleware.
Every URL must come out with no warning or bad note, but those in ``ALLOWED``, each with the reason
heron cannot (or should not) avoid it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from .support import Server, app_spec, launch

REDBOT_TIMEOUT = 30.0
"""Seconds one REDbot run may take (each takes under a second on loopback)."""
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
PROBLEM_LEVELS = {"warning", "bad"}
ALLOWED: dict[str, str] = {
    "RANGE_CL_FULL": "REDbot asks for bytes=0-96 of a file shorter than that, and a 206 of the whole file "
                     "(Content-Range: bytes 0-22/23) is the RFC 9110 section 14 answer that clients resuming "
                     "or probing a download expect; heron keeps answering a satisfiable Range with 206",
}
"""Note id -> why heron cannot avoid it. Keep it empty unless a note is truly out of heron's hands."""

STYLE = "/* heron, checked by REDbot */\n" + "".join(
    f".c{i} {{ color: #{i * 2731 % 0xFFFFFF:06x}; margin: {i % 7}px; }}\n" for i in range(60))
TINY = "body { color: black; }\n"  # shorter than REDbot's ranged request, which then asks for all of it


@dataclass(frozen=True)
class Note:
    id: str
    level: str
    subject: str
    summary: str

    def __str__(self) -> str:
        return f"{self.level:<7} {self.id}: {self.summary} [{self.subject}]"


PATHS = {
    "static": "/static/style.css",
    "static-tiny": "/static/tiny.css",
    "static-max-age": "/cached/style.css",
    "page": "/page",
    "page-dated": "/page/dated",
    "json": "/data",
    "json-max-age": "/data/cached",
}
CASES = [pytest.param(compress, path, id=("compressed-" if compress else "") + name)
         for compress in (False, True) for name, path in PATHS.items()]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[bool, Server]]:
    """The app without and with the compression middleware, by ``compress``."""
    site = tmp_path_factory.mktemp("redbot-site")
    (site / "style.css").write_text(STYLE)
    (site / "tiny.css").write_text(TINY)
    started: dict[bool, Server] = {}
    try:
        for compress in (False, True):
            stderr = site.parent / f"server-{'compressed' if compress else 'plain'}.stderr"
            started[compress] = launch(
                [sys.executable, "-m", "heron", app_spec("redbot_site"), "--port", "0", "--no-access-log"],
                stderr, env={"HERON_TEST_STATIC_DIR": str(site), "HERON_TEST_COMPRESS": "1" if compress else "0"})
        yield started
    finally:
        for server in started.values():
            server.stop()


def redbot(url: str) -> list[Note]:
    """Every note REDbot makes on ``url`` (subnotes flattened), from its HAR output."""
    assert urlsplit(url).hostname in LOOPBACK, url
    try:
        result = subprocess.run([sys.executable, "-m", "redbot.cli", "--output-format", "har", url],
                                capture_output=True, timeout=REDBOT_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"REDbot did not finish checking {url} within {REDBOT_TIMEOUT} s") from None
    output = result.stdout.decode("utf-8", "replace")
    assert result.returncode == 0, f"REDbot exited with {result.returncode}:\n{result.stderr.decode()}"
    log = json.loads(output)["log"]
    assert "_red_error" not in log, log["_red_error"]
    entries = log["entries"]
    assert [entry["request"]["url"] for entry in entries] == [url], output
    assert entries[0]["response"]["status"] == 200, output
    notes: list[Note] = []

    def add(message: dict[str, Any]) -> None:
        notes.append(Note(message["note_id"], message["level"].lower().replace("warn", "warning"),
                          message["subject"], message["summary"]))
        for sub in message.get("subnotes", []):
            add(sub)

    for message in entries[0]["_red_messages"]:
        add(message)
    assert notes, output
    return notes


@pytest.mark.parametrize(("compress", "path"), CASES)
def test_redbot_has_no_warning(servers: dict[bool, Server], compress: bool, path: str) -> None:
    notes = redbot(servers[compress].url(path))
    report = "REDbot's notes:\n" + "\n".join(f"  {note}" for note in notes)
    problems = sorted({note.id for note in notes if note.level in PROBLEM_LEVELS and note.id not in ALLOWED})
    assert not problems, f"{problems}\n{report}"
