"""Cache-Control built from keywords, put on a route's cacheable answers, and validators for dynamic responses."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from heron import App, Request, Response
from heron.errors import HTTPError
from heron.testing import TestClient
from heron.web.caching import CacheControl, cache_control, entity_tag, set_etag, set_last_modified
from heron.web.conditional import parse_http_date


@pytest.mark.parametrize("directives, value", [
    ({"public": True, "max_age": 60}, "public, max-age=60"),
    ({"private": True, "no_cache": True}, "private, no-cache"),
    ({"no_store": True}, "no-store"),
    ({"max_age": timedelta(days=365), "immutable": True, "public": True}, "public, max-age=31536000, immutable"),
    ({"max_age": 0, "must_revalidate": True}, "max-age=0, must-revalidate"),
    ({"s_maxage": 600, "max_age": 60, "proxy_revalidate": True}, "max-age=60, s-maxage=600, proxy-revalidate"),
    ({"max_age": 60, "stale_while_revalidate": 30, "stale_if_error": 86400},
     "max-age=60, stale-while-revalidate=30, stale-if-error=86400"),
    ({"no_transform": True, "public": True}, "public, no-transform"),
    ({"max_age": 10**12}, "max-age=2147483647"),
    ({}, ""),
])
def test_directives_become_the_field_value(directives: dict[str, Any], value: str) -> None:
    assert str(CacheControl(**directives)) == value


@pytest.mark.parametrize("directives, error", [
    ({"public": True, "private": True}, ValueError),
    ({"no_store": True, "max_age": 60}, ValueError),
    ({"no_store": True, "stale_if_error": 60}, ValueError),
    ({"immutable": True}, ValueError),
    ({"max_age": -1}, ValueError),
    ({"max_age": timedelta(seconds=-5)}, ValueError),
    ({"max_age": "60"}, TypeError),
    ({"max_age": 1.5}, TypeError),
    ({"max_age": True}, TypeError),
    ({"public": 1}, TypeError),
])
def test_contradictions_and_wrong_types_fail_when_written(directives: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        CacheControl(**directives)


def test_apply_replaces_the_field_and_can_add_expires() -> None:
    response = Response("x", headers=[("Cache-Control", "no-cache")])
    CacheControl(public=True, max_age=3600).apply(response, expires=True)
    assert response.list_header("cache-control") == ["public", "max-age=3600"]
    expires = parse_http_date(response.header("expires") or "")
    assert expires is not None and abs(expires - (datetime.now(timezone.utc).timestamp() + 3600)) < 5


def make_app() -> App:
    app = App()

    @app.get("/async")
    @cache_control(public=True, max_age=60)
    async def cached(request: Request) -> Any:
        return {"cached": True}

    @app.get("/sync/{name}")
    @cache_control(CacheControl(private=True, max_age=5), expires=True)
    def cached_sync(request: Request, name: str) -> str:
        return f"hello {name}"

    @app.get("/own")
    @cache_control(max_age=60)
    async def own(request: Request) -> Response:
        return Response("mine", headers=[("Cache-Control", "no-store")])

    @app.get("/missing")
    @cache_control(max_age=86400)
    async def missing(request: Request) -> Any:
        raise HTTPError(404)

    @app.get("/created")
    @cache_control(max_age=86400)
    async def created(request: Request) -> Any:
        return "new", 201

    return app


def test_the_decorator_marks_a_routes_cacheable_answers_async_and_sync() -> None:
    with TestClient(make_app()) as client:
        assert client.get("/async").headers["cache-control"] == "public, max-age=60"
        response = client.get("/sync/heron")
        assert response.text == "hello heron" and response.headers["cache-control"] == "private, max-age=5"
        assert "expires" in response.headers


def test_the_handlers_own_field_and_errors_and_uncacheable_statuses_are_left_alone() -> None:
    with TestClient(make_app()) as client:
        assert client.get("/own").headers["cache-control"] == "no-store"
        assert "cache-control" not in client.get("/missing").headers
        assert "cache-control" not in client.get("/created").headers


def test_cache_control_takes_a_policy_or_directives_not_both() -> None:
    with pytest.raises(TypeError):
        cache_control(CacheControl(max_age=1), public=True)


def test_validators_for_dynamic_responses() -> None:
    response = Response("x")
    set_last_modified(response, datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    set_etag(response, "rev-42")
    assert response.header("last-modified") == "Fri, 02 Jan 2026 03:04:05 GMT"
    assert response.header("etag") == '"rev-42"'
    assert entity_tag("rev-42", weak=True) == 'W/"rev-42"'
    set_last_modified(response, 0)
    assert response.header("last-modified") == "Thu, 01 Jan 1970 00:00:00 GMT"


@pytest.mark.parametrize("tag", ["", 'a"b', "with space", "caf\u00e9", "tab\t"])
def test_an_entity_tag_must_be_visible_ascii_without_quotes(tag: str) -> None:
    with pytest.raises(ValueError):
        entity_tag(tag)


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError):
        set_last_modified(Response("x"), datetime(2026, 1, 1))
