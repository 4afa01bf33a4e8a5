"""A test app whose startup hook fails: the server must say so in one line and exit non-zero."""

from __future__ import annotations

import sys

from heron import App, Request

app = App()


@app.on_startup
async def connect_database() -> None:
    print("failing_startup: hook ran", file=sys.stderr, flush=True)
    raise ConnectionRefusedError("database at 127.0.0.1:5432 refused the connection")


@app.get("/")
async def index(request: Request) -> str:
    return "never served"
