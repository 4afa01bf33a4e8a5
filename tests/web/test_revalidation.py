"""304 and 412 for dynamic responses: tags made from bodies, handlers' own validators, and checks before work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from heron import App, Request, Response, StreamingResponse
from heron.testing import TestClient
from heron.web.caching import cache_control, set_etag, set_last_modified
from heron.web.compression import compression
from heron.web.revalidation import body_etag, check_preconditions, revalidation

PAGE = "<p>" + "heron revalidates. " * 100 + "</p>"
MODIFIED = 1_700_000_000  # Tue, 14 Nov 2023 22:13:20 GMT
MODIFIED_DATE = "Tue, 14 Nov 2023 22:13:20 GMT"
state: dict[str, Any] = {}


def make_app(**options: Any) -> App:
    app = App()
    app.add_middleware(revalidation(**options))
    app.add_middleware(compression())

    @app.route("/page", methods=["GET", "HEAD", "POST"])
    @cache_control(max_age=60)
    async def page(request: Request) -> Response:
        response = Response(PAGE, content_type="text/html")
        response.set_cookie("seen", "1")
        return response

    @app.get("/dated")
    async def dated(request: Request) -> Response:
        return set_last_modified(Response("dated"), MODIFIED)

    @app.get("/tagged-stream")
    async def tagged_stream(request: Request) -> StreamingResponse:
        async def pieces() -> AsyncIterator[str]:
            yield "one"
            yield "two"
        state["stream"] = stream = pieces()
        return set_etag(StreamingResponse(stream, content_type="text/plain"), "s1")  # type: ignore[return-value]

    @app.get("/untagged-stream")
    async def untagged_stream(request: Request) -> StreamingResponse:
        return StreamingResponse(iter(["a", "b"]), content_type="text/plain")

    @app.get("/private")
    async def private(request: Request) -> Response:
        return Response("mine", headers=[("Cache-Control", "private")])

    @app.get("/expires")
    async def expires(request: Request) -> Response:
        return Response("until then", headers=[("Expires", "Thu, 01 Jan 2037 00:00:00 GMT")])

    @app.get("/missing")
    async def missing(request: Request) -> Response:
        return Response("no", 404)

    @app.route("/doc", methods=["GET", "PUT"])
    async def doc(request: Request) -> Any:
        revision = state.setdefault("revision", 1)
        not_modified = check_preconditions(request, tag=f"r{revision}", last_modified=MODIFIED)
        if not_modified is not None:
            return not_modified
        if request.method == "PUT":
            state["revision"] = revision + 1
            return set_etag(Response(b"", 204), f"r{revision + 1}")
        return set_etag(Response(f"revision {revision}"), f"r{revision}")

    return app


@pytest.fixture
def client() -> Any:
    state.clear()
    with TestClient(make_app()) as test_client:
        yield test_client


def test_a_tag_is_made_from_the_body_and_a_matching_request_gets_304_with_the_200s_fields(client: TestClient) -> None:
    first = client.get("/page")
    etag = first.headers["etag"]
    assert etag == body_etag(PAGE.encode()) and first.text == PAGE
    again = client.get("/page", headers={"If-None-Match": etag})
    assert again.status == 304 and again.body == b""
    assert again.headers["etag"] == etag and again.headers["cache-control"] == "max-age=60"
    assert "content-type" not in again.headers and "content-length" not in again.headers
    assert again.headers["set-cookie"].startswith("seen=1")


@pytest.mark.parametrize("value, status", [
    ("*", 304),
    ('"other", {etag}', 304),
    ("W/{etag}", 304),  # If-None-Match compares weakly (RFC 9110 section 13.1.2)
    ('"other"', 200),
    ("not a tag list", 200),  # malformed: ignored
    ('"unterminated', 200),
])
def test_if_none_match(client: TestClient, value: str, status: int) -> None:
    etag = client.get("/page").headers["etag"]
    assert client.get("/page", headers={"If-None-Match": value.format(etag=etag)}).status == status


@pytest.mark.parametrize("value, status", [("*", 200), ('"other"', 412), ("{etag}", 200), ("W/{etag}", 412)])
def test_if_match_compares_strongly_and_fails_with_412(client: TestClient, value: str, status: int) -> None:
    etag = client.get("/page").headers["etag"]
    assert client.get("/page", headers={"If-Match": value.format(etag=etag)}).status == status


@pytest.mark.parametrize("headers, status", [
    ({"If-Modified-Since": MODIFIED_DATE}, 304),
    ({"If-Modified-Since": "Tue, 14 Nov 2023 22:13:19 GMT"}, 200),
    ({"If-Modified-Since": "Tuesday, 14-Nov-23 22:13:20 GMT"}, 304),  # RFC 850 form
    ({"If-Modified-Since": "Tue Nov 14 22:13:20 2023"}, 304),  # asctime form
    ({"If-Modified-Since": "yesterday"}, 200),
    ({"If-Unmodified-Since": "Tue, 14 Nov 2023 22:13:19 GMT"}, 412),
    ({"If-Unmodified-Since": MODIFIED_DATE}, 200),
    ({"If-None-Match": '"x"', "If-Modified-Since": MODIFIED_DATE}, 200),  # If-None-Match wins (13.2.2)
])
def test_dates_against_the_handlers_last_modified(client: TestClient, headers: dict[str, str], status: int) -> None:
    response = client.get("/dated", headers=headers)
    assert response.status == status
    if status == 304:
        assert response.headers["last-modified"] == MODIFIED_DATE


def test_head_gets_304_and_unsafe_methods_and_errors_are_left_alone(client: TestClient) -> None:
    etag = client.get("/page").headers["etag"]
    assert client.request("HEAD", "/page", headers={"If-None-Match": etag}).status == 304
    assert client.post("/page", headers={"If-None-Match": etag}).status == 200
    missing = client.get("/missing", headers={"If-None-Match": "*"})
    assert missing.status == 404 and "etag" not in missing.headers


def test_a_stream_with_its_own_tag_is_revalidated_and_closed_and_one_without_is_not_tagged(client: TestClient) -> None:
    assert client.get("/tagged-stream").text == "onetwo"
    response = client.get("/tagged-stream", headers={"If-None-Match": '"s1"'})
    assert response.status == 304 and state["stream"].ag_frame is None  # closed, not left for the collector
    untagged = client.get("/untagged-stream", headers={"If-None-Match": "\"a\""})
    assert untagged.status == 200 and "etag" not in untagged.headers


def test_the_compressed_variant_has_its_own_tag_and_its_304_keeps_vary(client: TestClient) -> None:
    plain = client.get("/page").headers["etag"]
    gzipped = client.get("/page", headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip" and gzipped.headers["etag"] != plain
    revalidated = client.get("/page", headers={"Accept-Encoding": "gzip", "If-None-Match": gzipped.headers["etag"]})
    assert revalidated.status == 304 and revalidated.headers["vary"] == "Accept-Encoding"


def test_without_etags_only_the_handlers_validators_count() -> None:
    with TestClient(make_app(etags=False)) as client:
        assert "etag" not in client.get("/page").headers
        assert client.get("/dated", headers={"If-Modified-Since": MODIFIED_DATE}).status == 304


def test_check_preconditions_answers_before_the_work(client: TestClient) -> None:
    assert client.get("/doc").headers["etag"] == '"r1"'
    cached = client.get("/doc", headers={"If-None-Match": '"r1"'})
    assert cached.status == 304 and cached.headers["etag"] == '"r1"'
    assert cached.headers["last-modified"] == MODIFIED_DATE
    assert client.put("/doc", headers={"If-Match": '"r1"'}).status == 204
    lost_update = client.put("/doc", headers={"If-Match": '"r1"'})  # written against a stale revision
    assert lost_update.status == 412 and state["revision"] == 2
    assert client.get("/doc", headers={"If-None-Match": '"r1"'}).text == "revision 2"


def test_tagged_answers_without_a_policy_get_no_cache_and_their_own_policy_wins(client: TestClient) -> None:
    assert client.get("/dated").headers["cache-control"] == "no-cache"
    assert client.get("/page").headers["cache-control"] == "max-age=60"
    assert "cache-control" not in client.get("/untagged-stream").headers  # nothing to revalidate with
    assert client.get("/private").headers.get_all("cache-control") == ["private", "no-cache"]
    assert client.get("/expires").headers.get("cache-control") is None
    with TestClient(make_app(cache_control=None)) as bare:
        assert "cache-control" not in bare.get("/dated").headers
