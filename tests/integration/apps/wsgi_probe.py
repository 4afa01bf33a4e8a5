"""A plain WSGI app (PEP 3333, no framework, no heron import) that reports what the server gave it.

tests/integration/test_wsgi.py runs it under ``python -m heron``. Every path
except those under ``/raw/`` runs inside ``wsgiref.validate.validator``,
which raises ``AssertionError`` inside the app the moment the *server*
breaks the spec (a wrong environ, a bad ``wsgi.input``, ``close()`` never
called on the iterable, ...). A 200 with the expected body from such a path
therefore proves the server conformed. ``/raw/`` paths misbehave on
purpose (or use what the validator forbids, like ``read()`` without a
size) and bypass it.

What the server did to the app's objects (``close()`` calls, pieces
produced) is recorded in ``EVENTS`` under a ``tag`` the test chooses, and
read back with ``GET /events?tag=...``.

Environment: ``WSGI_PROBE_DIR`` is a directory whose files ``/raw/file``
serves through ``wsgi.file_wrapper``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import threading
import time
from typing import Any
from urllib.parse import parse_qs
from wsgiref.validate import validator

EVENTS: dict[str, list[str]] = {}
_LOCK = threading.Lock()

TEXT = [("Content-Type", "text/plain; charset=utf-8")]
JSON = [("Content-Type", "application/json")]


def record(tag: str, event: str) -> None:
    if tag:
        with _LOCK:
            EVENTS.setdefault(tag, []).append(event)


def query(environ: dict[str, Any]) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}


def as_json(start_response: Any, data: Any, status: str = "200 OK") -> list[bytes]:
    body = json.dumps(data).encode()
    start_response(status, [*JSON, ("Content-Length", str(len(body)))])
    return [body]


class Recorded:
    """An iterable body that records each piece it produces and its ``close()``."""

    def __init__(self, tag: str, pieces: int, size: int = 0, sleep: float = 0.0, text: bytes = b"") -> None:
        self.tag = tag
        self.pieces = pieces
        self.size = size
        self.sleep = sleep
        self.text = text

    def __iter__(self) -> Any:
        for i in range(self.pieces):
            if i and self.sleep:
                time.sleep(self.sleep)
            record(self.tag, f"piece {i}")
            yield self.text or (b"%d" % i).ljust(self.size or 1, b".")

    def close(self) -> None:
        record(self.tag, "close")


# -- conformant endpoints (run inside the validator) -------------------------------------------


def environ_report(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    report: dict[str, Any] = {k: v for k, v in environ.items() if isinstance(v, str)}
    for key in ("wsgi.version", "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once", "wsgi.input_terminated"):
        report[key] = environ.get(key)
    report["input_type"] = type(environ["wsgi.input"]).__name__  # InputWrapper: the validator is watching
    report["missing"] = [k for k in ("CONTENT_TYPE", "CONTENT_LENGTH") if k not in environ]
    return as_json(start_response, report)


def read_body(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Read wsgi.input the way ``mode`` says; report the pieces and what a read after the end gives."""
    q = query(environ)
    mode = q.get("mode", "read-n")
    n = int(q.get("n", "7"))
    if "delay" in q:
        time.sleep(float(q["delay"]))
    stream = environ["wsgi.input"]
    pieces: list[bytes] = []
    if mode == "read-n":
        while piece := stream.read(n):
            pieces.append(piece)
    elif mode == "readline":
        while line := stream.readline():
            pieces.append(line)
    elif mode == "readline-limit":
        while line := stream.readline(n):
            pieces.append(line)
    elif mode == "iter":
        pieces = list(stream)
    elif mode == "readlines":
        pieces = stream.readlines()
    elif mode == "read-all":  # read() without a size: allowed by servers, forbidden by the validator (/raw/ only)
        pieces = [stream.read()]
    after = stream.read(1)
    body = b"".join(pieces)
    if "summary" in q:
        return as_json(start_response, {"count": len(pieces), "length": len(body),
                                        "sha256": hashlib.sha256(body).hexdigest(), "after": after.decode("latin-1")})
    return as_json(start_response, {
        "pieces": [p.decode("latin-1") for p in pieces],
        "body": body.decode("latin-1"),
        "after": after.decode("latin-1"),
    })


