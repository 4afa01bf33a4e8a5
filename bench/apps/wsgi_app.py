"""Raw WSGI app (no framework) for waitress. Same endpoints and bodies as asgi_app.py.

Copied unchanged in behaviour from the team's shared bench harness
(../shared/bench/apps/wsgi_app.py).
"""
from common import PLAINTEXT, json_body, user_body, static_path, read_file

TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
BIN = "application/octet-stream"


def _resp(start_response, status, ctype, body):
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]


def app(environ, start_response):
    method = environ["REQUEST_METHOD"]
    path = environ.get("PATH_INFO", "")
    if method == "GET":
        if path == "/plaintext":
            return _resp(start_response, "200 OK", TEXT, PLAINTEXT)
        if path == "/json":
            return _resp(start_response, "200 OK", JSON, json_body())
        if path.startswith("/user/"):
            name = path[6:]
            if name and "/" not in name:
                return _resp(start_response, "200 OK", TEXT, user_body(name))
        elif path.startswith("/static/"):
            p = static_path(path[8:])
            if p is not None:
                return _resp(start_response, "200 OK", BIN, read_file(p))
    elif method == "POST" and path == "/echo":
        n = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(n) if n > 0 else b""
        return _resp(start_response, "200 OK", BIN, body)
    return _resp(start_response, "404 Not Found", TEXT, b"Not Found")


application = app
