"""Test apps for sessions and CSRF over a real server: the same routes with the session in a signed cookie
(``app``), in the process's memory (``memory_app``), after a key rotation (``rotated_app``: a new key, the old
one a fallback) and with a two-second lifetime (``brief_app``)."""

from __future__ import annotations

from typing import Any

from heron import App, Request
from heron.web.csrf import csrf_protection
from heron.web.sessions import MemoryStore, sessions

KEY = "integration-session-key-0123456789"


def make_app(**options: Any) -> App:
    app = App()
    options.setdefault("max_age", 3600)
    app.add_middleware(sessions(options.pop("key", KEY), **options))
    app.add_middleware(csrf_protection(exempt=["/hook"]))
    add_routes(app)
    return app


def add_routes(app: App) -> None:
    @app.get("/count")
    async def count(request: Request) -> dict[str, Any]:
        request.session["n"] = request.session.get("n", 0) + 1
        return {"n": request.session["n"]}

    @app.get("/token")
    async def token(request: Request) -> str:
        return request.session.csrf_token()

    @app.post("/login")
    async def login(request: Request) -> dict[str, Any]:
        form = await request.form()
        request.session.regenerate()
        request.session["user"] = form.get("name")
        return {"user": request.session["user"]}

    @app.get("/me")
    async def me(request: Request) -> dict[str, Any]:
        return {"user": request.session.get("user")}

    @app.post("/logout")
    async def logout(request: Request) -> str:
        request.session.clear()
        return "bye"

    @app.post("/hook")
    async def hook(request: Request) -> str:
        return "hooked"


app = make_app()
memory_app = make_app(store=MemoryStore())
rotated_app = make_app(key="a-brand-new-key-9876543210", fallback_keys=[KEY])
brief_app = make_app(max_age=2)
