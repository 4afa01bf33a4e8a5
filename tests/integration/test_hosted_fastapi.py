"""What only FastAPI does here: pydantic validation (422), dependencies that refuse (401, and 403 for a
WebSocket), a plain def endpoint.

The flows every hosted app shares (JSON, forms, UploadFile, cookies,
StreamingResponse, BackgroundTasks, lifespan, disconnects, errors,
keep-alive, root path, ...) are checked on the FastAPI app too, in
test_hosted_apps.py.
"""

from __future__ import annotations

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from .hosted_support import FASTAPI, Connection, module_server
from .support import Server

KEY = {"X-API-Key": "let-me-in"}

server = module_server(FASTAPI)


def test_pydantic_model_body_and_dependency(server: Server) -> None:
    item = {"name": "Héron lamp", "price": 10.5, "tags": ["light", "鷺"]}
    r = requests.post(server.url("/items"), json=item, headers=KEY, timeout=5)
    assert r.status_code == 201
    assert r.json() == {"created": item, "price_with_tax": 12.6}

    refused = requests.post(server.url("/items"), json=item, timeout=5)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "bad API key"}
    assert refused.headers["WWW-Authenticate"] == "ApiKey"


def test_validation_errors_are_422(server: Server) -> None:
    r = requests.post(server.url("/items"), json={"name": "", "price": -1}, headers=KEY, timeout=5)
    assert r.status_code == 422
    errors = {(tuple(e["loc"]), e["type"]) for e in r.json()["detail"]}
    assert errors == {(("body", "name"), "string_too_short"), (("body", "price"), "greater_than")}

    not_json = requests.post(server.url("/items"), data=b"{nope", headers={**KEY, "Content-Type": "application/json"},
                             timeout=5)
    assert not_json.status_code == 422
    assert not_json.json()["detail"][0]["type"] == "json_invalid"

    bad_path = requests.get(server.url("/items/forty-two"), timeout=5)
    assert bad_path.status_code == 422
    assert bad_path.json()["detail"][0]["loc"] == ["path", "item_id"]

    missing_field = requests.post(server.url("/form"), data={"author": "Zoë"}, timeout=5)
    assert missing_field.status_code == 422
    assert missing_field.json()["detail"][0]["loc"] == ["body", "text"]


def test_sync_endpoint_runs_in_fastapis_thread_pool(server: Server) -> None:
    assert requests.get(server.url("/sync?n=5"), timeout=5).json() == {"squares": [0, 1, 4, 9, 16]}


def test_validation_and_thread_pool_responses_keep_the_connection(server: Server) -> None:
    json_with_key = {**KEY, "Content-Type": "application/json"}
    with Connection(server) as conn:
        created = conn.send("POST", "/items", json_with_key, b'{"name": "cup", "price": 2}')
        invalid = conn.send("POST", "/items", json_with_key, b'{"name": ""}')
        squares = conn.send("GET", "/sync?n=2")
    assert [r.status for r in (created, invalid, squares)] == [201, 422, 200]
    assert not any(r.closes for r in (created, invalid, squares))
    assert created.json()["price_with_tax"] == 2.4
    assert squares.json() == {"squares": [0, 1]}


def test_lifespan_state_is_shared_and_changed_by_requests(server: Server) -> None:
    """The inventory the lifespan made at startup is the one every request sees, and changes."""
    left = requests.get(server.url("/state"), timeout=5).json()["inventory"]["apple"]
    assert requests.get(server.url("/buy/apple"), timeout=5).json() == {"bought": "apple", "left": left - 1}
    assert requests.get(server.url("/state"), timeout=5).json()["inventory"]["apple"] == left - 1


def test_a_websocket_dependency_refuses_with_403_and_a_token_gets_in(server: Server) -> None:
    """``WebSocketException`` raised by a dependency before accepting closes the handshake: an HTTP 403."""
    url = f"ws://{server.host}:{server.port}/ws/rooms/lobby"
    with pytest.raises(InvalidStatus) as info:
        connect(url, open_timeout=5)
    assert info.value.response.status_code == 403
    with connect(f"{url}?token=abc", open_timeout=5) as ws:
        assert ws.recv(timeout=5) == '{"room":"lobby","user":"token abc","flavour":null,"lang":null}'
