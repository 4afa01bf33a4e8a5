"""Real framework apps, not written for heron, served by heron: the flows they all implement, checked on each.

The apps (tests/integration/apps/hosted/) are Flask (WSGI), Django (its WSGI
handler and its ASGI handler), Starlette and FastAPI (ASGI), each written the
way its framework's documentation writes one. These tests drive them with
real clients over loopback and check what each framework itself computed:
JSON bodies, path converters, redirects, upload hashes, session cookies,
streamed chunks, files, error pages, background tasks, lifespan state and
disconnects. Where the apps differ (a framework's name, its redirect status,
Django's CSRF token, its error pages, ...) the difference is data in
hosted_support.APPS; a flow only some apps have runs on those
(``each_app("jobs")``). What only one framework does is in
test_hosted_<framework>.py.

Each app's server is started once for the module, the first time a test
needs it, and runs until the module ends.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, urlencode, urljoin, urlsplit

import pytest
import requests

from .conftest import ServerPool
from .hosted_support import (CRASH, NOT_FOUND, Connection, HostedApp, each_app, form_secrets, hang_up_after,
                             hosted_server, http_request, logs, payload, post_chunked, sha256, timed_get, wait_for)
from .support import Server

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[HostedApp], Server]]:
    """The server of an app: started the first time a test of this module asks for it, stopped at the end."""
    pool = ServerPool(tmp_path_factory.mktemp("hosted"))
    started: dict[str, Server] = {}

    def server_of(app: HostedApp) -> Server:
        if app.name not in started:
            started[app.name] = pool.start(app=app.spec)
        return started[app.name]

    try:
        yield server_of
    finally:
        pool.stop_all()


@pytest.fixture
def server(app: HostedApp, servers: Callable[[HostedApp], Server]) -> Server:
    return servers(app)


@each_app()
def test_json_get_and_post(app: HostedApp, server: Server) -> None:
    r = requests.get(server.url("/json"), timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == {"framework": app.framework, "message": "hello", "numbers": [1, 2, 3]}

    r = requests.post(server.url("/json"), json={"numbers": [4, 5, 6], "name": "ada"}, timeout=5)
    assert r.status_code == 200
    assert r.json() == {"received": {"numbers": [4, 5, 6], "name": "ada"}, "total": 15}


@each_app()
def test_path_and_query_parameters(app: HostedApp, server: Server) -> None:
    r = requests.get(server.url("/items/42"), params=[("q", "a b&c=d"), ("tag", "x"), ("tag", "y")], timeout=5)
    assert r.json() == {"item_id": 42, "q": "a b&c=d", "tags": ["x", "y"]}
    assert requests.get(server.url("/items/42"), timeout=5).json() == {"item_id": 42, "q": None, "tags": []}
    assert requests.get(server.url("/items/forty-two"), timeout=5).status_code == app.bad_item_status


@each_app()
def test_utf8_in_path_and_query(app: HostedApp, server: Server) -> None:
    name, greeting = "héron 鷺 🐦", "¡hola!"
    r = requests.get(server.url("/hello/" + quote(name)), params={"greeting": greeting}, timeout=5)
    assert r.status_code == 200
    assert r.json() == {"name": name, "greeting": greeting, "text": f"{greeting}, {name}!"}


@each_app()
def test_form_post_redirects_to_the_result(app: HostedApp, server: Server) -> None:
    fields = {"author": "Zoë", "text": "a+b = c & d; 100% 鷺"}
    with requests.Session() as browser:
        page = browser.get(server.url("/form"), timeout=5)
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
        # the action is what url_for built: a path, or an absolute URL from the Host header the server passed on
        assert f'<form method="post" action="{app.link(server, "/form")}">' in page.text
        secrets = form_secrets(app, page.text)

        r = browser.post(server.url("/form"), data=fields | secrets, allow_redirects=False, timeout=5)
        assert r.status_code == app.redirect_status
        assert re.fullmatch(re.escape(app.link(server, "/messages/")) + r"\d+", r.headers["Location"])
        assert browser.get(urljoin(server.url("/"), r.headers["Location"]), timeout=5).json() == fields

        # and the same flow as a browser does it: requests follows the redirect with a GET
        r = browser.post(server.url("/form"), data={"author": "Ada", "text": "second"} | secrets, timeout=5)
        assert r.status_code == 200 and r.json() == {"author": "Ada", "text": "second"}
        assert [h.status_code for h in r.history] == [app.redirect_status]


@each_app()
@pytest.mark.parametrize("size", [10_000, 3 * 1024 * 1024 + 17])
def test_multipart_upload(app: HostedApp, server: Server, size: int) -> None:
    """A small upload and a big one (which Django, past FILE_UPLOAD_MAX_MEMORY_SIZE, spills to a temporary file)."""
    data = payload(size)
    with requests.Session() as browser:
        secrets = form_secrets(app, browser.get(server.url("/form"), timeout=5).text)
        r = browser.post(server.url("/upload"), files={"file": ("blob.bin", data, "application/octet-stream")},
                         data={"note": "ünïcode note"} | secrets, timeout=20)
    assert r.status_code == 200, r.text
    assert r.json() == {"filename": "blob.bin", "content_type": "application/octet-stream", "size": size,
                        "sha256": sha256(data), "note": "ünïcode note"} | app.upload_report(size)


@each_app("consume")
def test_request_body_reaches_the_app_as_a_stream(app: HostedApp, server: Server) -> None:
    """A chunked body (no Content-Length: wsgi.input_terminated, ASGI body events) is read whole, as is a sized one."""
    data = payload(1024 * 1024 + 5, seed=7)
    expected = {"size": len(data), "sha256": sha256(data)}
    status, body = post_chunked(server, "/consume", [data[i:i + 100_000] for i in range(0, len(data), 100_000)])
    assert status == 200
    assert json.loads(body) == expected

    assert requests.post(server.url("/consume"), data=data, timeout=10).json() == expected  # with Content-Length


@each_app()
def test_session_and_cookies(app: HostedApp, server: Server) -> None:
    with requests.Session() as browser:
        assert browser.get(server.url("/whoami"), timeout=5).status_code == 401

        login = browser.get(server.url("/login"), params={"user": "ada", "flavour": "oatmeal"},
                            allow_redirects=False, timeout=5)
        assert login.status_code == app.redirect_status and login.headers["Location"] == app.link(server, "/whoami")
        set_cookies = login.raw.headers.getlist("Set-Cookie")
        assert len(set_cookies) == 2  # two separate Set-Cookie fields, not folded into one
        assert any(c.startswith(app.session_cookie) and "httponly" in c.lower() for c in set_cookies)
        assert any(c.startswith("flavour=oatmeal;") for c in set_cookies)

        first = browser.get(server.url("/whoami"), timeout=5)
        second = browser.get(server.url("/whoami"), timeout=5)
        assert first.json() == app.whoami(visits=1)
        assert second.json() == app.whoami(visits=2)

        assert browser.get(server.url("/logout"), timeout=5).json() == {"user": None}
        assert "flavour" not in browser.cookies
        assert browser.get(server.url("/whoami"), timeout=5).status_code == 401


@each_app()
def test_streaming_response_arrives_as_it_is_produced(app: HostedApp, server: Server) -> None:
    count, delay = 4, 0.5  # the app sleeps 1.5 s in all, between its chunks
    streamed = timed_get(server, f"{app.stream}?n={count}&delay={delay}&who=" + quote("Zoë"), read_timeout=1.2)
    assert streamed.status == 200
    assert streamed.body.decode() == "".join(f"chunk {i} of {count} for Zoë\n" for i in range(count))
    first, last = streamed.arrival_of(b"chunk 0"), streamed.arrival_of(b"chunk 3")
    assert first < (count - 1) * delay / 2, "the first chunk was held back until more of the body was produced"
    assert last - first >= (count - 1) * delay * 0.9


@each_app("stream-broken")
def test_error_after_streaming_started_cuts_the_response(app: HostedApp, server: Server) -> None:
    """Headers are sent, the generator raises: the client must see a truncated body, not a complete one."""
    with logs(server, "the generator failed after the first part"), Connection(server, timeout=5) as conn:
        response = conn.send("GET", "/stream-broken")
    assert response.status == 200
    assert response.body.startswith(b"first part\n")
    assert not response.complete
    assert b"Traceback" not in response.body
    assert requests.get(server.url("/json"), timeout=5).status_code == 200


@each_app("ticker")
def test_client_going_away_closes_the_streaming_generator(app: HostedApp, server: Server) -> None:
    """The server stops the app's body (PEP 3333's close(), or the ASGI disconnect): the generator's finally runs."""
    ticker = f"{app.name}-gone"
    hang_up_after(server, f"/ticker?id={ticker}", b"tick 2\n")

    def record() -> dict | None:  # type: ignore[type-arg]
        return next((t for t in requests.get(server.url("/tickers"), timeout=5).json() if t["id"] == ticker), None)

    assert 3 <= wait_for(record)["ticks"] < 200


