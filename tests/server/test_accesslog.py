"""Access log lines are Combined Log Format and cannot be forged by a client."""

from __future__ import annotations

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
        AccessLog().record("127.0.0.1", head("/a?b=1", [("Referer", "http://r/"), ("User-Agent", "ua/1")]), 200, 13)
    m = CLF.match(caplog.records[0].getMessage())
    assert m is not None
    assert m.group(3) == "GET /a?b=1 HTTP/1.1"
    assert (m.group(4), m.group(5), m.group(6), m.group(7)) == ("200", "13", "http://r/", "ua/1")


def test_client_values_are_escaped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="heron.access"):
        AccessLog().record("127.0.0.1", head("/", [("User-Agent", 'x" 200 "\\evil\x1b[31m')]), 404, 0)
    line = caplog.records[0].getMessage()
    assert CLF.match(line) is not None
    assert "\x1b" not in line
    assert line.endswith('"x\\" 200 \\"\\\\evil\\x1b[31m"')
