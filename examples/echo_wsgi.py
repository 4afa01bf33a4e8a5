"""examples/echo.py written as a plain WSGI app (PEP 3333): no framework, no heron import.

Run it with ``python3 -m heron examples/echo_wsgi.py:app --port 8000``, or
under any other WSGI server. It answers every endpoint of examples/echo.py
with the same statuses, headers and bodies (the router's rules included:
404, 405 with ``Allow``, automatic ``OPTIONS``, and the 308 that drops a
trailing slash), so the same conformance probes can run through heron's
WSGI adapter; examples/echo_asgi.py does the same for ASGI.

One thing WSGI cannot express: the request headers *as received*. The
environ holds them as ``HTTP_*`` keys (upper case, ``-`` turned into
``_``, repeats joined with ", ", names that contained ``_`` dropped by the
server), plus ``CONTENT_TYPE`` and ``CONTENT_LENGTH`` without the prefix.
``/echo`` rebuilds them from those keys, in the environ's order, with
Title-Case names: ``x-request-ID: 1`` comes back as ``["X-Request-Id",
"1"]``. Names, values and the set of headers match what heron's echo
reports; the case of names, the order and repeated fields do not.

PATH_INFO is also already percent-decoded, so ``/echo%2F`` looks like
``/echo/`` here and is redirected to ``/echo``, where heron's router,
seeing the raw path, answers 404.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, quote

Environ = dict[str, Any]
StartResponse = Callable[..., Any]

TEXT = "text/plain; charset=utf-8"
GET_ONLY = ("GET", "HEAD", "OPTIONS")  # the Allow header of a GET route (HEAD and OPTIONS come free)
MAX_STREAM_CHUNKS = 100_000
MAX_STATUS_DIGITS = 18  # as heron's {code:int} converter


class Reply(Exception):
    """A canned answer (an error, a redirect) raised from anywhere in the app."""

    def __init__(self, status: int, body: bytes = b"", headers: Iterable[tuple[str, str]] = ()) -> None:
        self.status, self.body, self.headers = status, body, list(headers)


def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    method, path = environ["REQUEST_METHOD"], decoded_path(environ)
    try:
        if method == "OPTIONS" and path in ("", "*"):  # OPTIONS * asks about the server as a whole
            raise Reply(204, headers=[("Allow", ", ".join(GET_ONLY))])
        handler, arg = route(method, path, environ)
        return handler(environ, start_response, *arg)
    except Reply as reply:
        headers = [*reply.headers, ("Content-Type", TEXT)] if reply.body else reply.headers
        return respond(start_response, reply.status, reply.body, headers)


def decoded_path(environ: Environ) -> str:
    """The percent-decoded path as text: PATH_INFO holds its bytes as latin-1 (PEP 3333); they are UTF-8."""
    path_info: str = environ.get("PATH_INFO", "")
    return path_info.encode("latin-1").decode("utf-8", errors="replace")


def route(method: str, path: str, environ: Environ) -> tuple[Callable[..., Iterable[bytes]], tuple[Any, ...]]:
    """The handler for ``path`` and its argument; raises the 404, 405 or 308 that heron's router would."""
    found = match(method, path)
    if found is not None:
        return found
    if path.endswith("/") and len(path) > 1 and match(method, path[:-1]):
        query = environ.get("QUERY_STRING", "")
        location = quote(path[:-1].encode("utf-8"), safe="/:@!$&'()*+,;=~") + ("?" + query if query else "")
        raise Reply(308, headers=[("Location", location)])
    if path in GET_ROUTES:
        if method == "OPTIONS":
            raise Reply(204, headers=[("Allow", ", ".join(GET_ONLY))])
        raise Reply(405, b"Method Not Allowed\n", [("Allow", ", ".join(GET_ONLY))])
    raise Reply(404, b"Not Found\n")


