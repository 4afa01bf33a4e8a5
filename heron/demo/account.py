"""The demo's sign-in: a session with a visit counter, flash messages, and sign-out (demo).

``/login`` takes a name and the demo password (``heron``); on success the
session gets a new id (``regenerate``: an id someone planted before the
sign-in opens nothing) and the user's name. ``/account`` counts the
visits in the session; ``/logout`` clears it. Each form carries the
session's CSRF token, which the app's ``csrf_protection`` checks on every
POST. The session itself is a signed cookie: nothing is kept on the server.
"""

from __future__ import annotations

import hmac

from heron.messages.response import RedirectResponse
from heron.web import App, Request, Response

DEMO_PASSWORD = "heron"
"""Printed on the page: a demo, not a secret."""
MAX_NAME = 40


def add_account(app: App) -> None:
    """Add ``/login``, ``/account`` and ``/logout`` to the demo app."""

    @app.get("/login")
    async def login_page(request: Request) -> Response:
        if "user" in request.session:
            return RedirectResponse("/account", 303)
        return app.render("login.html", request=request, password=DEMO_PASSWORD, max_name=MAX_NAME)

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
        if not name or len(name) > MAX_NAME or not hmac.compare_digest(password.encode(), DEMO_PASSWORD.encode()):
            request.session.flash("Wrong name or password.", "error")
            return RedirectResponse("/login", 303)
        request.session.regenerate()
        request.session["user"] = name
        request.session["visits"] = 0
        request.session.flash(f"Welcome, {name}.", "success")
        return RedirectResponse("/account", 303)

    @app.get("/account")
    async def account(request: Request) -> Response:
        session = request.session
        if "user" not in session:
            session.flash("Sign in first.", "error")
            return RedirectResponse("/login", 303)
        session["visits"] = session.get("visits", 0) + 1
        return app.render("account.html", request=request)

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        request.session.clear()
        request.session.flash("You are signed out.", "success")
        return RedirectResponse("/login", 303)
