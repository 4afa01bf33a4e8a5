"""What the test_hosted_* modules share: the hosted apps as data, starting them under heron, and client helpers.

The apps (tests/integration/apps/hosted/) are Flask, Django, Starlette and
FastAPI code written the way each framework's documentation writes it; they
know nothing of heron. ``APPS`` describes each app as heron serves it
(Django twice: its WSGI handler and its ASGI handler), and says, as data,
where the apps differ in the flows they all implement: a framework's name
in the JSON, its redirect status, whether url_for builds absolute URLs,
Django's CSRF token, its error pages, what /whereami reports, and the
optional flows (``FEATURES``) only some of them have.

Everything here talks to the server over real loopback sockets
(``requests``, ``http.client`` or raw bytes read by h11).
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import pytest
import requests

from .conftest import ServerPool
from .support import REPO, Response, ResponseReader, Server, request

HOSTED = Path(__file__).resolve().parent / "apps" / "hosted"
T = TypeVar("T")


def spec(module: str, attr: str = "app") -> str:
    """``tests/integration/apps/hosted/<module>.py:<attr>``, relative to the repository root (heron's cwd)."""
    return f"{(HOSTED / module).relative_to(REPO)}.py:{attr}"


# -- the apps, and how they differ -------------------------------------------------------


FEATURES = frozenset({
    "consume",        # POST /consume reads the raw body as a stream, however it is framed
    "stream-broken",  # GET /stream-broken raises after its first chunk
    "ticker",         # GET /ticker streams until the client goes away, /tickers says when it stopped
    "jobs",           # POST /jobs starts a background task that runs after the response
    "watch",          # GET /watch polls request.is_disconnected(), /disconnects lists who went away
    "lifespan",       # a lifespan: GET /state shows its startup token; LIFESPAN_SHUTDOWN_FILE gets a line at shutdown
})


@dataclass(frozen=True)
class Page:
    """A response an app makes of its own (an error page, mostly): where, its status, and what its body is."""

    target: str
    status: int
    body: str = ".*"  # a regular expression that the whole body, as text, matches
    method: str = "GET"

    def check(self, server: Server) -> requests.Response:
        """Request the page from ``server``, check it, and return it."""
        r = requests.request(self.method, server.url(self.target), timeout=5)
        assert r.status_code == self.status, (self, r.status_code, r.text)
        assert re.fullmatch(self.body, r.text, re.DOTALL), (self, r.text)
        return r


NOT_FOUND = "/no/such/page"
CRASH = "/crash"


@dataclass(frozen=True)
class HostedApp:
    """One app as heron serves it, and what it does where the apps are not alike."""

    name: str  # the test id
    module: str  # apps/hosted/<module>.py
    framework: str  # what GET /json names; /crash raises "<framework>-secret-detail: ..."
    not_found: Page  # GET /no/such/page
    refused: Page  # an error the app raises as one of its framework's HTTP errors
    not_allowed: Page  # a method the route does not take
    allow: frozenset[str]  # the methods the Allow header of ``not_allowed`` names
    crashed: Page  # GET /crash: an exception the view does not catch
    download: Mapping[str, str]  # headers of GET /download (the app's own source), besides Content-Length
    where: Mapping[str, Any]  # GET /whereami?x=1; "{base}" and "{root}" in strings stand for the server and root path
    attr: str = "app"
    interface: str = "asgi"
    features: frozenset[str] = frozenset()
    redirect_status: int = 302  # of the redirects after a login or a form POST
    absolute_urls: bool = False  # url_for builds absolute URLs (from the Host header), not paths
    csrf: bool = False  # an unsafe request needs the CSRF token that the form page holds
    session_cookie: str = "session="  # how the Set-Cookie that logs a user in starts
    counts_visits: bool = True  # /whoami counts the visits of the logged-in user
    upload_memory_limit: int | None = None  # bigger uploads go to a temporary file, and /upload says whether it did
    stream: str = "/stream"  # the streaming view
    bad_item_status: int = 404  # GET /items/forty-two: the int converter refuses

    def __post_init__(self) -> None:
        assert self.features <= FEATURES, self.features - FEATURES

    @property
    def spec(self) -> str:
        return spec(self.module, self.attr)

    @property
    def source(self) -> bytes:
        """The app's module: what GET /download sends."""
        return (HOSTED / f"{self.module}.py").read_bytes()

    def link(self, server: Server, path: str, root: str = "") -> str:
        """A URL as the app's url_for writes it."""
        return server.url(root + path) if self.absolute_urls else root + path

    def whoami(self, visits: int) -> dict[str, Any]:
        """GET /whoami after logging in as ada, oatmeal flavour, for the ``visits``-th time."""
        return {"user": "ada", "flavour": "oatmeal"} | ({"visits": visits} if self.counts_visits else {})

    def upload_report(self, size: int) -> dict[str, Any]:
        """What /upload says besides the file's name, type, size and hash and the note."""
        return {} if self.upload_memory_limit is None else {"on_disk": size > self.upload_memory_limit}

    def whereami(self, server: Server, root: str = "") -> dict[str, Any]:
        """What GET /whereami?x=1 answers, served with ``--root-path root``."""
        return {key: value.format(base=server.url(""), root=root) if isinstance(value, str) else value
                for key, value in self.where.items()}


FLASK = HostedApp(
    name="flask", module="flask_app", framework="flask", interface="wsgi",
    features=frozenset({"consume", "stream-broken", "ticker"}),
    not_found=Page(NOT_FOUND, 404, ".*Not Found.*"),
    refused=Page("/teapot", 418, ".*This server is a teapot, not a coffee machine.*"),
    not_allowed=Page("/json", 405, ".*Method Not Allowed.*", "DELETE"),
    allow=frozenset({"GET", "HEAD", "OPTIONS", "POST"}),
    crashed=Page(CRASH, 500, ".*Internal Server Error.*"),
    download={"Content-Disposition": "attachment; filename=flask_app.py",
              "Content-Type": "text/x-python; charset=utf-8"},
    where={"url": "{base}{root}/whereami?x=1", "host_url": "{base}/", "scheme": "http", "path": "/whereami",
           "script_root": "{root}", "remote_addr": "127.0.0.1", "whoami": "{root}/whoami",
           "external": "{base}{root}/whoami"},
)
DJANGO_WSGI = HostedApp(
    name="django-wsgi", module="django_app", attr="application", framework="django", interface="wsgi",
    csrf=True, session_cookie="sessionid=", upload_memory_limit=1024 * 1024,  # FILE_UPLOAD_MAX_MEMORY_SIZE
    not_found=Page(NOT_FOUND, 404, ".*Not Found.*"),
    refused=Page("/forbidden", 403, ".*403 Forbidden.*"),  # PermissionDenied
    not_allowed=Page("/json", 405, "", "DELETE"),  # csrf_exempt: the view itself refuses
    allow=frozenset({"GET", "HEAD", "POST"}),
    crashed=Page(CRASH, 500, ".*Server Error \\(500\\).*"),
    download={"Content-Disposition": 'attachment; filename="django_app.py"', "Content-Type": "text/x-python"},
    where={"url": "{base}{root}/whereami?x=1", "path": "{root}/whereami", "path_info": "/whereami",
           "script_name": "{root}", "remote_addr": "127.0.0.1", "secure": False, "whoami": "{root}/whoami"},
)
DJANGO_ASGI = dataclasses.replace(
    DJANGO_WSGI, name="django-asgi", attr="asgi_application", interface="asgi",
    stream="/astream",  # Django streams an async generator over ASGI, a sync one over WSGI
)
STARLETTE = HostedApp(
    name="starlette", module="starlette_app", framework="starlette",
    features=frozenset({"consume", "stream-broken", "ticker", "jobs", "watch", "lifespan"}),
    redirect_status=303, absolute_urls=True,
    not_found=Page(NOT_FOUND, 404, "Not Found"),
    refused=Page("/teapot", 418, "I'm a teapot, not a coffee machine"),
    not_allowed=Page("/form", 405, "Method Not Allowed", "DELETE"),
    allow=frozenset({"GET", "HEAD", "POST"}),
    crashed=Page(CRASH, 500, "Internal Server Error"),  # Starlette's ServerErrorMiddleware, which then re-raises
    download={"Content-Disposition": 'attachment; filename="starlette_app.py"',
              "Content-Type": "text/x-python; charset=utf-8"},
    where={"url": "{base}{root}/whereami?x=1", "path": "{root}/whereami", "root_path": "{root}",
           "client": "127.0.0.1", "whoami": "{base}{root}/whoami"},
)
FASTAPI = dataclasses.replace(
    STARLETTE, name="fastapi", module="fastapi_app", framework="fastapi",
    features=frozenset({"consume", "jobs", "watch", "lifespan"}),
    session_cookie="user=ada;", counts_visits=False,  # Cookie() parameters, no session middleware
    bad_item_status=422,  # pydantic says why (test_hosted_fastapi.py)
    not_found=Page(NOT_FOUND, 404, re.escape('{"detail":"Not Found"}')),
    refused=Page("/buy/durian", 404, re.escape('{"detail":"we never sell durian"}')),
    not_allowed=Page("/json", 405, re.escape('{"detail":"Method Not Allowed"}'), "DELETE"),
    allow=frozenset({"GET", "HEAD"}),  # the first of the routes for /json says what it takes
    download={"Content-Disposition": 'attachment; filename="fastapi_app.py"',
              "Content-Type": "text/x-python; charset=utf-8"},
)
APPS = (FLASK, DJANGO_WSGI, DJANGO_ASGI, STARLETTE, FASTAPI)


def each_app(*features: str) -> pytest.MarkDecorator:
    """Parametrize a test over ``app``: every hosted app that has all of ``features``."""
    assert set(features) <= FEATURES, features
    apps = [app for app in APPS if app.features >= set(features)]
    return pytest.mark.parametrize("app", apps, ids=[app.name for app in apps])


# -- servers ---------------------------------------------------------------------------


@contextmanager
def hosted_server(directory: Path, app: str, *flags: str) -> Iterator[Server]:
    """``python -m heron <app> --port 0 <flags>``, stopped (SIGTERM) when the block ends."""
    pool = ServerPool(directory)
    try:
        yield pool.start(*flags, app=app)
    finally:
        pool.stop_all()


def module_server(*apps: HostedApp, forced_interface: bool = False) -> Any:
    """A module-scoped ``server`` fixture: heron serving each of ``apps`` in turn (``--interface`` named if forced)."""

    @pytest.fixture(scope="module", params=apps, ids=[app.name for app in apps])
    def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
        app: HostedApp = request.param
        flags = ("--interface", app.interface) if forced_interface else ()
        with hosted_server(tmp_path_factory.mktemp(app.name), app.spec, *flags) as running:
            yield running

    return server


@contextmanager
def logs(server: Server, pattern: str) -> Iterator[None]:
    """The block makes the server write ``pattern`` (a regex) to its stderr once more than it had before."""
    before = len(re.findall(pattern, server.stderr(), re.MULTILINE))
    yield
    server.wait_for_stderr(pattern, count=before + 1)


# -- payloads --------------------------------------------------------------------


def payload(size: int, seed: int = 4) -> bytes:
    """``size`` pseudo-random bytes (every byte value, no structure a server could mistake for framing)."""
    return random.Random(seed).randbytes(size)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def form_secrets(app: HostedApp, page: str) -> dict[str, str]:
    """The hidden fields a form page asks to be posted back: Django's CSRF token, for the apps that check one."""
    match = CSRF_FIELD.search(page)
    assert bool(match) == app.csrf, page
    return {"csrfmiddlewaretoken": match.group(1)} if match else {}


# -- streaming -----------------------------------------------------------------------


@dataclass
class TimedBody:
    """A response whose body pieces were timestamped as they arrived."""

    status: int
    headers: http.client.HTTPMessage
    pieces: list[tuple[float, bytes]]  # (seconds since the request was sent, bytes)

    @property
    def body(self) -> bytes:
        return b"".join(piece for _, piece in self.pieces)

    def arrival_of(self, marker: bytes) -> float:
        """When the piece that completed ``marker`` (a prefix of the body so far) arrived."""
        seen = b""
        for at, piece in self.pieces:
            seen += piece
            if marker in seen:
                return at
        raise AssertionError(f"{marker!r} never arrived in {seen!r}")


def timed_get(server: Server, target: str, read_timeout: float) -> TimedBody:
    """GET ``target`` and timestamp each piece of the body as it is read.

    Each socket read may wait at most ``read_timeout`` seconds: a server that
    holds back a streamed body until the app has produced all of it makes
    the first read time out.
    """
    conn = http.client.HTTPConnection(server.host, server.port, timeout=read_timeout)
    try:
        started = time.monotonic()
        conn.request("GET", target)
        response = conn.getresponse()
        pieces = []
        while piece := response.read1(65536):
            pieces.append((time.monotonic() - started, piece))
        return TimedBody(response.status, response.headers, pieces)
    finally:
        conn.close()


def hang_up_after(server: Server, target: str, marker: bytes, timeout: float = 5.0) -> bytes:
    """GET ``target``, read until ``marker`` has arrived, then close the connection; what was read."""
    with server.connect(timeout=timeout) as sock:
        sock.sendall(http_request(server, "GET", target))
        received = b""
        deadline = time.monotonic() + timeout
        while marker not in received:
            assert time.monotonic() < deadline, f"{marker!r} not received: {received!r}"
            chunk = sock.recv(65536)
            assert chunk, f"connection closed before {marker!r}: {received!r}"
            received += chunk
        return received


def wait_for(check: Callable[[], T], timeout: float = 5.0) -> T:
    """Poll ``check()`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
    return result


# -- request bodies of a chosen framing ------------------------------------------------------


def post_chunked(server: Server, target: str, chunks: Iterable[bytes],
                 content_type: str = "application/octet-stream") -> tuple[int, bytes]:
    """POST with ``Transfer-Encoding: chunked`` (no Content-Length), one chunk per item; (status, body)."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request("POST", target, body=iter(chunks), headers={"Content-Type": content_type},
                     encode_chunked=True)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# -- several requests on one connection ------------------------------------------------------


