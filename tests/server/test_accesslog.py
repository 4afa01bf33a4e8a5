"""Access log lines are Combined Log Format or JSON, and cannot be forged by a client."""

from __future__ import annotations

import json
import logging
import re

import pytest

from heron.protocol.events import RequestHead
from heron.server.accesslog import AccessLog

CLF = re.compile(r'^(\S+) - - \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000)\] "([^"\\]*(?:\\.[^"\\]*)*)" (\d{3}) (\d+|-) '
                 r'"([^"\\]*(?:\\.[^"\\]*)*)" "([^"\\]*(?:\\.[^"\\]*)*)"$')


def head(target: str, headers: list[tuple[str, str]]) -> RequestHead:
    return RequestHead("GET", target, target, "", "1.1", headers, "h", True, False, 0, False)


def test_line_is_combined_log_format(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="heron.access"):
        AccessLog().record("127.0.0.1", head("/a?b=1", [("Referer", "http://r/"), ("User-Agent", "ua/1")]),
                           200, 13, 0.0)
    m = CLF.match(caplog.records[0].getMessage())
    assert m is not None
    assert m.group(3) == "GET /a?b=1 HTTP/1.1"
    assert (m.group(4), m.group(5), m.group(6), m.group(7)) == ("200", "13", "http://r/", "ua/1")


def test_client_values_are_escaped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="heron.access"):
        AccessLog().record("127.0.0.1", head("/", [("User-Agent", 'x" 200 "\\evil\x1b[31m')]), 404, 0, 0.0)
    line = caplog.records[0].getMessage()
    assert CLF.match(line) is not None
    assert "\x1b" not in line
    assert line.endswith('"x\\" 200 \\"\\\\evil\\x1b[31m"')


@pytest.mark.parametrize("client", ['fe80::1%x" - - [01/Jan/2000:00:00:00 +0000] "GET /forged HTTP/1.1" 200 1 "-" "-',
                                    "a b", "<script>", "x\ny"])
def test_a_client_field_that_is_no_address_cannot_forge_fields_or_lines(caplog: pytest.LogCaptureFixture,
                                                                        client: str) -> None:
    with caplog.at_level(logging.INFO, logger="heron.access"):
        AccessLog().record(client, head("/", []), 200, 0, 0.0)
    line = caplog.records[0].getMessage()
    match = CLF.match(line)
    assert match is not None and match.group(3) == "GET / HTTP/1.1"
    assert " " not in match.group(1) and "\n" not in line and '"' not in match.group(1)


@pytest.mark.parametrize("client", ["192.0.2.1", "2001:db8::1", "fe80::1%eth0", "unknown", "_hidden", "-"])
def test_addresses_are_logged_as_they_are(caplog: pytest.LogCaptureFixture, client: str) -> None:
    with caplog.at_level(logging.INFO, logger="heron.access"):
        AccessLog().record(client, head("/", []), 200, 0, 0.0)
    assert caplog.records[0].getMessage().startswith(client + " - - [")


def json_line(caplog: pytest.LogCaptureFixture, client: str, request: RequestHead | None, status: int, size: int,
              duration: float | None) -> str:
    with caplog.at_level(logging.INFO, logger="heron.access"):
        AccessLog("json").record(client, request, status, size, duration)
    return caplog.records[-1].getMessage()


def test_json_line_has_every_field(caplog: pytest.LogCaptureFixture) -> None:
    line = json_line(caplog, "192.0.2.7", head("/a?b=1", [("Referer", "http://r/"), ("User-Agent", "ua/1")]),
                     200, 13, 0.0123456)
    entry = json.loads(line)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry.pop("time"))
    assert entry == {"client": "192.0.2.7", "method": "GET", "target": "/a?b=1", "http_version": "1.1",
                     "status": 200, "bytes": 13, "referer": "http://r/", "user_agent": "ua/1",
                     "duration_ms": 12.346}


def test_json_absent_headers_are_null_and_no_body_is_zero_bytes(caplog: pytest.LogCaptureFixture) -> None:
    entry = json.loads(json_line(caplog, "127.0.0.1", head("/", []), 204, 0, 0.0))
    assert (entry["referer"], entry["user_agent"], entry["bytes"]) == (None, None, 0)


def test_json_line_cannot_be_forged(caplog: pytest.LogCaptureFixture) -> None:
    evil = 'x", "status": 200}\n{"client": "10.0.0.1\u2028\x1b[31m\\'
    line = json_line(caplog, "127.0.0.1", head("/", [("User-Agent", evil)]), 404, 0, 0.0)
    assert line.isascii() and line.isprintable(), "a control character or line separator reached the log raw"
    entry = json.loads(line)
    assert entry["user_agent"] == evil
    assert entry["status"] == 404


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="combined, json"):
        AccessLog("apache")


def test_an_answer_without_a_request_head_is_logged_with_no_request(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="heron.access"):
        AccessLog().record("192.0.2.7", None, 400, 11, None)
    m = CLF.match(caplog.records[0].getMessage())
    assert m is not None
    assert (m.group(1), m.group(3), m.group(4), m.group(5), m.group(6), m.group(7)) == (
        "192.0.2.7", "-", "400", "11", "-", "-")
    entry = json.loads(json_line(caplog, "192.0.2.7", None, 408, 15, None))
    del entry["time"]
    assert entry == {"client": "192.0.2.7", "method": None, "target": None, "http_version": None, "status": 408,
                     "bytes": 15, "referer": None, "user_agent": None, "duration_ms": None}
