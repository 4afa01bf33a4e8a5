"""The demo site's layout: every page is its content inside one frame with the menu (demo).

Pages are HTML built by Python functions with f-strings: whatever came
from the request goes through ``html.escape`` first (templates come with
issue 17).
"""

from __future__ import annotations

from html import escape

from heron.web import HTMLResponse

NAV = [
    ("/", "Home"),
    ("/about", "About"),
    ("/user/ada", "Hello, ada"),
    ("/api/data", "JSON"),
    ("/chat", "Chat"),
    ("/upload", "Upload"),
    ("/account", "Account"),
    ("/static/page.html", "A static page"),
]

LAYOUT = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · heron</title>
<link rel="icon" href="/static/favicon.svg">
<link rel="stylesheet" href="/static/style.css">
<script src="/static/app.js" defer></script>
</head>
<body>
<header>
<a class="brand" href="/">heron</a>
<nav>{nav}</nav>
</header>
<main>
{content}
</main>
<footer>Served by heron, an HTTP/1.1 server written in pure Python.</footer>
</body>
</html>
"""


def page(title: str, content: str, here: str = "") -> HTMLResponse:
    """``content`` inside the site's layout. It is HTML: escape what came from the request.

    ``here`` is the path of the current page, which the menu marks.
    """
    links = []
    for href, label in NAV:
        current = ' aria-current="page"' if href == here else ""
        links.append(f'<a href="{href}"{current}>{label}</a>')
    return HTMLResponse(LAYOUT.format(title=escape(title), nav="\n".join(links), content=content))
