"""What only Django does here: CSRF refusals, ALLOWED_HOSTS, a view's own 400, ``--interface`` named, no WebSocket.

The flows every hosted app shares (JSON, forms with the CSRF token, uploads
that spill to disk, signed-cookie sessions, StreamingHttpResponse,
FileResponse, error pages, keep-alive, root path, ...) are checked on the
Django project too, over WSGI and over ASGI, in test_hosted_apps.py. Here
each handler is served with ``--interface wsgi``/``asgi`` named rather
than detected.
"""

from __future__ import annotations

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from .hosted_support import CSRF_FIELD, DJANGO_ASGI, DJANGO_WSGI, HostedApp, module_server
from .support import ResponseReader, Server

server = module_server(DJANGO_WSGI, DJANGO_ASGI, forced_interface=True)


def test_the_interface_can_be_named(server: Server) -> None:
    r = requests.get(server.url("/items/5"), params={"q": "forced"}, timeout=5)
    assert r.json() == {"item_id": 5, "q": "forced", "tags": []}


def test_a_body_that_is_not_json_is_refused_by_the_view(server: Server) -> None:
    bad = requests.post(server.url("/json"), data=b"{not json", timeout=5)
    assert bad.status_code == 400 and bad.text == "not JSON"


def test_unsafe_requests_need_the_csrf_token(server: Server) -> None:
    """test_hosted_apps.py posts the token as a form field; a script may send it in a header instead."""
    r = requests.post(server.url("/upload"), files={"file": ("a.txt", b"hello")}, timeout=5)
    assert r.status_code == 403  # neither cookie nor token

    with requests.Session() as browser:
        page = browser.get(server.url("/form"), timeout=5)
        assert page.status_code == 200 and "csrftoken" in browser.cookies
        fields = {"author": "Zoë", "text": "a+b = c & d; 100% 鷺"}
        refused = browser.post(server.url("/form"), data=fields, allow_redirects=False, timeout=5)
        assert refused.status_code == 403  # the cookie, no token: Django's CSRF middleware says no

        token = CSRF_FIELD.search(page.text)
        assert token, page.text
        r = browser.post(server.url("/upload"), files={"file": ("a.txt", b"hello")},
                         headers={"X-CSRFToken": token.group(1)}, timeout=5)
        assert r.status_code == 200 and r.json()["size"] == 5


def test_a_host_not_in_allowed_hosts_is_refused_by_django(server: Server) -> None:
    with server.connect(timeout=5) as sock:
        sock.sendall(b"GET /json HTTP/1.1\r\nHost: evil.example\r\n\r\n")
        response = ResponseReader(sock, timeout=5).read()
    assert response.status == 400
    assert b"hello" not in response.body


def test_a_websocket_handshake_gets_an_http_answer(server: Server, request: pytest.FixtureRequest) -> None:
    """Django without Channels speaks only HTTP. Over WSGI the handshake is answered as the plain GET it
    also is; over ASGI, Django's handler raises on a ``websocket`` scope, so the handshake gets a 500."""
    app: HostedApp = request.node.callspec.params["server"]
    with pytest.raises(InvalidStatus) as info:
        connect(f"ws://{server.host}:{server.port}/json", open_timeout=5)
    assert info.value.response.status_code == (200 if app.interface == "wsgi" else 500)
    assert requests.get(server.url("/json"), timeout=5).status_code == 200  # and it serves on
