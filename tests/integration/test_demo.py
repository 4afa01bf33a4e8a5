"""``python3 -m heron`` with no arguments serves the demo site on 127.0.0.1:8080.

The site itself is checked page by page over real HTTP here;
test_demo_browser.py checks what only a browser can (CSS, JavaScript, clicks).
"""

from __future__ import annotations

import socket
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from .conftest import Serve
from .support import ServerDied

HTML = "text/html; charset=utf-8"


def port_8080_is_free() -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", 8080))
        except OSError:
            return False
    return True


def test_no_arguments_serve_the_demo_site_on_port_8080(serve: Serve) -> None:
    if not port_8080_is_free():
        pytest.skip("port 8080 is in use")
    try:
        server = serve(app=None, port=None, access_log=True)  # exactly `python3 -m heron`
    except ServerDied as exc:
        if "cannot listen on 127.0.0.1:8080" in str(exc):  # taken since the check above
            pytest.skip("port 8080 is in use")
        raise
    assert (server.host, server.port) == ("127.0.0.1", 8080)
    assert "serving the demo site" in server.stderr()
    home = requests.get("http://127.0.0.1:8080/", timeout=5)
    assert home.status_code == 200
    assert home.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<h1>Hello from heron</h1>" in home.text
    user = requests.get("http://127.0.0.1:8080/user/ada", timeout=5)
    assert "Hello, ada!" in user.text
    escaped = requests.get("http://127.0.0.1:8080/user/%3Cb%3E", timeout=5)
    assert "Hello, &lt;b&gt;!" in escaped.text
    data = requests.get("http://127.0.0.1:8080/api/data", timeout=5)
    assert data.headers["Content-Type"] == "application/json"
    assert data.json() == {"message": "Hello from heron", "server": "heron", "path": "/api/data", "items": [1, 2, 3]}
    server.wait_for_stderr(r'"GET /api/data HTTP/1\.1" 200')


class LinkCollector(HTMLParser):
    """Every address a page refers to: links, stylesheets, icons, scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is not None and (name, tag) in {("href", "a"), ("href", "link"), ("src", "script")}:
                self.targets.append(value)


NOT_200 = {"/admin/": 401, "/no/such/page": 404}
"""Links the demo shows on purpose to demonstrate auth and its 404 page."""


def test_every_page_of_the_demo_answers_200_and_every_link_resolves(serve: Serve) -> None:
    server = serve(app=None)
    seen: dict[str, requests.Response] = {}
    queue = ["/"]
    with requests.Session() as http:
        while queue:
            path = queue.pop()
            if path in seen:
                continue
            response = seen[path] = http.get(server.url(path), timeout=5)
            assert response.status_code == NOT_200.get(path, 200), path
            if response.status_code == 200 and response.headers["Content-Type"].startswith("text/html"):
                collector = LinkCollector()
                collector.feed(response.text)
                for target in collector.targets:
                    url = urlsplit(urljoin(server.url(path), target))
                    assert url.netloc == f"{server.host}:{server.port}", f"{path} links off the site: {target}"
                    queue.append(url.path)
    assert set(seen) >= {"/", "/about", "/user/ada", "/user/%3Cb%3Eada", "/api/data", "/static/demo.html",
                         "/static/style.css", "/static/app.js", "/static/favicon.svg"}
    assert seen["/static/style.css"].headers["Content-Type"] == "text/css; charset=utf-8"
    assert seen["/static/app.js"].headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert seen["/static/favicon.svg"].headers["Content-Type"] == "image/svg+xml; charset=utf-8"
    # Served by StaticFiles: validators and the cache policy; compressed (requests asks), so the tag is weak.
    style = seen["/static/style.css"].headers
    assert style["Content-Encoding"] in ("gzip", "br", "zstd") and style["ETag"].startswith('W/"')
    assert style["Cache-Control"] == "no-cache" and style["Vary"] == "Accept-Encoding"
    page = seen["/about"].headers
    assert page["ETag"].startswith('"') and page["Cache-Control"] == "private, no-cache"  # session read; revalidated
    assert seen["/static/demo.html"].headers["Content-Type"] == "text/html"  # a file: as nginx sends it
    assert seen["/about"].headers["Content-Type"] == HTML
    assert seen["/api/data"].json()["message"] == "Hello from heron"
    assert "Hello, &lt;b&gt;ada!" in seen["/user/%3Cb%3Eada"].text


def test_demo_serves_only_its_own_static_files(serve: Serve) -> None:
    server = serve(app=None)
    for path in ["/static/missing.css", "/static/__init__.py", "/static/..%2F__init__.py", "/static/"]:
        assert requests.get(server.url(path), timeout=5).status_code == 404, path


def test_demo_api_answers_cors_preflight_and_requires_a_token_for_private(serve: Serve) -> None:
    server = serve(app=None)
    preflight = requests.options(server.url("/api/data"), timeout=5, headers={
        "Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    simple = requests.get(server.url("/api/data"), headers={"Origin": "https://elsewhere.example"}, timeout=5)
    assert simple.headers["Access-Control-Allow-Origin"] == "*"
    refused = requests.get(server.url("/api/private/"), timeout=5)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    allowed = requests.get(server.url("/api/private/"), headers={"Authorization": "Bearer demo-token"}, timeout=5)
    assert allowed.json() == {"secret": "herons stand still to fish"}


def test_demo_admin_needs_basic_auth_and_json_echo_checks_types(serve: Serve) -> None:
    server = serve(app=None)
    assert requests.get(server.url("/admin/"), auth=("admin", "wrong"), timeout=5).status_code == 401
    assert "You sent the right" in requests.get(server.url("/admin/"), auth=("admin", "heron"), timeout=5).text
    assert requests.post(server.url("/api/echo"), json={"a": 1}, timeout=5).json() == {"you_sent": {"a": 1}}
    assert requests.post(server.url("/api/echo"), data="{bad", timeout=5,
                         headers={"Content-Type": "application/json"}).status_code == 400
    assert requests.post(server.url("/api/echo"), data="a=1", timeout=5).status_code == 415


def test_demo_404_is_a_page_from_an_error_handler(serve: Serve) -> None:
    server = serve(app=None)
    response = requests.get(server.url("/no/such/<page>"), timeout=5)
    assert response.status_code == 404
    assert "errorhandler" in response.text
    assert "<page>" not in response.text  # the path is escaped
