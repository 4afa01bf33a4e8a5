"""The demo site: what ``python3 -m heron`` serves when given no app.

It is also the first example of the framework, small enough to read in one
sitting: pages rendered from templates (``heron/demo/templates/``, a base
layout and one template per page), a JSON endpoint, and a few
files from ``heron/demo/static/`` (a stylesheet, scripts, an icon, and a
page sent exactly as it is on disk). The script asks ``/api/data`` for
JSON and writes the answer into the home page, so one visit exercises
HTML, CSS, JavaScript and an API call. ``/chat`` is a chat room over a
WebSocket (``heron/demo/chat.py``), ``/upload`` takes files
(``uploads.py``), ``/login`` keeps a session (``account.py``), ``/caching``
shows the compression, caching and rate-limit fields (``caching.py``).

Every page is compressed when the browser accepts it (``compression()``)
and tagged for revalidation (``revalidation()``: an ETag and a 304).
"""

from __future__ import annotations

import os
import secrets

from heron.demo.account import add_account
from heron.demo.caching import add_caching
from heron.demo.chat import MAX_NAME, MAX_TEXT, add_chat
from heron.demo.uploads import add_uploads
from heron.errors import HTTPError
from heron.web import App, HTMLResponse, Request
from heron.web.compression import compression
from heron.web.csrf import csrf_protection
from heron.web.middleware import basic_auth, bearer_auth, cors
from heron.web.revalidation import revalidation
from heron.web.sessions import sessions
from heron.web.templates import Templates

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
"""heron/demo/templates/: a base layout with blocks (``base.html``) and one template per page."""
NAV = [("/", "Home"), ("/about", "About"), ("/user/ada", "Hello, ada"), ("/api/data", "JSON"), ("/chat", "Chat"),
       ("/upload", "Upload"), ("/account", "Account"), ("/caching", "Caching"), ("/static/demo.html", "A static page")]
"""The menu every page shows: (address, label)."""

app = App(templates=Templates(TEMPLATES, globals={"nav": NAV}))
app.add_middleware(revalidation())
app.add_middleware(compression())
"""Outermost, in this order: revalidation sees (and tags) the bytes each client gets (docs/caching.md)."""
app.add_middleware(sessions(os.environ.get("HERON_DEMO_SECRET") or secrets.token_urlsafe(32)))
"""Sessions in a signed cookie. The key is new each time the demo starts (signing out everyone) unless
``HERON_DEMO_SECRET`` names one; with --workers, set it, so that every worker knows the others' cookies."""
app.add_middleware(csrf_protection(exempt=["/api/{rest:path}"]))
"""Every POST needs the session's token and must come from this site; the API, which any page may
call (CORS), is exempt: it changes nothing and takes no cookies' word for anything."""

@app.get("/")
async def home(request: Request) -> HTMLResponse:
    return app.render("home.html")


@app.get("/about")
async def about(request: Request) -> HTMLResponse:
    return app.render("about.html", request=request)


@app.get("/user/{name}")
async def user(request: Request, name: str) -> HTMLResponse:
    return app.render("user.html", request=request, name=name)


@app.get("/chat")
async def chat(request: Request) -> HTMLResponse:
    return app.render("chat.html", max_name=MAX_NAME, max_text=MAX_TEXT)


add_chat(app)
add_uploads(app)
add_account(app)
add_caching(app)

# -- the API: a sub-app with CORS, and a part that needs a token ---------------------

api = App()
api.add_middleware(cors(["*"], allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"]))
"""Any web page may call the API from a browser; preflights are answered by the middleware."""

DEMO_TOKEN = "demo-token"
"""The bearer token /api/private wants. A demo secret, printed on the about page: not a real one."""


@api.get("/data")
async def data(request: Request) -> dict[str, object]:
    return {"message": "Hello from heron", "server": "heron", "path": request.path, "items": [1, 2, 3]}


@api.post("/echo")
async def echo(request: Request) -> dict[str, object]:
    """Send JSON, get it back: shows ``request.json()`` (400 for bad JSON, 415 for other types)."""
    return {"you_sent": await request.json()}


private = App()
private.add_middleware(bearer_auth([DEMO_TOKEN], realm="heron demo"))


@private.get("/")
async def secret(request: Request) -> dict[str, str]:
    return {"secret": "herons stand still to fish"}


api.mount("/private", private)
app.mount("/api", api)

# -- a page behind a password ----------------------------------------------------------

admin = App()
admin.add_middleware(basic_auth({"admin": "heron"}, realm="heron demo"))


@admin.get("/")
async def admin_home(request: Request) -> HTMLResponse:
    return app.render("admin.html")


app.mount("/admin", admin)


@app.errorhandler(404)
async def not_found(request: Request, error: HTTPError) -> HTMLResponse:
    response = app.render("not_found.html", request=request)
    response.status = 404
    return response


# -- files ---------------------------------------------------------------------------

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
"""heron/demo/static/: a stylesheet, a script, an icon and a page, served by StaticFiles.

``no-cache`` makes the browser revalidate each time: a reload shows the
ETag / 304 exchange in the browser's network panel.
"""

app.static("/static", STATIC, cache_control="no-cache")
