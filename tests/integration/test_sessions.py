"""Sessions and CSRF over a real server with real clients: round trips, tampered, expired and rotated cookies,
login and logout, and forms posted with and without their token."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from heron.web.signing import Signer

from .conftest import ServerPool
from .support import Server, app_spec

SPEC = app_spec("sessions_app")
KEY = "integration-session-key-0123456789"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    pool = ServerPool(tmp_path_factory.mktemp("sessions"))
    try:
        yield {name: pool.start(app=f"{SPEC.rsplit(':', 1)[0]}:{name}")
               for name in ("app", "memory_app", "rotated_app", "brief_app")}
    finally:
        pool.stop_all()


def replace_cookie(client: requests.Session, value: str) -> None:
    """Send ``value`` as the session cookie from now on, in place of what the server set."""
    client.cookies.clear()
    client.cookies.set("session", value)


@pytest.mark.parametrize("name", ["app", "memory_app"])
def test_a_session_round_trips_with_a_real_client(servers: dict[str, Server], name: str) -> None:
    server = servers[name]
    with requests.Session() as client:
        counts = [client.get(server.url("/count"), timeout=5).json()["n"] for _ in range(3)]
        assert counts == [1, 2, 3]
        cookie = next(iter(client.cookies))
        assert cookie.name == "session" and cookie.path == "/" and cookie.has_nonstandard_attr("HttpOnly")


@pytest.mark.parametrize("name", ["app", "memory_app"])
def test_a_tampered_cookie_is_a_fresh_session(servers: dict[str, Server], name: str) -> None:
    server = servers[name]
    with requests.Session() as client:
        client.get(server.url("/count"), timeout=5)
        client.get(server.url("/count"), timeout=5)
        value = client.cookies["session"]
        payload, stamp, signature = value.split(".")
        for forged in (f"{payload}.{int(stamp) + 1}.{signature}", f"{payload}x.{stamp}.{signature}",
                       f"{payload}.{stamp}.{signature[::-1]}", f"{payload}.{stamp}"):
            replace_cookie(client, forged)
            assert client.get(server.url("/count"), timeout=5).json()["n"] == 1


def test_a_cookie_signed_long_ago_has_expired(servers: dict[str, Server]) -> None:
    old = Signer(KEY, salt="heron.session").sign({"n": 41}, now=time.time() - 7200)  # max_age is 3600 s
    response = requests.get(servers["app"].url("/count"), cookies={"session": old}, timeout=5)
    assert response.json()["n"] == 1
    fresh = Signer(KEY, salt="heron.session").sign({"n": 41})
    assert requests.get(servers["app"].url("/count"), cookies={"session": fresh}, timeout=5).json()["n"] == 42


def test_a_session_expires_after_its_max_age(servers: dict[str, Server]) -> None:
    with requests.Session() as client:
        client.get(servers["brief_app"].url("/count"), timeout=5)
        assert client.get(servers["brief_app"].url("/count"), timeout=5).json()["n"] == 2
        time.sleep(3.1)
        replace_cookie(client, client.cookies["session"])  # a client that ignores Max-Age
        assert client.get(servers["brief_app"].url("/count"), timeout=5).json()["n"] == 1


def test_cookies_signed_with_the_old_key_still_work_after_rotation(servers: dict[str, Server]) -> None:
    with requests.Session() as client:
        client.get(servers["app"].url("/count"), timeout=5)
        old_cookie = client.cookies["session"]
        rotated = servers["rotated_app"]
        replace_cookie(client, old_cookie)
        response = client.get(rotated.url("/count"), timeout=5)
        assert response.json()["n"] == 2
        new_cookie = response.cookies["session"]
        assert new_cookie != old_cookie
    # The new key signed the new cookie: the old server, which does not know that key, refuses it.
    assert requests.get(servers["app"].url("/count"), cookies={"session": new_cookie}, timeout=5).json()["n"] == 1


@pytest.mark.parametrize("name", ["app", "memory_app"])
def test_login_needs_the_token_and_logout_ends_the_session(servers: dict[str, Server], name: str) -> None:
    server = servers[name]
    with requests.Session() as client:
        token = client.get(server.url("/token"), timeout=5).text
        refused = client.post(server.url("/login"), data={"name": "ada"}, timeout=5)
        assert (refused.status_code, refused.text) == (403, "CSRF token missing or wrong\n")
        cross = client.post(server.url("/login"), data={"name": "ada", "csrf_token": token},
                            headers={"Origin": "https://evil.example"}, timeout=5)
        assert cross.status_code == 403
        before = client.cookies["session"]
        ok = client.post(server.url("/login"), data={"name": "ada", "csrf_token": token}, timeout=5)
        assert ok.json() == {"user": "ada"}
        assert client.get(server.url("/me"), timeout=5).json() == {"user": "ada"}
        if name == "memory_app":  # the id from before the login no longer opens the session
            stale = requests.get(server.url("/me"), cookies={"session": before}, timeout=5)
            assert stale.json() == {"user": None}
        token = client.get(server.url("/token"), timeout=5).text
        assert client.post(server.url("/logout"), headers={"X-CSRF-Token": token}, timeout=5).text == "bye"
        assert "session" not in client.cookies
        assert client.get(server.url("/me"), timeout=5).json() == {"user": None}


def test_an_exempt_route_takes_a_cross_site_post(servers: dict[str, Server]) -> None:
    response = requests.post(servers["app"].url("/hook"), data=b"{}", headers={"Sec-Fetch-Site": "cross-site"},
                             timeout=5)
    assert (response.status_code, response.text) == (200, "hooked")
