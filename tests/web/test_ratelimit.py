"""Rate limits on an app and on routes: 429 with Retry-After, the RateLimit fields, and who counts as one client."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from heron import App, Request
from heron.testing import TestClient
from heron.web.gcra import Decision, Rate
from heron.web.ratelimit import RateLimit, client_address, everyone
from heron.web.ratestores import MemoryStore


def make_app() -> App:
    app = App()
    app.add_middleware(RateLimit("5/minute"))
    login = RateLimit("2/minute", "3/hour", name="login", legacy_headers=True)
    shared = RateLimit(Rate(3, 60.0), key=everyone, name="search")

    @app.get("/")
    async def home(request: Request) -> str:
        return "home"

    @app.post("/login")
    @login
    async def sign_in(request: Request) -> str:
        return "welcome"

    @app.get("/search/{term}")
    @shared
    def search(request: Request, term: str) -> dict[str, Any]:  # a plain def: still run in the thread pool
        return {"term": term}

    return app


def test_every_answer_says_the_policy_and_what_is_left() -> None:
    with TestClient(make_app()) as client:
        first = client.get("/")
        assert first.headers["ratelimit-policy"] == '"default";q=5;w=60'
        assert first.headers["ratelimit"] == '"default";r=4;t=12'


def test_past_the_limit_a_429_says_when_to_come_back() -> None:
    with TestClient(make_app()) as client:
        assert [client.get("/").status for _ in range(6)] == [200] * 5 + [429]
        refused = client.get("/")
        assert refused.headers["retry-after"] == "12" and refused.headers["ratelimit"] == '"default";r=0;t=60'
        assert "try again in 12 s" in refused.text


def test_each_client_address_has_its_own_budget_and_ipv6_counts_by_its_64() -> None:
    with TestClient(make_app()) as client:
        for _ in range(5):
            client.get("/", client=("192.0.2.1", 1))
        assert client.get("/", client=("192.0.2.1", 2)).status == 429
        assert client.get("/", client=("192.0.2.2", 1)).status == 200
        for i in range(5):
            assert client.get("/", client=(f"2001:db8:1:2::{i + 1}", 1)).status == 200
        assert client.get("/", client=("2001:db8:1:2:ffff::9", 1)).status == 429  # same /64
        assert client.get("/", client=("2001:db8:1:3::1", 1)).status == 200


def test_a_route_with_two_limits_and_the_legacy_fields() -> None:
    with TestClient(make_app()) as client:
        first = client.post("/login")
        assert first.text == "welcome"
        assert first.headers.get_all("ratelimit-policy") == ['"login-1";q=2;w=60, "login-2";q=3;w=3600',
                                                             '"default";q=5;w=60']  # the route's, then the app's
        assert first.headers.get_all("ratelimit")[0] == '"login-1";r=1;t=30, "login-2";r=2;t=1200'
        assert (first.headers["ratelimit-limit"], first.headers["ratelimit-remaining"]) == ("2", "1")
        assert client.post("/login").status == 200
        refused = client.post("/login")
        assert refused.status == 429 and refused.headers["retry-after"] == "30"


def test_a_limit_keyed_for_everyone_is_one_budget_across_clients_for_a_plain_def_route() -> None:
    with TestClient(make_app()) as client:
        statuses = [client.get(f"/search/t{i}", client=(f"198.51.100.{i}", 1)).status for i in range(4)]
        assert statuses == [200, 200, 200, 429]
        assert client.get("/search/x", client=("198.51.100.1", 1)).status == 429


def test_no_fields_when_asked_for_none() -> None:
    app = App()
    app.add_middleware(RateLimit("1/s", headers=False))

    @app.get("/")
    async def home(request: Request) -> str:
        return "home"

    with TestClient(app) as client:
        assert "ratelimit" not in client.get("/").headers
        refused = client.get("/")
        assert refused.status == 429 and "ratelimit" not in refused.headers and "retry-after" in refused.headers


@pytest.mark.parametrize("name", ['with "quotes"', "back\\slash", "", "caf\u00e9"])
def test_policy_names_must_be_sendable(name: str) -> None:
    with pytest.raises(ValueError):
        RateLimit("1/s", name=name)


def test_a_limit_needs_a_rate_and_the_shared_store_holds_at_most_four() -> None:
    with pytest.raises(ValueError):
        RateLimit()
    with pytest.raises(ValueError):
        RateLimit("1/s", "2/m", "3/h", "4/d", "5/10d")
    assert len(RateLimit("1/s", "2/m", "3/h", "4/d", "5/10d", store=MemoryStore()).rates) == 5


class Peer:
    def __init__(self, host: str | None) -> None:
        self.client = None if host is None else (host, 1)


@pytest.mark.parametrize("host, key", [
    (None, ""),
    ("192.0.2.7", "192.0.2.7"),
    ("::ffff:192.0.2.7", "192.0.2.7"),  # an IPv4 client on a dual-stack socket
    ("2001:db8:1:2::1", "20010db800010002::/64"),
    ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "20010db800010002::/64"),
    ("fe80::1%eth0", "fe80000000000000::/64"),
    ("not an address", "not an address"),
])
def test_client_address_keys(host: str | None, key: str) -> None:
    assert client_address(Peer(host)) == key  # type: ignore[arg-type]


class AsyncStore:
    """A store whose ``hit`` is a coroutine function, as one on the network would be."""

    def __init__(self) -> None:
        self.memory = MemoryStore()
        self.keys: list[str] = []

    async def hit(self, key: str, rates: Sequence[Rate], now: float) -> Decision:
        await asyncio.sleep(0)
        self.keys.append(key)
        return self.memory.hit(key, rates, now)


def test_an_async_store_is_awaited_and_keyed_by_the_function_given() -> None:
    store = AsyncStore()
    app = App()
    app.add_middleware(RateLimit("2/minute", store=store, key=lambda request: request.headers.get("x-api-key", "")))

    @app.get("/")
    async def home(request: Request) -> str:
        return "home"

    with TestClient(app) as client:
        assert [client.get("/", headers={"X-API-Key": "k1"}).status for _ in range(3)] == [200, 200, 429]
        assert client.get("/", headers={"X-API-Key": "k2"}).status == 200
    assert len(set(store.keys)) == 2 and all(key.endswith(("k1", "k2")) for key in store.keys)
