"""The access log: one line per response on stderr (Combined Log Format, or JSON), or none with --no-access-log."""

from __future__ import annotations

import json
import re

import requests

from .conftest import Serve
from .support import exchange, get, recv_until_close

CLF = re.compile(
    r'^127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] '
    r'"GET /plaintext\?from=test HTTP/1\.1" 200 13 "http://referrer\.example/" "integration-test/1\.0"$',
    re.MULTILINE)


def test_access_log_line_is_written_in_combined_log_format(serve: Serve) -> None:
    server = serve(access_log=True)
    requests.get(server.url("/plaintext?from=test"), timeout=5,
                 headers={"Referer": "http://referrer.example/", "User-Agent": "integration-test/1.0"})
    server.wait_for_stderr(CLF.pattern)


def test_access_log_records_status_and_dash_for_empty_body(serve: Serve) -> None:
    server = serve(access_log=True)
    requests.get(server.url("/status/204"), timeout=5)
    requests.get(server.url("/nowhere"), timeout=5)
    requests.post(server.url("/echo"), data=b"abc", timeout=5)
    log = server.wait_for_stderr(r'"POST /echo HTTP/1\.1" 200 \d+ ')
    assert re.search(r'"GET /status/204 HTTP/1\.1" 204 - "-" "python-requests/', log)
    assert re.search(r'"GET /nowhere HTTP/1\.1" 404 10 "-" "python-requests/', log)


def test_access_log_escapes_what_the_client_sent(serve: Serve) -> None:
    server = serve(access_log=True)
    exchange(server, get("/plaintext", ("User-Agent", 'evil"\tx\\'), ("Connection", "close")))
    log = server.wait_for_stderr(r'"GET /plaintext HTTP/1\.1" 200')
    line = next(line for line in log.splitlines() if "/plaintext" in line)
    assert line.endswith(r'"evil\"\tx\\"'), "a quote, tab or backslash from the client reached the log raw"


def test_no_access_log_turns_it_off(serve: Serve) -> None:
    server = serve(access_log=False)
    for _ in range(3):
        assert requests.get(server.url("/plaintext"), timeout=5).status_code == 200
    server.stop()  # all output is flushed once the process has exited
    log = server.stderr()
    assert "/plaintext" not in log
    assert log.count("\n") == 1  # only the "serving ... on" line


def test_access_log_counts_no_body_bytes_for_head(serve: Serve) -> None:
    server = serve(access_log=True)
    assert requests.head(server.url("/plaintext"), timeout=5).headers["Content-Length"] == "13"
    assert requests.head(server.url("/stream?n=3"), timeout=5).status_code == 200
    log = server.wait_for_stderr(r'"HEAD /stream\?n=3 HTTP/1\.1" 200', timeout=5)
    assert re.search(r'"HEAD /plaintext HTTP/1\.1" 200 - ', log), "bytes never sent were logged as sent"
    assert re.search(r'"HEAD /stream\?n=3 HTTP/1\.1" 200 - ', log)


def access_entries(log: str) -> list[dict[str, object]]:
    """The JSON access lines in ``log`` (stderr also holds the "serving ... on" line)."""
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def test_json_access_log_writes_one_object_per_response(serve: Serve) -> None:
    server = serve("--access-log-format", "json", access_log=True)
    requests.get(server.url("/plaintext?from=test"), timeout=5,
                 headers={"Referer": "http://referrer.example/", "User-Agent": "integration-test/1.0"})
    requests.head(server.url("/plaintext"), timeout=5)
    log = server.wait_for_stderr(r'^\{.*"HEAD"', timeout=5)
    get_entry, head_entry = access_entries(log)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(get_entry.pop("time")))
    duration = get_entry.pop("duration_ms")
    assert isinstance(duration, float) and 0 <= duration < 5000
    assert get_entry == {"client": "127.0.0.1", "method": "GET", "target": "/plaintext?from=test",
                         "http_version": "1.1", "status": 200, "bytes": 13, "referer": "http://referrer.example/",
                         "user_agent": "integration-test/1.0"}
    assert (head_entry["method"], head_entry["bytes"], head_entry["referer"]) == ("HEAD", 0, None)


def test_json_access_log_cannot_be_forged(serve: Serve) -> None:
    server = serve("--access-log-format", "json", access_log=True)
    evil = 'x", "status": 200, "client": "10.0.0.1"}\t\\\xe9'  # the parser already refuses other controls
    exchange(server, get("/nowhere", ("User-Agent", evil), ("Connection", "close")))
    log = server.wait_for_stderr(r'"/nowhere"')
    line = next(line for line in log.splitlines() if '"/nowhere"' in line)
    assert line.isascii() and line.isprintable()
    entry = json.loads(line)
    assert (entry["user_agent"], entry["status"], entry["client"]) == (evil, 404, "127.0.0.1")


def test_answers_without_a_request_head_are_logged_with_no_request(serve: Serve) -> None:
    server = serve("--header-timeout", "0.5", access_log=True)
    assert exchange(server, b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n").data.startswith(b"HTTP/1.1 400 ")
    with server.connect() as sock:
        sock.sendall(b"GET /plaintext HTTP/1.1\r\n")  # and nothing more: 408 after the header timeout
        assert recv_until_close(sock).data.startswith(b"HTTP/1.1 408 ")
    log = server.wait_for_stderr(r'"-" 408 \d+ "-" "-"$')
    assert re.search(r'^127\.0\.0\.1 - - \[[^]]+\] "-" 400 \d+ "-" "-"$', log, re.MULTILINE), log
    assert "Bad Name" not in log.replace("invalid header name", "")


def test_json_answer_without_a_request_head_has_null_request_fields(serve: Serve) -> None:
    server = serve("--access-log-format", "json", access_log=True)
    exchange(server, b"\x16\x03\x01 not http at all\r\n\r\n")
    entry = access_entries(server.wait_for_stderr(r'"status": 400'))[0]
    assert {key: entry[key] for key in ("method", "target", "http_version", "duration_ms", "referer")} == dict.fromkeys(
        ("method", "target", "http_version", "duration_ms", "referer"))
    assert (entry["status"], entry["client"]) == (400, "127.0.0.1")
    assert isinstance(entry["bytes"], int) and entry["bytes"] > 0
