"""The demo site ``python3 -m heron`` serves when given no app.

It is also the first example of the framework: every later feature adds a
page here.
"""

from __future__ import annotations

from html import escape

from heron.web import App, Request, Response
from heron.web.response import HTML

app = App()

_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title} - heron</title></head>
<body>
<nav><a href="/">home</a> · <a href="/about">about</a> · <a href="/user/ada">/user/ada</a>
 · <a href="/api/data">/api/data</a></nav>
<main>{body}</main>
</body>
</html>
"""


def page(title: str, body: str) -> Response:
    return Response(_PAGE.format(title=escape(title), body=body), content_type=HTML)


@app.get("/")
async def home(request: Request) -> Response:
    return page("home", "<h1>heron</h1><p>An HTTP/1.1 server and web framework in pure Python.</p>")


@app.get("/about")
async def about(request: Request) -> Response:
    return page("about", "<h1>About</h1><p>Every byte of this page was parsed and framed by heron, "
                         "using nothing but the Python standard library.</p>")


@app.get("/user/{name}")
async def user(request: Request, name: str) -> Response:
    return page(name, f"<h1>Hello, {escape(name)}!</h1>")


@app.get("/api/data")
async def data(request: Request) -> dict[str, object]:
    return {"server": "heron", "path": request.path, "items": [1, 2, 3]}
