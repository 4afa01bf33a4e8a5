"""The router over real sockets: converters, 308 slash redirects, url_for, a mounted app, startup/shutdown hooks."""

from __future__ import annotations

import re
import signal
import uuid
from collections.abc import Iterator

import pytest
import requests

from .conftest import Serve, ServerPool
from .support import Server, app_spec, exchange, get, parse_responses, request

ROUTING = app_spec("routing")


@pytest.fixture(scope="module")
def routing_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    pool = ServerPool(tmp_path_factory.mktemp("routing"))
    try:
        yield pool.start(app=ROUTING)
    finally:
        pool.stop_all()


def get_json(server: Server, path: str) -> object:
    response = requests.get(server.url(path), timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def test_int_converter_passes_an_int_and_other_text_falls_to_the_str_route(routing_server: Server) -> None:
    assert get_json(routing_server, "/items/42") == {"id": 42, "type": "int"}
    assert get_json(routing_server, "/items/-42") == {"slug": "-42"}
    assert get_json(routing_server, "/items/" + "9" * 19) == {"slug": "9" * 19}


def test_float_uuid_and_path_converters(routing_server: Server) -> None:
    assert get_json(routing_server, "/price/9.75") == {"amount": 9.75}
    key = uuid.uuid4()
    assert get_json(routing_server, f"/objects/{key}") == {"key": str(key), "version": 4}
    assert requests.get(routing_server.url("/objects/nope"), timeout=5).status_code == 404
    assert get_json(routing_server, "/files/a/b%20c/d.txt") == {"rest": "a/b c/d.txt"}


def test_post_to_the_slash_form_is_redirected_308_and_repeated_as_post_with_its_body(routing_server: Server) -> None:
    response = requests.post(routing_server.url("/submit/?x=1"), data=b"payload=42", timeout=5)
    assert [r.status_code for r in response.history] == [308]
    assert response.history[0].headers["Location"] == "/submit?x=1"
    assert response.json() == {"method": "POST", "body": "payload=42", "query": "x=1"}


def test_get_without_the_trailing_slash_is_redirected_to_it(routing_server: Server) -> None:
    response = requests.get(routing_server.url("/docs"), allow_redirects=False, timeout=5)
    assert (response.status_code, response.headers["Location"]) == (308, "/docs/")
    assert requests.get(routing_server.url("/docs"), timeout=5).text == "docs"


def test_double_slash_path_is_not_redirected_to_another_host(routing_server: Server) -> None:
    [response] = parse_responses(exchange(routing_server, get("//evil.com/docs", ("Connection", "close"))).data)
    assert response.status == 404
    assert response.header("location") is None


def test_redirect_location_ignores_the_host_header(routing_server: Server) -> None:
    data = exchange(routing_server, request("GET", "/docs", [("Connection", "close")], host="evil.example")).data
    [response] = parse_responses(data)
    assert (response.status, response.header("location")) == (308, "/docs/")


def test_url_for_builds_encoded_paths_including_mounted_routes(routing_server: Server) -> None:
    links = get_json(routing_server, "/links")
    assert links == {
        "item": "/items/42",
        "user": "/users/ada%20lovelace%2Fx",
        "files": "/files/a%20b/c.txt?download=1",
        "api_user": "/api/users/7",
    }
    assert get_json(routing_server, "/users/ada%20lovelace") == {"name": "ada lovelace"}


def test_mounted_app_answers_under_its_prefix_with_root_path(routing_server: Server) -> None:
    assert get_json(routing_server, "/api/users/7") == {"id": 7, "root_path": "/api", "self": "/api/users/7"}
    assert requests.get(routing_server.url("/api/users/x"), timeout=5).status_code == 404
    response = requests.delete(routing_server.url("/api/users/7"), timeout=5)
    assert (response.status_code, response.headers["Allow"]) == (405, "GET, HEAD, OPTIONS")
    response = requests.get(routing_server.url("/api"), timeout=5)
    assert ([r.status_code for r in response.history], response.text) == ([308], "api index")


def test_startup_hooks_ran_before_the_first_request(routing_server: Server) -> None:
    assert get_json(routing_server, "/state") == {"db": "connected"}
    log = routing_server.stderr()
    assert log.index("routing: startup site") < log.index("routing: startup api")


def test_shutdown_hooks_run_after_the_drain_mounted_app_first(serve: Serve) -> None:
    server = serve(app=ROUTING)
    assert requests.get(server.url("/state"), timeout=5).status_code == 200
    server.signal(signal.SIGTERM)
    assert server.wait_exit(10) == 0
    log = server.stderr()
    assert log.index("routing: shutdown api") < log.index("routing: shutdown site")


def test_every_worker_runs_the_hooks(serve: Serve) -> None:
    server = serve("--workers", "2", app=ROUTING)
    server.wait_for_stderr(r"routing: startup api", count=2)
    server.signal(signal.SIGTERM)
    assert server.wait_exit(10) == 0
    pids = set(re.findall(r"routing: shutdown site (\d+)", server.stderr()))
    assert len(pids) == 2


@pytest.mark.parametrize("workers", ["1", "2"])
def test_failing_startup_hook_stops_the_server_with_one_line_and_nonzero_exit(serve: Serve, workers: str) -> None:
    server = serve("--workers", workers, app=app_spec("failing_startup"), wait_ready=False)
    assert server.wait_exit(10) == 3
    log = server.stderr()
    assert "Traceback" not in log
    failures = [line for line in log.splitlines() if line.startswith("heron: startup failed:")]
    assert failures, log
    assert all("connect_database" in line and "ConnectionRefusedError: database at 127.0.0.1:5432" in line
               for line in failures)
    assert "restarting" not in log  # a worker whose startup failed is not restarted in a loop
