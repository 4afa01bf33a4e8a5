"""A test app that says who heron thinks the client is, and where the app is mounted.

For --proxy-headers and --root-path: every route answers JSON with the
client address and scheme the server resolved, the URL and paths the app
sees, and paths built with ``url_for`` the way docs/routing.md says to
(``request.root_path + app.url_for(...)``). A mounted app shows both
prefixes adding up.
"""

from __future__ import annotations

from typing import Any

from heron import App, RedirectResponse, Request

app = App()
api = App()
app.mount("/api", api)


def described(request: Request, url_for: str) -> dict[str, Any]:
    return {
        "client": list(request.client) if request.client else None,
        "scheme": request.scheme,
        "url": request.url,
        "path": request.path,
        "raw_path": request.raw_path,
        "root_path": request.root_path,
        "url_for": url_for,
    }


@app.get("/whoami")
async def whoami(request: Request) -> dict[str, Any]:
    return described(request, request.root_path + app.url_for("whoami"))


@app.get("/to-whoami")
async def to_whoami(request: Request) -> RedirectResponse:
    return RedirectResponse(request.root_path + app.url_for("whoami"))


@app.get("/folder/")
async def folder(request: Request) -> str:
    return "folder\n"


@api.get("/users/{id:int}")
async def user(request: Request, id: int) -> dict[str, Any]:
    return described(request, request.root_path + api.url_for("user", id=id))