class Connection:
    """One client connection: a request at a time, each response read (by h11) before the next; cookies kept.

    A server that closed the connection early makes ``send`` raise EOFError,
    one that framed a body wrongly makes h11 fail to read the next response.
    """

    def __init__(self, server: Server, timeout: float = 10.0) -> None:
        self.server = server
        self.sock = server.connect(timeout=timeout)
        self.reader = ResponseReader(self.sock, timeout=timeout)
        self.cookies: dict[str, str] = {}

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.sock.close()

    def send(self, method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b"") -> Response:
        """Send one request (with the cookies the server has set so far) and read its response."""
        fields = dict(headers or {})
        if self.cookies:
            fields["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        self.sock.sendall(http_request(self.server, method, target, fields, body))
        response = self.reader.read(method)
        for name, value in response.headers:
            if name == "set-cookie":
                cookie, _, cookie_value = value.partition(";")[0].partition("=")
                self.cookies[cookie.strip()] = cookie_value
        return response


def http_request(server: Server, method: str, target: str, headers: dict[str, str] | None = None,
                 body: bytes = b"") -> bytes:
    """The bytes of one request for ``server`` (right Host, Content-Length when there is a body)."""
    fields = [("Host", f"{server.host}:{server.port}")]
    if body or method in ("POST", "PUT", "PATCH"):
        fields.append(("Content-Length", str(len(body))))
    fields += list((headers or {}).items())
    return request(method, target, fields, body, host=None)

