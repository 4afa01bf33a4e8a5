"""A test app for the Request and Response API over a real server: cookies, bodies, redirects.

Each route does one thing with the request and answers JSON that says what
the handler saw, so a test can check both directions with ``requests``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from heron import App, HTMLResponse, HTTPError, RedirectResponse, Request, Response, StreamingResponse

app = App()


@app.get("/inspect")
async def inspect(request: Request) -> dict[str, Any]:
    return {
        "url": request.url,
        "path": request.path,
        "raw_path": request.raw_path,
        "query": request.query.multi_items(),
        "first": dict(request.query),
        "cookies": request.cookies,
        "client_is_loopback": request.client is not None and request.client[0] == "127.0.0.1",
    }


@app.get("/cookies/set")
async def set_cookies(request: Request) -> Response:
    response = Response("set\n")
    response.set_cookie("sid", "abc123", httponly=True)
    response.set_cookie("theme", "dark", max_age=3600, path="/")
    return response


@app.get("/cookies/attributes")
async def cookie_attributes(request: Request) -> Response:
    response = Response("attributes\n")
    response.set_cookie("full", "v", max_age=60, expires=784111777, path="/cookies", secure=True, httponly=True,
                        samesite="none", partitioned=True)
    response.set_cookie("plain", "p", samesite=None)
    return response


@app.get("/cookies/clear")
async def clear_cookies(request: Request) -> Response:
    response = Response("cleared\n")
    response.delete_cookie("sid")
    return response


@app.post("/json")
async def echo_json(request: Request) -> dict[str, Any]:
    return {"got": await request.json()}


@app.post("/json-sync")
def echo_json_sync(request: Request) -> dict[str, Any]:
    return {"got": request.read_json()}


@app.post("/form")
async def echo_form(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {"pairs": form.multi_items()}


@app.post("/form-sync")
def echo_form_sync(request: Request) -> dict[str, Any]:
    return {"pairs": request.read_form().multi_items()}


@app.post("/text")
async def echo_text(request: Request) -> dict[str, Any]:
    return {"text": await request.text()}


@app.post("/text-sync")
def echo_text_sync(request: Request) -> dict[str, Any]:
    return {"text": request.read_text()}


@app.route("/redirect/{status:int}", methods=["GET", "POST"])
async def redirect(request: Request, status: int) -> Response:
    if status not in (301, 302, 303, 307, 308):
        raise HTTPError(400, "not a redirect status")
    return RedirectResponse("/landing?from=" + str(status), status)


@app.get("/redirect-away")
async def redirect_away(request: Request) -> Response:
    return RedirectResponse("/caf\u00e9 page")


@app.route("/landing", methods=["GET", "POST"])
async def landing(request: Request) -> dict[str, Any]:
    return {"method": request.method, "from": request.query.get("from"), "body": (await request.body()).decode()}


@app.get("/html")
async def html(request: Request) -> Response:
    return HTMLResponse("<h1>héron</h1>")


@app.get("/tuple")
async def as_tuple(request: Request) -> tuple[dict[str, str], int, dict[str, str]]:
    return {"made": "yes"}, 201, {"X-Made": "yes"}


@app.get("/stream-sync")
async def stream_sync(request: Request) -> Response:
    def parts() -> Iterator[str]:
        for i in range(3):
            yield f"sync{i}\n"

    return StreamingResponse(parts())


@app.get("/stream-async")
async def stream_async(request: Request) -> Response:
    async def parts() -> AsyncIterator[bytes]:
        for i in range(3):
            yield b"async%d\n" % i

    return StreamingResponse(parts())