@each_app()
def test_file_download(app: HostedApp, server: Server) -> None:
    r = requests.get(server.url("/download"), timeout=5)
    assert r.status_code == 200
    assert r.content == app.source
    assert r.headers["Content-Length"] == str(len(app.source))
    assert {name: r.headers[name] for name in app.download} == app.download


@each_app()
def test_errors(app: HostedApp, server: Server) -> None:
    app.not_found.check(server)
    app.refused.check(server)

    handled = requests.get(server.url("/buy/pear"), timeout=5)  # the app's own handler for its own exception
    assert handled.status_code == 409 and handled.json() == {"error": "out of stock", "item": "pear"}

    wrong_method = app.not_allowed.check(server)
    assert set(wrong_method.headers["Allow"].replace(" ", "").split(",")) == app.allow

    with logs(server, f"{app.framework}-secret-detail"):  # logged, by the framework or by heron, to stderr
        crash = app.crashed.check(server)
    assert "Traceback" not in crash.text and "hunter2" not in crash.text and "secret" not in crash.text
    assert requests.get(server.url("/json"), timeout=5).status_code == 200


@each_app()
def test_head_then_get_on_one_connection(app: HostedApp, server: Server) -> None:
    with Connection(server) as conn:
        head, get = conn.send("HEAD", "/json"), conn.send("GET", "/json")
    assert head.status == 200 and head.body == b""
    assert get.status == 200 and get.json()["framework"] == app.framework
    assert head.header("content-length") == get.header("content-length") == str(len(get.body))
    assert head.header("content-type") == get.header("content-type") == "application/json"


