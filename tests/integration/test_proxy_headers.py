"""--proxy-headers: who the client is behind a trusted proxy, over a real socket.

The test's connections come from 127.0.0.1, so it plays the proxy: trusted
with ``--forwarded-allow-ips 127.0.0.1`` (or a range holding it), untrusted
with a range that does not (``10.0.0.0/8``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import requests

from .conftest import Serve
from .support import app_spec

WHOAMI = app_spec("whoami")


def whoami(server_url: str, headers: dict[str, str]) -> dict[str, Any]:
    response = requests.get(server_url, headers=headers, timeout=5)
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_trusted_proxy_sets_the_client_and_scheme(serve: Serve) -> None:
    server = serve("--proxy-headers", "--forwarded-allow-ips", "127.0.0.1", app=WHOAMI)
    seen = whoami(server.url("/whoami?x=1"), {"X-Forwarded-For": "6.6.6.6, 203.0.113.7",
                                               "X-Forwarded-Proto": "https", "Host": "example.com"})
    assert seen["client"] == ["203.0.113.7", 0]
    assert seen["scheme"] == "https"
    assert seen["url"] == "https://example.com/whoami?x=1"


def test_trusted_proxies_are_skipped_from_the_right(serve: Serve) -> None:
    server = serve("--proxy-headers", "--forwarded-allow-ips", "127.0.0.0/8, 10.0.0.0/8", app=WHOAMI)
    seen = whoami(server.url("/whoami"), {"X-Forwarded-For": "6.6.6.6, 203.0.113.7, 10.1.2.3",
                                          "X-Forwarded-Proto": "http, https, http"})
    assert (seen["client"], seen["scheme"]) == (["203.0.113.7", 0], "https")


def test_forwarded_header_is_read(serve: Serve) -> None:
    server = serve("--proxy-headers", "--forwarded-allow-ips", "127.0.0.1", app=WHOAMI)
    seen = whoami(server.url("/whoami"), {"Forwarded": 'for="[2001:db8::7]:4711";proto=https'})
    assert (seen["client"], seen["scheme"]) == (["2001:db8::7", 4711], "https")


def test_untrusted_peer_cannot_set_its_address(serve: Serve) -> None:
    server = serve("--proxy-headers", "--forwarded-allow-ips", "10.0.0.0/8", app=WHOAMI)
    seen = whoami(server.url("/whoami"), {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
                                          "Forwarded": "for=203.0.113.8;proto=https"})
    assert seen["client"][0] == "127.0.0.1"
    assert seen["scheme"] == "http"


def test_headers_are_ignored_without_proxy_headers(serve: Serve) -> None:
    server = serve("--forwarded-allow-ips", "127.0.0.1", app=WHOAMI)
    seen = whoami(server.url("/whoami"), {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    assert (seen["client"][0], seen["scheme"]) == ("127.0.0.1", "http")


def test_malformed_values_are_ignored_and_logged_once(serve: Serve) -> None:
    server = serve("--proxy-headers", "--forwarded-allow-ips", "127.0.0.1", app=WHOAMI)
    for _ in range(3):
        seen = whoami(server.url("/whoami"), {"X-Forwarded-For": "not-an-address", "X-Forwarded-Proto": "gopher"})
        assert (seen["client"][0], seen["scheme"]) == ("127.0.0.1", "http")
    log = server.wait_for_stderr("forwarded proto is not http")
    assert log.count("X-Forwarded-For entry is not an IP address") == 1
    assert "not-an-address" not in log and "gopher" not in log


def test_access_log_shows_the_resolved_client(serve: Serve) -> None:
    server = serve("--proxy-headers", "--forwarded-allow-ips", "127.0.0.1", app=WHOAMI, access_log=True)
    whoami(server.url("/whoami"), {"X-Forwarded-For": "203.0.113.7"})
    server.wait_for_stderr(r'^203\.0\.113\.7 - - \[.*\] "GET /whoami HTTP/1\.1" 200 ')


def test_json_access_log_shows_the_resolved_client(serve: Serve) -> None:
    server = serve("--proxy-headers", "--forwarded-allow-ips", "127.0.0.1", "--access-log-format", "json",
                   app=WHOAMI, access_log=True)
    whoami(server.url("/whoami"), {"Forwarded": 'for="[2001:db8::7]"'})
    log = server.wait_for_stderr(r'^\{.*"/whoami"')
    entry = json.loads(next(line for line in log.splitlines() if '"/whoami"' in line))
    assert entry["client"] == "2001:db8::7"


ZONED = ['fe80::1%x" - - [01/Jan/2000:00:00:00 +0000] "GET /forged HTTP/1.1" 200 1 "-" "-',
         "fe80::1%<script>", "::1%x"]


@pytest.mark.parametrize(("app", "target", "client_of"), [
    (WHOAMI, "/whoami", lambda seen: seen["client"][0]),
    (app_spec("wsgi_probe"), "/environ", lambda seen: seen["REMOTE_ADDR"]),
    (app_spec("asgi_probe"), "/scope", lambda seen: seen["client"][0]),
], ids=["heron", "wsgi", "asgi"])
def test_a_hop_with_an_ipv6_zone_is_not_believed(serve: Serve, app: str, target: str,
                                                  client_of: Callable[[dict[str, Any]], str]) -> None:
    """ipaddress takes almost any text after "%": it became the client and forged a whole access-log entry;
    ``::1%x`` also counted as the trusted ``::1``, so the walk went on to the address the client wrote."""
    server = serve("--proxy-headers", "--forwarded-allow-ips", "127.0.0.1, ::1", app=app, access_log=True)
    for hop in ZONED:
        seen = whoami(server.url(target), {"X-Forwarded-For": f"192.0.2.66, {hop}"})
        assert client_of(seen) == "127.0.0.1"
    log = server.wait_for_stderr(rf'"GET {target} HTTP/1\.1" 200 ', count=len(ZONED))
    assert "forged" not in log and "<script>" not in log and "192.0.2.66" not in log
    assert len([line for line in log.splitlines() if "HTTP/1.1" in line]) == len(ZONED)


@pytest.mark.parametrize(("flags", "message"), [
    (("--proxy-headers", "--forwarded-allow-ips", "10.0.0.1/8"), r"has host bits set: did you mean 10\.0\.0\.0/8"),
    (("--proxy-headers", "--forwarded-allow-ips", "proxy.internal"), "is not an IP address or CIDR range"),
])
def test_bad_forwarded_allow_ips_stops_the_server_with_a_clear_message(serve: Serve, flags: tuple[str, ...],
                                                                      message: str) -> None:
    server = serve(*flags, app=WHOAMI, wait_ready=False)
    assert server.wait_exit(10) != 0
    assert re.search(message, server.stderr())
