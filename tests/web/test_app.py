"""App.handle in-process: return values, errors, sync and async handlers.

These drive the web layer directly with an in-memory body; the same app
over real sockets is covered in tests/integration.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

from heron import App, HTTPError, Request, Response
from heron.protocol.events import RequestHead


class MemoryBody:
    """A body stream over bytes held in memory."""

    def __init__(self, data: bytes = b"") -> None:
        self.chunks = [data[i : i + 3] for i in range(0, len(data), 3)]

    async def read_chunk(self) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""


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