def match(method: str, path: str) -> tuple[Callable[..., Iterable[bytes]], tuple[Any, ...]] | None:
    if path == "/echo":
        return echo, ()
    code = path.removeprefix("/status/")
    if code != path and code.isascii() and code.isdigit() and len(code) <= MAX_STATUS_DIGITS:
        return status, (int(code),)
    if path in GET_ROUTES and method in ("GET", "HEAD"):
        return GET_ROUTES[path], ()
    return None


def respond(start_response: StartResponse, code: int, body: bytes, headers: list[tuple[str, str]]) -> list[bytes]:
    start_response(status_line(code), headers)
    return [body]


def status_line(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Unknown"


def first(environ: Environ, name: str, default: str) -> str:
    """The first value of query parameter ``name`` (``+`` is a space, UTF-8 escapes decoded)."""
    query: str = environ.get("QUERY_STRING", "")
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == name:
            return value
    return default


# -- the endpoints ---------------------------------------------------------------------


def echo(environ: Environ, start_response: StartResponse) -> list[bytes]:
    digest, length = hashlib.sha256(), 0
    for piece in body_pieces(environ):
        digest.update(piece)
        length += len(piece)
    body = json.dumps({
        "method": environ["REQUEST_METHOD"],
        "path": decoded_path(environ),
        "query": environ.get("QUERY_STRING", ""),
        "headers": received_headers(environ),
        "body_len": length,
        "body_sha256": digest.hexdigest(),
    }, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return respond(start_response, 200, body, [("Content-Type", "application/json")])


def body_pieces(environ: Environ, size: int = 65536) -> Iterator[bytes]:
    """The request body a piece at a time: to EOF if the server ends the stream there
    (``wsgi.input_terminated``, needed for a chunked body), else ``CONTENT_LENGTH`` bytes."""
    stream = environ["wsgi.input"]
    left = -1 if environ.get("wsgi.input_terminated") else int(environ.get("CONTENT_LENGTH") or 0)
    while left != 0:
        piece = stream.read(size if left < 0 else min(left, size))
        if not piece:
            return
        yield piece
        left = left - len(piece) if left > 0 else left


def received_headers(environ: Environ) -> list[list[str]]:
    """The request headers, rebuilt from the environ as well as WSGI allows (see the module docstring)."""
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            name = key
        else:
            continue
        headers.append([name.replace("_", "-").title(), value])
    return headers


def plaintext(environ: Environ, start_response: StartResponse) -> list[bytes]:
    return respond(start_response, 200, b"Hello, World!", [("Content-Type", "text/plain")])


def status(environ: Environ, start_response: StartResponse, code: int) -> list[bytes]:
    if not 100 <= code <= 599:
        raise Reply(400, b"status must be 100-599\n")
    if code < 200 or code in (204, 304):
        return respond(start_response, code, b"", [])
    return respond(start_response, code, f"{code}\n".encode(), [("Content-Type", TEXT)])


def header(environ: Environ, start_response: StartResponse) -> list[bytes]:
    name, value = first(environ, "name", ""), first(environ, "value", "")
    return respond(start_response, 200, b"ok\n", [("Content-Type", "text/plain"), (name, value)])  # unchecked


def stream(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
    try:
        n = int(first(environ, "n", "3"))
    except ValueError:
        raise Reply(400, b"n must be an integer\n") from None
    if not 0 <= n <= MAX_STREAM_CHUNKS:
        raise Reply(400, f"n must be 0-{MAX_STREAM_CHUNKS}\n".encode())
    start_response("200 OK", [("Content-Type", TEXT)])  # no Content-Length: the server chunks it
    return (b"chunk%d\n" % i for i in range(n))


def fail(environ: Environ, start_response: StartResponse) -> list[bytes]:
    raise RuntimeError("deliberate failure from /raise")


GET_ROUTES: dict[str, Callable[..., Iterable[bytes]]] = {
    "/plaintext": plaintext, "/header": header, "/stream": stream, "/raise": fail,
}
