"""The demo site: what ``python3 -m heron`` serves when given no app.

It is also the first example of the framework, small enough to read in one
sitting: pages rendered by Python functions, a JSON endpoint, and a few
files from ``heron/demo/static/`` (a stylesheet, scripts, an icon, and a
page sent exactly as it is on disk). The script asks ``/api/data`` for
JSON and writes the answer into the home page, so one visit exercises
HTML, CSS, JavaScript and an API call. ``/chat`` is a chat room over a
WebSocket (``heron/demo/chat.py``), ``/upload`` takes files
(``uploads.py``), ``/login`` keeps a session (``account.py``).
"""

from __future__ import annotations

import os
import secrets
from html import escape

from heron.demo.account import add_account
from heron.demo.chat import MAX_NAME, MAX_TEXT, add_chat
from heron.demo.layout import page
from heron.demo.uploads import add_uploads
from heron.errors import HTTPError
from heron.web import App, HTMLResponse, Request
from heron.web.csrf import csrf_protection
from heron.web.middleware import basic_auth, bearer_auth, cors
from heron.web.sessions import sessions

app = App()
app.add_middleware(sessions(os.environ.get("HERON_DEMO_SECRET") or secrets.token_urlsafe(32)))
"""Sessions in a signed cookie. The key is new each time the demo starts (signing out everyone) unless
``HERON_DEMO_SECRET`` names one; with --workers, set it, so that every worker knows the others' cookies."""
app.add_middleware(csrf_protection(exempt=["/api/{rest:path}"]))
"""Every POST needs the session's token and must come from this site; the API, which any page may
call (CORS), is exempt: it changes nothing and takes no cookies' word for anything."""

@app.get("/")
async def home(request: Request) -> HTMLResponse:
    return page("Home", """<h1>Hello from heron</h1>
<p class="lead">This page came from a Python function: <code>home()</code> in
<code>heron/demo/__init__.py</code> returned it, and heron sent it to your browser
over HTTP/1.1.</p>
<h2>Look around</h2>
<ul>
<li><a href="/about">About</a>: how this page got here, and what your browser sent to ask for it.</li>
<li><a href="/user/ada">/user/ada</a>: part of the address becomes an argument. Try your own name.</li>
<li><a href="/api/data">/api/data</a>: JSON, the kind of answer a script asks for.</li>
<li><a href="/chat">/chat</a>: a chat room over a WebSocket. Open it in two windows.</li>
<li><a href="/upload">/upload</a>: send files with a progress bar; the server tells you their SHA-256.</li>
<li><a href="/login">/login</a>: sign in, and a session counts your visits until you sign out.</li>
<li><a href="/static/page.html">/static/page.html</a>: a file, sent as it is on disk.</li>
<li><a href="/admin/">/admin/</a>: a page behind a password (user <code>admin</code>,
password <code>heron</code>).</li>
<li><code>/api/private/</code>: JSON for callers with a token:
<code>curl -H 'Authorization: Bearer demo-token' http://127.0.0.1:8080/api/private/</code></li>
<li><a href="/no/such/page">/no/such/page</a>: what a 404 looks like here.</li>
</ul>
<h2>Live from JavaScript</h2>
<p>After the page loaded, <a href="/static/app.js">/static/app.js</a> asked
<code>/api/data</code> for JSON and wrote the answer here:</p>
<pre id="api-data">Waiting for JavaScript…</pre>""", here="/")


@app.get("/about")
async def about(request: Request) -> HTMLResponse:
    rows = "\n".join(f"<tr><th>{escape(name)}</th><td>{escape(value)}</td></tr>"
                     for name, value in request.head.headers)
    return page("About", f"""<h1>About this page</h1>
<ol>
<li>Your browser opened a TCP connection and sent a few lines of text: a request.</li>
<li>heron's parser (<code>heron/protocol/parser.py</code>) checked them, strictly.</li>
<li>The router (<code>heron/web/routing.py</code>) found the function for <code>/about</code>,
which wrote this HTML.</li>
<li>The writer (<code>heron/protocol/writer.py</code>) put a status line and headers in front
of it and sent it back.</li>
<li>Your browser then asked for the stylesheet, the script and the icon the same way:
three more requests.</li>
</ol>
<p><code>docs/tour.md</code> follows one request through the code, file by file.</p>
<h2>What your browser sent</h2>
<p><code>{escape(request.method)} {escape(request.head.target)} HTTP/{escape(request.http_version)}</code>,
then these headers:</p>
<table>
{rows}
</table>""", here="/about")


@app.get("/user/{name}")
async def user(request: Request, name: str) -> HTMLResponse:
    return page(name, f"""<h1>Hello, {escape(name)}!</h1>
<p>The route <code>/user/{{name}}</code> matched this address, so heron called
<code>user(request, name)</code> with <code>name = {escape(repr(name))}</code>.</p>
<p>A name goes through <code>html.escape</code> before it goes into the page, so
<a href="/user/%3Cb%3Eada">/user/&lt;b&gt;ada</a> shows the tag instead of making text bold.</p>""",
                here=request.path)


@app.get("/chat")
async def chat(request: Request) -> HTMLResponse:
    return page("Chat", f"""<h1>Chat</h1>
<p class="lead">Open this page in two windows, join with a name in each, and type.
Each page holds a WebSocket to <code>/chat/ws</code>: one connection that stays open,
so the server can send you a message the moment someone writes one
(<code>heron/demo/chat.py</code>, <a href="/static/chat.js">/static/chat.js</a>).</p>
<form id="chat-join">
<label>Your name <input id="chat-name" name="name" maxlength="{MAX_NAME}" autocomplete="nickname" required></label>
<button>Join</button>
</form>
<section id="chat-room" hidden>
<p id="chat-status" role="status">Connecting…</p>
<p>Here now: <span id="chat-members"></span></p>
<ol id="chat-messages" aria-live="polite"></ol>
<form id="chat-send">
<input id="chat-text" maxlength="{MAX_TEXT}" autocomplete="off" aria-label="Message" disabled>
<button disabled>Send</button>
</form>
</section>
<script src="/static/chat.js" defer></script>""", here="/chat")


add_chat(app)
add_uploads(app)
add_account(app)

# -- the API: a sub-app with CORS, and a part that needs a token ---------------------

api = App()
api.add_middleware(cors(["*"], allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"]))
"""Any web page may call the API from a browser; preflights are answered by the middleware."""

DEMO_TOKEN = "demo-token"
"""The bearer token /api/private wants. A demo secret, printed on the about page: not a real one."""


@api.get("/data")
async def data(request: Request) -> dict[str, object]:
    return {"server": "heron", "path": request.path, "items": [1, 2, 3]}


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
    return page("Admin", "<h1>Admin</h1><p>You sent the right user name and password (HTTP Basic).</p>",
                here="/admin/")


app.mount("/admin", admin)


@app.errorhandler(404)
async def not_found(request: Request, error: HTTPError) -> HTMLResponse:
    response = page("Not found", f"""<h1>Nothing here</h1>
<p>No route matches <code>{escape(request.path)}</code>. This page comes from an error handler:
<code>@app.errorhandler(404)</code>.</p>""")
    response.status = 404
    return response


# -- files ---------------------------------------------------------------------------

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
"""heron/demo/static/: a stylesheet, a script, an icon and a page, served by StaticFiles.

``no-cache`` makes the browser revalidate each time: a reload shows the
ETag / 304 exchange in the browser's network panel.
"""

app.static("/static", STATIC, cache_control="no-cache")