@each_app()
def test_keep_alive_through_the_app(app: HostedApp, server: Server) -> None:
    """Every kind of exchange above on one connection, each response framed so that the next can be read."""
    with Connection(server) as conn:
        responses = [conn.send("GET", "/json"),
                     conn.send("POST", "/json", JSON, b'{"numbers": [1, 1]}'),
                     conn.send("GET", "/form")]
        form = {"author": "Kay", "text": "kept alive"} | form_secrets(app, responses[-1].body.decode())
        responses.append(conn.send("POST", "/form", FORM, urlencode(form).encode()))  # with Django's CSRF cookie
        responses += [conn.send("GET", urlsplit(responses[-1].header("location") or "?").path),
                      conn.send("GET", "/hello/" + quote("鷺") + "?greeting=hi"),
                      conn.send("GET", NOT_FOUND),
                      conn.send("GET", "/download"),
                      conn.send("GET", f"{app.stream}?n=3&delay=0"),
                      conn.send("GET", "/items/7?tag=" + quote("é")),
                      conn.send("GET", CRASH),
                      conn.send("GET", "/json")]
    assert [r.status for r in responses] == [200, 200, 200, app.redirect_status, 200, 200, 404, 200, 200, 200,
                                             500, 200]
    assert not any(r.closes for r in responses)
    assert responses[0].json()["framework"] == responses[11].json()["framework"] == app.framework
    assert responses[1].json()["total"] == 2
    assert responses[4].json() == {"author": "Kay", "text": "kept alive"}
    assert responses[5].json()["name"] == "鷺"
    assert responses[7].body == app.source
    assert responses[8].body == b"chunk 0 of 3 for you\nchunk 1 of 3 for you\nchunk 2 of 3 for you\n"
    assert responses[9].json() == {"item_id": 7, "q": None, "tags": ["é"]}
    assert responses[10].complete and re.fullmatch(app.crashed.body, responses[10].body.decode(), re.DOTALL)


