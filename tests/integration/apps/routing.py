"""A test app for the router over real sockets: converters, slash redirects, url_for, a mount, hooks.

Startup and shutdown hooks print markers to stderr (``routing: ...``) so a
test can see that they ran, in which order, and in which process.
"""

from __future__ import annotations

import os
import sys
import uuid

from heron import App, Request

app = App()
api = App()
app.mount("/api", api)

state: dict[str, str] = {}


@app.on_startup
async def open_resources() -> None:
    state["db"] = "connected"
    print(f"routing: startup site {os.getpid()}", file=sys.stderr, flush=True)


@app.on_shutdown
def close_resources() -> None:
    print(f"routing: shutdown site {os.getpid()}", file=sys.stderr, flush=True)


@api.on_startup
def open_api() -> None:
    print(f"routing: startup api {os.getpid()}", file=sys.stderr, flush=True)


@api.on_shutdown
async def close_api() -> None:
    print(f"routing: shutdown api {os.getpid()}", file=sys.stderr, flush=True)


@app.get("/state")
async def show_state(request: Request) -> dict[str, str]:
    return state


@app.get("/items/{id:int}")
async def item(request: Request, id: int) -> dict[str, object]:
    return {"id": id, "type": type(id).__name__}


@app.get("/items/{slug}")
async def item_by_slug(request: Request, slug: str) -> dict[str, object]:
    return {"slug": slug}


@app.get("/price/{amount:float}")
async def price(request: Request, amount: float) -> dict[str, object]:
    return {"amount": amount}


@app.get("/objects/{key:uuid}")
async def obj(request: Request, key: uuid.UUID) -> dict[str, object]:
    return {"key": str(key), "version": key.version}


@app.get("/files/{rest:path}")
async def files(request: Request, rest: str) -> dict[str, object]:
    return {"rest": rest}


@app.post("/submit")
async def submit(request: Request) -> dict[str, object]:
    body = await request.body()
    return {"method": request.method, "body": body.decode(), "query": request.query_string}


@app.get("/docs/")
async def docs(request: Request) -> str:
    return "docs"


@app.get("/links")
async def links(request: Request) -> dict[str, str]:
    return {
        "item": app.url_for("item", id=42),
        "user": app.url_for("user_profile", name="ada lovelace/x"),
        "files": app.url_for("files", rest="a b/c.txt", _query={"download": 1}),
        "api_user": app.url_for("api.api_user", id=7),
    }


@app.get("/users/{name}", name="user_profile")
async def user(request: Request, name: str) -> dict[str, str]:
    return {"name": name}


@api.get("/users/{id:int}")
async def api_user(request: Request, id: int) -> dict[str, object]:
    return {"id": id, "root_path": request.root_path, "self": request.root_path + api.url_for("api_user", id=id)}


@api.get("/")
async def api_index(request: Request) -> str:
    return "api index"
