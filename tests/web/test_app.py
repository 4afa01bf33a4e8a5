"""App.handle in-process: return values, errors, sync and async handlers.

These drive the web layer directly with an in-memory body; the same app
over real sockets is covered in tests/integration.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from heron import App, HTTPError, Request, Response
from heron.errors import StartupFailed
from heron.protocol.events import RequestHead


class MemoryBody:
    """A body stream over bytes held in memory."""

    def __init__(self, data: bytes = b"") -> None:
        self.chunks = [data[i : i + 3] for i in range(0, len(data), 3)]

    async def read_chunk(self) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""

    def take_if_complete(self) -> None:
        return None  # never whole at once: the body is read piece by piece


def make_request(method: str, target: str, body: bytes = b"", loop: asyncio.AbstractEventLoop | None = None) -> Request:
    path, _, query = target.partition("?")
    head = RequestHead(method, target, path, query, "1.1", [("Host", "t")], "t", True, False, len(body), False)
    return Request(head, MemoryBody(body), loop=loop)


def run(app: App, method: str, target: str, body: bytes = b"") -> Response:
    async def go() -> Response:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(2))
        return await app.handle(make_request(method, target, body, loop))

    return asyncio.run(go())


app = App()


@app.get("/text")
async def text(request: Request) -> str:
    return "hi"


@app.get("/json")
async def data(request: Request) -> dict[str, int]:
    return {"a": 1}


@app.get("/tuple")
async def created(request: Request) -> tuple[str, int, list[tuple[str, str]]]:
    return "made", 201, [("X-Made", "yes")]


@app.post("/sync-echo")
def sync_echo(request: Request) -> bytes:
    return request.read()


@app.post("/async-echo")
async def async_echo(request: Request) -> bytes:
    return await request.body()


@app.get("/teapot")
async def teapot(request: Request) -> str:
    raise HTTPError(418, "short and stout")


@app.get("/boom")
async def boom(request: Request) -> str:
    raise RuntimeError("secret internals")


def test_str_becomes_text() -> None:
    response = run(app, "GET", "/text")
    assert (response.status, response.body, response.header("content-type")) == (
        200, b"hi", "text/plain; charset=utf-8")


def test_dict_becomes_json() -> None:
    response = run(app, "GET", "/json")
    assert json.loads(response.body) == {"a": 1}
    assert response.header("Content-Type") == "application/json"


def test_tuple_sets_status_and_headers() -> None:
    response = run(app, "GET", "/tuple")
    assert (response.status, response.header("x-made")) == (201, "yes")


def test_sync_handler_reads_body_from_thread() -> None:
    assert run(app, "POST", "/sync-echo", b"hello world").body == b"hello world"


def test_async_handler_reads_body() -> None:
    assert run(app, "POST", "/async-echo", b"hello world").body == b"hello world"


def test_http_error_becomes_its_status() -> None:
    response = run(app, "GET", "/teapot")
    assert (response.status, response.body) == (418, b"short and stout\n")


def test_exception_becomes_canned_500_without_details() -> None:
    response = run(app, "GET", "/boom")
    assert response.status == 500
    assert b"secret" not in response.body


def test_unknown_path_is_404_and_wrong_method_405() -> None:
    assert run(app, "GET", "/nope").status == 404
    response = run(app, "DELETE", "/text")
    assert response.status == 405
    assert response.header("Allow") == "GET, HEAD, OPTIONS"


def test_options_answers_204_with_allow() -> None:
    response = run(app, "OPTIONS", "/sync-echo")
    assert (response.status, response.header("Allow")) == (204, "OPTIONS, POST")


def test_percent_encoded_path_is_decoded_for_routing() -> None:
    assert run(app, "GET", "/t%65xt").body == b"hi"


def test_options_asterisk_describes_the_whole_server() -> None:
    response = run(app, "OPTIONS", "*")
    assert response.status == 204
    assert response.header("Allow") == "GET, HEAD, OPTIONS, POST"


def test_error_handler_by_status_and_by_exception_type() -> None:
    app = App()

    @app.get("/missing-thing")
    async def missing(request: Request) -> str:
        raise HTTPError(404, "no such thing")

    @app.get("/value")
    async def value(request: Request) -> str:
        raise ValueError("bad value")

    @app.errorhandler(404)
    async def not_found(request: Request, error: HTTPError) -> tuple[str, int]:
        return f"custom 404: {error.detail}", 404

    @app.errorhandler(LookupError)
    def lookup(request: Request, error: Exception) -> tuple[str, int]:
        return "lookup", 409

    @app.errorhandler(ValueError)
    def bad_value(request: Request, error: Exception) -> tuple[dict[str, str], int]:
        return {"error": str(error)}, 422

    assert run(app, "GET", "/missing-thing").body == b"custom 404: no such thing"
    assert run(app, "GET", "/nowhere").body == b"custom 404: Not Found"
    response = run(app, "GET", "/value")
    assert (response.status, json.loads(response.body)) == (422, {"error": "bad value"})


def test_failing_error_handler_gives_canned_500() -> None:
    app = App()

    @app.get("/x")
    async def x(request: Request) -> str:
        raise KeyError("k")

    @app.errorhandler(KeyError)
    def broken(request: Request, error: Exception) -> str:
        raise RuntimeError("handler bug")

    response = run(app, "GET", "/x")
    assert (response.status, response.body) == (500, b"Internal Server Error\n")


def test_debug_mode_shows_the_traceback_escaped_and_default_mode_does_not() -> None:
    for debug in (True, False):
        app = App(debug=debug)

        @app.get("/boom")
        async def boom(request: Request) -> str:
            raise RuntimeError("<secret internals>")

        response = run(app, "GET", "/boom")
        assert response.status == 500
        assert (b"&lt;secret internals&gt;" in response.body) is debug
        assert b"<secret internals>" not in response.body


# -- routing through the App: slash redirects, url_for, mounts, hooks ----------------

slashes = App()


@slashes.route("/form", methods=["GET", "POST"])
async def form(request: Request) -> str:
    return "form"


@slashes.get("/dir/")
async def directory(request: Request) -> str:
    return "dir"


def test_missing_trailing_slash_redirects_308_keeping_the_query() -> None:
    response = run(slashes, "GET", "/dir?a=1&b=2")
    assert (response.status, response.header("Location")) == (308, "/dir/?a=1&b=2")


def test_extra_trailing_slash_on_a_post_redirects_308_so_the_method_and_body_are_kept() -> None:
    response = run(slashes, "POST", "/form/", b"x=1")
    assert (response.status, response.header("Location")) == (308, "/form")


def test_no_redirect_when_the_other_form_does_not_answer_the_method() -> None:
    assert run(slashes, "DELETE", "/form/").status == 404


def test_a_route_that_matches_as_sent_wins_over_a_slash_redirect() -> None:
    app = App()

    @app.get("/x")
    async def x(request: Request) -> str:
        return "x"

    @app.get("/{page:path}")
    async def catch_all(request: Request, page: str) -> str:
        return "page " + page

    assert run(app, "GET", "/x/").body == b"page x/"


def test_slash_redirect_never_points_at_another_host() -> None:
    app = App()

    @app.get("//evil.com")  # a route only a confused app would have: the redirect must still not be made
    async def evil(request: Request) -> str:
        return "no"

    response = run(app, "GET", "//evil.com/")
    assert response.status == 404
    assert response.header("Location") is None


def test_slash_redirects_can_be_turned_off() -> None:
    app = App(redirect_slashes=False)

    @app.get("/x")
    async def x(request: Request) -> str:
        return "x"

    assert run(app, "GET", "/x/").status == 404


def test_app_url_for_names_routes_by_function_or_by_name() -> None:
    app = App()

    @app.get("/user/{name}")
    async def user(request: Request, name: str) -> str:
        return name

    @app.post("/user/{name}/avatar", name="upload_avatar")
    async def avatar(request: Request, name: str) -> str:
        return name

    assert app.url_for("user", name="ada lovelace") == "/user/ada%20lovelace"
    assert app.url_for("upload_avatar", name="ada", _query={"size": 64}) == "/user/ada/avatar?size=64"


def test_app_converter_from_a_regex_and_functions() -> None:
    app = App()
    app.add_converter("hex", "[0-9a-f]+", lambda text: int(text, 16), lambda value: format(value, "x"))

    @app.get("/color/{rgb:hex}")
    async def color(request: Request, rgb: int) -> str:
        return str(rgb)

    assert run(app, "GET", "/color/ff").body == b"255"
    assert app.url_for("color", rgb=4095) == "/color/fff"


def test_websocket_route_handlers_must_be_async_and_share_the_routers_rules() -> None:
    app = App()

    def blocking(ws: object) -> None:
        pass

    with pytest.raises(TypeError, match="must be an async def"):
        app.websocket("/ws")(blocking)

    @app.websocket("/rooms/{room:int}", name="room")
    async def room(ws: object, room: int) -> None:
        pass

    assert app.url_for("room", room=7) == "/rooms/7"
    with pytest.raises(ValueError):
        app.websocket("/rooms/{room:nope}")(room)


def make_mounted() -> tuple[App, App]:
    api = App()

    @api.get("/users/{id:int}")
    async def get_user(request: Request, id: int) -> dict[str, object]:
        return {"id": id, "root_path": request.root_path, "path": request.path}

    @api.get("/")
    async def api_index(request: Request) -> str:
        return "api index"

    @api.errorhandler(404)
    async def api_not_found(request: Request, exc: Exception) -> tuple[str, int]:
        return "no such API resource", 404

    site = App()
    site.mount("/api", api)

    @site.get("/")
    async def index(request: Request) -> str:
        return "home"

    return site, api


def test_mounted_app_routes_the_path_after_its_prefix_and_sees_root_path() -> None:
    site, _ = make_mounted()
    response = run(site, "GET", "/api/users/7")
    assert json.loads(response.body) == {"id": 7, "root_path": "/api", "path": "/api/users/7"}
    assert run(site, "GET", "/").body == b"home"


def test_mounted_app_answers_its_own_404_and_405() -> None:
    site, _ = make_mounted()
    assert run(site, "GET", "/api/nope").body == b"no such API resource"
    response = run(site, "POST", "/api/users/7")
    assert (response.status, response.header("Allow")) == (405, "GET, HEAD, OPTIONS")
    assert run(site, "GET", "/nope").body == b"Not Found\n"  # the parent's canned 404, not the sub-app's


def test_mount_prefix_alone_redirects_to_the_sub_apps_root() -> None:
    site, _ = make_mounted()
    response = run(site, "GET", "/api?x=1")
    assert (response.status, response.header("Location")) == (308, "/api/?x=1")
    assert run(site, "GET", "/api/").body == b"api index"


def test_url_for_reaches_mounted_routes_by_mount_name() -> None:
    site, api = make_mounted()
    assert site.url_for("api.get_user", id=3) == "/api/users/3"
    assert api.url_for("get_user", id=3) == "/users/3"
    try:
        site.url_for("api.nope")
    except LookupError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("unknown mounted name must raise LookupError")


def test_options_asterisk_includes_mounted_apps_methods() -> None:
    site = App()
    api = App()

    @api.delete("/x")
    async def remove(request: Request) -> None:
        return None

    site.mount("/api", api)
    assert run(site, "OPTIONS", "*").header("Allow") == "DELETE, OPTIONS"


def test_a_route_under_a_mount_is_refused_naming_the_mount_call() -> None:
    site, _ = make_mounted()
    try:
        site.get("/api/status")(text)
    except ValueError as exc:
        assert "test_app.py:" in str(exc) and "/api" in str(exc)
    else:
        raise AssertionError("a route under a mount must be refused")


def test_startup_and_shutdown_hooks_run_sync_and_async_including_mounted_apps() -> None:
    calls: list[str] = []
    site, api = App(), App()
    site.mount("/api", api)

    @site.on_startup
    def open_site() -> None:
        calls.append("site up")

    @api.on_startup
    async def open_api() -> None:
        calls.append("api up")

    @api.on_shutdown
    async def close_api() -> None:
        calls.append("api down")

    @site.on_shutdown
    def close_site() -> None:
        calls.append("site down")

    asyncio.run(site.startup())
    asyncio.run(site.shutdown())
    assert calls == ["site up", "api up", "api down", "site down"]


def test_failing_startup_hook_raises_startup_failed_naming_the_hook() -> None:
    app = App()

    @app.on_startup
    async def connect_database() -> None:
        raise ConnectionRefusedError("db is down")

    try:
        asyncio.run(app.startup())
    except StartupFailed as exc:
        message = str(exc)
    else:
        raise AssertionError("startup must fail")
    assert "connect_database" in message and "test_app.py:" in message
    assert "ConnectionRefusedError: db is down" in message


def test_failing_shutdown_hook_is_logged_and_the_others_still_run() -> None:
    calls: list[str] = []
    app = App()

    @app.on_shutdown
    def broken() -> None:
        raise RuntimeError("oops")

    @app.on_shutdown
    def still_runs() -> None:
        calls.append("ran")

    asyncio.run(app.shutdown())
    assert calls == ["ran"]


def test_url_for_with_a_dotted_mount_name_and_nested_mounts() -> None:
    site, v2, users = App(), App(), App()

    @users.get("/{id:int}")
    async def show(request: Request, id: int) -> str:
        return request.root_path

    v2.mount("/users", users)
    site.mount("/api/v2", v2)
    assert site.url_for("api.v2.users.show", id=5) == "/api/v2/users/5"
    assert run(site, "GET", "/api/v2/users/5").body == b"/api/v2/users"
