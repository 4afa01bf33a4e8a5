"""Sessions in-process: the cookie store and the memory store, saved only when changed, regenerate and clear,
flash messages, caching fields, and every cookie a client could send instead of ours."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from heron import App, Request
from heron.testing import TestClient
from heron.web.sessions import MemoryStore, sessions
from heron.web.signing import Signer

KEY = "session-test-key-0123456789"


def make_app(**options: Any) -> App:
    app = App()
    app.add_middleware(sessions(KEY, **options))

    @app.get("/count")
    async def count(request: Request) -> dict[str, Any]:
        request.session["n"] = request.session.get("n", 0) + 1
        return {"n": request.session["n"], "id": request.session.id}

    @app.get("/peek")
    async def peek(request: Request) -> dict[str, Any]:
        return {"n": request.session.get("n")}

    @app.get("/untouched")
    async def untouched(request: Request) -> str:
        return "no session here"

    @app.post("/login")
    async def login(request: Request) -> dict[str, Any]:
        request.session.regenerate()
        request.session["user"] = "ada"
        return {"id": request.session.id}

    @app.post("/logout")
    async def logout(request: Request) -> str:
        request.session.clear()
        return "bye"

    @app.post("/flash")
    async def flash(request: Request) -> str:
        request.session.flash("saved", "success")
        request.session.flash("twice")
        return "ok"

    @app.get("/flashes")
    async def flashes(request: Request) -> list[Any]:
        return [list(pair) for pair in request.session.flashes()]

    return app


@pytest.fixture(params=["cookie", "memory"])
def client(request: pytest.FixtureRequest) -> TestClient:
    options = {"store": MemoryStore()} if request.param == "memory" else {}
    return TestClient(make_app(**options))


def cookie_fields(response: Any) -> list[str]:
    fields: list[str] = response.headers.get_all("set-cookie")
    return fields


def test_a_session_survives_across_requests(client: TestClient) -> None:
    assert [client.get("/count").json()["n"] for _ in range(3)] == [1, 2, 3]
    assert client.get("/peek").json() == {"n": 3}


def test_the_cookie_is_httponly_lax_and_scoped_to_the_site(client: TestClient) -> None:
    (field,) = cookie_fields(client.get("/count"))
    assert field.startswith("session=") and "; Path=/" in field and "; HttpOnly" in field
    assert "; SameSite=Lax" in field and "; Max-Age=1209600" in field and "Secure" not in field


def test_over_https_the_cookie_is_secure() -> None:
    client = TestClient(make_app(), base_url="https://testserver")
    (field,) = cookie_fields(client.get("/count"))
    assert field.endswith("; Secure")


def test_nothing_is_saved_or_set_unless_the_session_changed(client: TestClient) -> None:
    client.get("/count")
    assert cookie_fields(client.get("/peek")) == []
    assert cookie_fields(client.get("/untouched")) == []


def test_a_read_session_makes_the_response_private_and_vary_on_cookie(client: TestClient) -> None:
    read = client.get("/peek")
    assert read.headers.get("cache-control") == "private"
    assert read.headers.get("vary") == "Cookie"
    untouched = client.get("/untouched")
    assert untouched.headers.get("cache-control") is None and untouched.headers.get("vary") is None


@pytest.mark.parametrize("cookie", ["garbage", "", "a.b.c", "e30.1.AAAA", "x" * 5000, '"quoted"'])
def test_a_cookie_that_is_not_ours_gives_a_fresh_session(client: TestClient, cookie: str) -> None:
    client.cookies["session"] = cookie
    assert client.get("/count").json()["n"] == 1


def test_a_tampered_cookie_gives_a_fresh_session(client: TestClient) -> None:
    client.get("/count")
    client.get("/count")
    good = client.cookies["session"]
    client.cookies["session"] = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    assert client.get("/count").json()["n"] == 1


def test_an_expired_cookie_gives_a_fresh_session() -> None:
    client = TestClient(make_app(max_age=60))
    payload = {"n": 41}
    client.cookies["session"] = Signer(KEY, salt="heron.session").sign(payload, now=0)
    assert client.get("/count").json()["n"] == 1


def test_a_cookie_signed_with_the_old_key_still_opens_after_rotation() -> None:
    old = TestClient(make_app())
    old.get("/count")
    app = App()
    app.add_middleware(sessions("brand-new-key-0123456789", fallback_keys=[KEY]))

    @app.get("/peek")
    async def peek(request: Request) -> dict[str, Any]:
        return {"n": request.session.get("n")}

    rotated = TestClient(app)
    rotated.cookies["session"] = old.cookies["session"]
    assert rotated.get("/peek").json() == {"n": 1}


def test_regenerate_keeps_the_data_under_a_new_id_and_the_old_id_opens_nothing() -> None:
    store = MemoryStore()
    client = TestClient(make_app(store=store))
    first = client.get("/count").json()["id"]
    stolen = client.cookies["session"]
    new_id = client.post("/login").json()["id"]
    assert new_id != first and len(store) == 1
    assert client.get("/peek").json() == {"n": 1}
    attacker = TestClient(make_app(store=store))
    attacker.cookies["session"] = stolen
    assert attacker.get("/peek").json() == {"n": None}


def test_clear_logs_out_and_deletes_the_cookie(client: TestClient) -> None:
    client.get("/count")
    response = client.post("/logout")
    (field,) = cookie_fields(response)
    assert field.startswith("session=; Max-Age=0")
    assert "session" not in client.cookies
    assert client.get("/peek").json() == {"n": None}


def test_flash_messages_are_shown_once(client: TestClient) -> None:
    client.post("/flash")
    assert client.get("/flashes").json() == [["success", "saved"], ["message", "twice"]]
    assert client.get("/flashes").json() == []


def test_a_session_too_big_for_a_cookie_is_a_500_not_a_truncated_cookie() -> None:
    app = App()
    app.add_middleware(sessions(KEY))

    @app.get("/big")
    async def big(request: Request) -> str:
        request.session["blob"] = "x" * 5000
        return "ok"

    response = TestClient(app).get("/big")
    assert response.status == 500 and cookie_fields(response) == []


def test_the_memory_store_expires_and_bounds_its_entries() -> None:
    async def go() -> None:
        store = MemoryStore(max_entries=3)
        for i in range(5):
            await store.save(f"id{i}", {"i": i}, 60)
        assert len(store) == 3 and await store.load("id0") is None and await store.load("id4") == {"i": 4}
        await store.load("id2")  # used: now the most recent
        await store.save("id5", {}, 60)
        assert await store.load("id2") == {"i": 2} and await store.load("id3") is None
        await store.save("short", {"a": 1}, 0)
        assert await store.load("short") is None

    asyncio.run(go())


def test_a_sync_store_runs_in_a_thread() -> None:
    import threading

    class DictStore:
        def __init__(self) -> None:
            self.data: dict[str, dict[str, Any]] = {}
            self.threads: set[str] = set()

        def load(self, session_id: str) -> dict[str, Any] | None:
            self.threads.add(threading.current_thread().name)
            return self.data.get(session_id)

        def save(self, session_id: str, data: dict[str, Any], max_age: int) -> None:
            self.threads.add(threading.current_thread().name)
            self.data[session_id] = data

        def delete(self, session_id: str) -> None:
            self.data.pop(session_id, None)

    store = DictStore()
    client = TestClient(make_app(store=store))
    assert [client.get("/count").json()["n"] for _ in range(2)] == [1, 2]
    assert "heron-testclient" not in store.threads and store.threads


def test_request_session_without_the_middleware_says_what_is_missing() -> None:
    app = App()

    @app.get("/")
    async def index(request: Request) -> str:
        return str(request.session)

    assert TestClient(app).get("/").status == 500


def test_private_replaces_public_and_keeps_the_other_directives() -> None:
    app = App()
    app.add_middleware(sessions(KEY))

    @app.get("/cached")
    async def cached(request: Request) -> Any:
        from heron import Response
        request.session.get("n")
        return Response("x", headers=[("Cache-Control", "public, max-age=60"), ("Vary", "Accept-Encoding")])

    response = TestClient(app).get("/cached")
    assert response.headers.get("cache-control") == "private, max-age=60"
    assert response.headers.get_all("vary") == ["Accept-Encoding", "Cookie"]