def catch_body_error(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Read the body, swallow whatever reading raises, answer 200 anyway: the server must still say 413."""
    q = query(environ)
    total = 0
    caught = ""
    try:
        while piece := environ["wsgi.input"].read(65536):
            total += len(piece)
    except Exception as exc:  # noqa: BLE001 - the point of the endpoint
        caught = type(exc).__name__
    record(q.get("tag", ""), f"caught {caught} after {total}")
    start_response("200 OK", TEXT)
    return [b"caught it, all is fine"]


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [*TEXT, ("Content-Length", "6")])
    return [b"hello\n"]


def stream(environ: dict[str, Any], start_response: Any) -> Recorded:
    q = query(environ)
    headers = list(TEXT)
    if "length" in q:
        headers.append(("Content-Length", q["length"]))
    start_response("200 OK", headers)
    return Recorded(q.get("tag", ""), int(q.get("n", "3")), int(q.get("size", "0")), float(q.get("sleep", "0")),
                    q.get("text", "").encode())


def too_long(environ: dict[str, Any], start_response: Any) -> Any:
    """Declares Content-Length: 5 and produces more: only 5 bytes may go out."""
    start_response("200 OK", [*TEXT, ("Content-Length", "5")])
    if query(environ).get("kind") == "list":
        return [b"hello", b" and much more"]
    return Recorded(query(environ).get("tag", ""), 3, text=b"hello world")


def write_then_iterable(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The legacy write() callable: its data goes out first (and at once), then the iterable's."""
    q = query(environ)
    write = start_response("200 OK", TEXT)
    write(b"written-1;")
    write(b"written-2;")
    time.sleep(float(q.get("sleep", "0")))
    return [b"returned-1;", b"returned-2"]


def exc_info_before_body(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """start_response, then an error, then start_response again with exc_info: the second status wins."""
    start_response("200 OK", [*TEXT, ("X-First", "yes")])
    try:
        raise ValueError("something went wrong")
    except ValueError:
        start_response("503 Service Unavailable", [*TEXT, ("X-Second", "yes")], sys.exc_info())
    return [b"second status wins"]


def errors_stream(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    errors = environ["wsgi.errors"]
    errors.write("wsgi_probe: a line for wsgi.errors\n")
    errors.writelines(["wsgi_probe: more ", "lines\n"])
    errors.flush()
    start_response("200 OK", TEXT)
    return [b"logged"]


def block(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    seconds = float(query(environ).get("s", "1"))
    print("wsgi_probe: block started", file=sys.stderr, flush=True)
    time.sleep(seconds)
    start_response("200 OK", TEXT)
    return [b"unblocked"]


def events(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    with _LOCK:
        found = list(EVENTS.get(query(environ).get("tag", ""), []))
    return as_json(start_response, found)


CONFORMANT = {
    "/read": read_body,
    "/catch-body-error": catch_body_error,
    "/hello": hello,
    "/stream": stream,
    "/too-long": too_long,
    "/write": write_then_iterable,
    "/exc-info-before-body": exc_info_before_body,
    "/errors": errors_stream,
    "/block": block,
    "/events": events,
}


def conformant(environ: dict[str, Any], start_response: Any) -> Any:
    path = environ["PATH_INFO"]
    if "/environ" in path:  # anywhere: a test of SCRIPT_NAME must see a wrong PATH_INFO, not a 404
        return environ_report(environ, start_response)
    handler = CONFORMANT.get(path)
    if handler is None:
        start_response("404 Not Found", TEXT)
        return [b"no such probe\n"]
    return handler(environ, start_response)


validated = validator(conformant)


# -- endpoints that break the rules on purpose (no validator) --------------------------------------


class RecordingFile(io.BufferedReader):
    """A real file (sendfile-able) that records its ``close()``."""

    tag = ""

    def close(self) -> None:
        if not self.closed:
            record(self.tag, "file closed")
        super().close()


def raw_file(environ: dict[str, Any], start_response: Any) -> Any:
    q = query(environ)
    path = os.path.join(os.environ["WSGI_PROBE_DIR"], q.get("name", "data.bin"))
    file = RecordingFile(io.FileIO(path, "rb"))
    file.tag = q.get("tag", "")
    file.seek(int(q.get("offset", "0")))
    headers = [("Content-Type", "application/octet-stream")]
    if "length" in q:
        headers.append(("Content-Length", q["length"]))
    start_response("200 OK", headers)
    return environ["wsgi.file_wrapper"](file, 8192)


class RecordingBytesIO(io.BytesIO):
    tag = ""

    def close(self) -> None:
        if not self.closed:
            record(self.tag, "bytesio closed")
        super().close()


def raw_bytesio(environ: dict[str, Any], start_response: Any) -> Any:
    q = query(environ)
    data = bytes(range(256)) * int(q.get("repeat", "1000"))
    buffer = RecordingBytesIO(data)
    buffer.tag = q.get("tag", "")
    headers = [("Content-Type", "application/octet-stream")]
    if "length" in q:
        headers.append(("Content-Length", q["length"]))
    start_response("200 OK", headers)
    return environ["wsgi.file_wrapper"](buffer, 4096)


def raw_twice(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", TEXT)
    start_response("201 Created", TEXT)  # no exc_info: an error (PEP 3333)
    return [b"should never be seen"]


def raw_not_bytes(environ: dict[str, Any], start_response: Any) -> Any:
    start_response("200 OK", TEXT)
    if query(environ).get("kind") == "gen":
        return iter([b"fine, ", "not bytes"])
    return ["a str, not bytes"]


def raw_raise(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    raise RuntimeError("wsgi_probe secret detail 1234")


def raw_no_start(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    return [b"never called start_response"]


def raw_exc_info_after_body(environ: dict[str, Any], start_response: Any) -> Any:
    """The body has started; start_response(..., exc_info) must re-raise and the response be cut."""
    tag = query(environ).get("tag", "")
    start_response("200 OK", TEXT)

    def body() -> Any:
        try:
            yield b"first part;"
            time.sleep(0.2)
            try:
                raise KeyError("late failure")
            except KeyError:
                try:
                    start_response("500 Internal Server Error", TEXT, sys.exc_info())
                except KeyError:
                    record(tag, "re-raised")
                    raise
                record(tag, "not re-raised")
            yield b"never sent"
        finally:
            record(tag, "close")

    return body()


RAW = {
    "/raw/file": raw_file,
    "/raw/bytesio": raw_bytesio,
    "/raw/twice": raw_twice,
    "/raw/not-bytes": raw_not_bytes,
    "/raw/raise": raw_raise,
    "/raw/no-start": raw_no_start,
    "/raw/exc-info-after-body": raw_exc_info_after_body,
}


def app(environ: dict[str, Any], start_response: Any) -> Any:
    path = environ["PATH_INFO"]
    if path == "/raw/read":
        return read_body(environ, start_response)
    if path.startswith("/raw/environ"):
        return environ_report(environ, start_response)
    handler = RAW.get(path)
    if handler is not None:
        return handler(environ, start_response)
    return validated(environ, start_response)
