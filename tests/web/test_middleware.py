"""Middleware: order, short-circuits, and the built-ins (logging, CORS, auth, trusted hosts)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import pytest

from heron import App, Request, Response
from heron.testing import TestClient
from heron.messages.contracts import Handler
from heron.web.middleware import basic_auth, bearer_auth, cors, request_logging, trusted_hosts


def make_app(*middleware: object) -> App:
    app = App()
    for m in middleware:
        app.add_middleware(m)  # type: ignore[arg-type]

    @app.route("/data", methods=["GET", "POST", "PUT"])
    async def data(request: Request) -> str:
        return "data"

    return app


@pytest.fixture
def order() -> Iterator[list[str]]:
    yield []


def recorder(name: str, order: list[str]):  # type: ignore[no-untyped-def]
    def middleware(next_handler: Handler) -> Handler:
        async def handler(request: Request) -> Response:
            order.append(f"{name} in")
            response = await next_handler(request)
            order.append(f"{name} out")
            return response

        return handler

    return middleware


def test_first_added_middleware_runs_outermost(order: list[str]) -> None:
    app = make_app(recorder("a", order), recorder("b", order))

    @app.before_request
    def before(request: Request) -> None:
        order.append("before")

    @app.after_request
    def after(request: Request, response: Response) -> Response:
        order.append("after")
        return response

    with TestClient(app) as client:
        assert client.get("/data").text == "data"
    assert order == ["a in", "b in", "before", "after", "b out", "a out"]


def test_before_request_can_short_circuit_and_after_hooks_still_run(order: list[str]) -> None:
    app = make_app()

    @app.before_request
    async def deny(request: Request) -> Response | None:
        return Response("stopped", 403) if request.method == "PUT" else None

    @app.after_request
    def tag(request: Request, response: Response) -> Response:
        response.headers.append(("X-After", "1"))
        return response

    with TestClient(app) as client:
        stopped = client.put("/data")
        assert (stopped.status, stopped.text, stopped.headers.get("x-after")) == (403, "stopped", "1")
        assert client.get("/data").text == "data"


def test_errors_inside_middleware_become_their_status() -> None:
    with TestClient(make_app(bearer_auth(["t0ken"]))) as client:
        response = client.get("/data")
    assert response.status == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="heron"'


def test_not_found_responses_pass_through_middleware() -> None:
    with TestClient(make_app(cors(["https://a.example"]))) as client:
        response = client.get("/missing", headers={"Origin": "https://a.example"})
    assert response.status == 404
    assert response.headers["access-control-allow-origin"] == "https://a.example"


def test_request_logging_adds_an_id_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="heron.request"), TestClient(make_app(request_logging())) as client:
        first = client.get("/data").headers["x-request-id"]
        second = client.get("/data", headers={"X-Request-ID": "forged"}).headers["x-request-id"]
    assert first != second and second != "forged"
    lines = [r.getMessage() for r in caplog.records if r.name == "heron.request"]
    assert len(lines) == 2 and lines[0].startswith(first + " GET /data 200 ")


def test_request_logging_writes_the_path_as_sent_so_it_cannot_start_a_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="heron.request"), TestClient(make_app(request_logging())) as client:
        assert client.get("/data%0A1-1%20GET%20/forged").status == 404
    [line] = [r.getMessage() for r in caplog.records if r.name == "heron.request"]
    assert "\n" not in line and " GET /data%0A1-1%20GET%20/forged 404 " in line


def test_request_logging_can_trust_a_proxy_id() -> None:
    with TestClient(make_app(request_logging(trust_incoming=True))) as client:
        assert client.get("/data", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
        assert client.get("/data", headers={"X-Request-ID": "bad id\x7f"}).headers["x-request-id"] != "bad id\x7f"


# -- CORS -------------------------------------------------------------------------


def test_cors_simple_request_from_an_allowed_origin() -> None:
    app = make_app(cors(["https://a.example"], expose_headers=["X-Total"]))
    with TestClient(app) as client:
        response = client.get("/data", headers={"Origin": "https://a.example"})
    assert response.headers["access-control-allow-origin"] == "https://a.example"
    assert response.headers["vary"] == "Origin"
    assert response.headers["access-control-expose-headers"] == "X-Total"


def test_cors_other_origin_gets_no_allow_header_but_vary() -> None:
    with TestClient(make_app(cors(["https://a.example"]))) as client:
        response = client.get("/data", headers={"Origin": "https://evil.example"})
    assert response.status == 200
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["vary"] == "Origin"


def test_cors_preflight_is_answered_without_the_app() -> None:
    app = make_app(cors(["https://a.example"], allow_methods=["GET", "PUT"], allow_headers=["X-Token"], max_age=60))
    with TestClient(app) as client:
        response = client.options("/data", headers={
            "Origin": "https://a.example", "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "x-token"})
    assert response.status == 204
    assert response.headers["access-control-allow-methods"] == "GET, PUT"
    assert response.headers["access-control-allow-headers"] == "x-token"
    assert response.headers["access-control-max-age"] == "60"


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    {"Origin": "https://a.example", "Access-Control-Request-Method": "DELETE"},
    {"Origin": "https://a.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "X-Other"},
])
def test_cors_preflight_refused_without_cors_fields(headers: dict[str, str]) -> None:
    with TestClient(make_app(cors(["https://a.example"], allow_headers=["X-Token"]))) as client:
        response = client.options("/data", headers=headers)
    assert response.status == 403
    assert "access-control-allow-origin" not in response.headers


def test_cors_credentials_echo_the_origin_and_refuse_wildcards() -> None:
    with TestClient(make_app(cors(lambda o: o.endswith(".example"), allow_credentials=True))) as client:
        response = client.get("/data", headers={"Origin": "https://b.example"})
    assert response.headers["access-control-allow-origin"] == "https://b.example"
    assert response.headers["access-control-allow-credentials"] == "true"
    with pytest.raises(ValueError):
        cors(["*"], allow_credentials=True)


# -- auth -------------------------------------------------------------------------


@pytest.mark.parametrize(("authorization", "status"), [
    ("Bearer t0ken", 200), ("bearer t0ken", 200), ("Bearer wrong", 401), ("Basic t0ken", 401), ("", 401),
])
def test_bearer_auth(authorization: str, status: int) -> None:
    with TestClient(make_app(bearer_auth(["other", "t0ken"]))) as client:
        assert client.get("/data", headers={"Authorization": authorization}).status == status


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(("authorization", "status"), [
    (basic("ada", "s3cret"), 200), (basic("ada", "wrong"), 401), (basic("bob", "s3cret"), 401),
    ("Basic !!!notbase64", 401), ("Basic " + base64.b64encode(b"no-colon").decode(), 401),
])
def test_basic_auth(authorization: str, status: int) -> None:
    with TestClient(make_app(basic_auth({"ada": "s3cret"}))) as client:
        response = client.get("/data", headers={"Authorization": authorization})
    assert response.status == status
    if status == 401:
        assert response.headers["www-authenticate"].startswith('Basic realm="heron"')


# -- trusted hosts ------------------------------------------------------------------


@pytest.mark.parametrize(("host", "status"), [
    ("example.com", 200), ("example.com:8080", 200), ("api.example.com", 200), ("evil.com", 400),
    ("example.com.evil.com", 400), ("[::1]:80", 400),
])
def test_trusted_hosts(host: str, status: int) -> None:
    app = make_app(trusted_hosts(["example.com", "*.example.com"]))
    with TestClient(app, base_url=f"http://{host}") as client:
        assert client.get("/data").status == status