@each_app()
def test_request_url_and_client_address(app: HostedApp, server: Server) -> None:
    assert requests.get(server.url("/whereami?x=1"), timeout=5).json() == app.whereami(server)


@each_app()
def test_root_path_is_the_script_name(app: HostedApp, tmp_path: Path) -> None:
    """Behind a proxy that strips /shop, ``--root-path /shop`` makes the app build its URLs with the prefix."""
    with hosted_server(tmp_path, app.spec, "--root-path", "/shop") as server:
        assert requests.get(server.url("/whereami?x=1"), timeout=5).json() == app.whereami(server, "/shop")


@each_app("jobs")
def test_background_task_runs_after_the_response(app: HostedApp, server: Server) -> None:
    """The task waits for a release that only a later request sends: the response cannot have waited for it."""
    created = requests.post(server.url("/jobs"), timeout=3)
    assert created.status_code == 202
    job = created.json()["job"]
    assert created.json()["state"] == "queued"

    def state() -> str:
        return requests.get(server.url(f"/jobs/{job}"), timeout=5).json()["state"]  # type: ignore[no-any-return]

    assert wait_for(lambda: state() != "queued" and state()) == "running"
    assert requests.post(server.url(f"/jobs/{job}/release"), timeout=5).json() == {"released": job}
    assert wait_for(lambda: state() == "done")


@each_app("jobs")
def test_next_request_on_the_connection_while_a_background_task_runs(app: HostedApp, server: Server) -> None:
    with Connection(server) as conn:
        job = conn.send("POST", "/jobs").json()["job"]
    with Connection(server, timeout=5) as conn:
        second = conn.send("POST", "/jobs").json()["job"]
        assert conn.send("GET", f"/jobs/{job}").json() == {"job": job, "state": "running"}
        for released in (job, second):
            assert conn.send("POST", f"/jobs/{released}/release").json() == {"released": released}


@each_app("lifespan")
def test_lifespan_startup_state_is_seen_by_requests(app: HostedApp, server: Server) -> None:
    first = requests.get(server.url("/state"), timeout=5).json()
    second = requests.get(server.url("/state"), timeout=5).json()
    assert first == second
    assert re.fullmatch(r"[0-9a-f]{16}", first["startup_token"])


@each_app("lifespan")
def test_lifespan_shutdown_runs_on_sigterm(app: HostedApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "shutdown.txt"
    monkeypatch.setenv("LIFESPAN_SHUTDOWN_FILE", str(marker))
    with hosted_server(tmp_path, app.spec) as server:
        token = requests.get(server.url("/state"), timeout=5).json()["startup_token"]
        assert not marker.exists()
        server.signal(signal.SIGTERM)
        assert server.wait_exit(10) == 0, server.stderr()
    assert marker.read_text() == f"shutdown {token}\n"


@each_app("watch")
def test_request_is_disconnected_sees_the_client_go(app: HostedApp, server: Server) -> None:
    with server.connect(timeout=5) as sock:
        sock.sendall(http_request(server, "GET", "/watch?id=gone-early"))
        time.sleep(0.3)  # the endpoint is polling request.is_disconnected()
    seen = wait_for(lambda: "gone-early" in requests.get(server.url("/disconnects"), timeout=5).json()["disconnected"])
    assert seen
