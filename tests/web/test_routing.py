"""The router: patterns, converters, priorities, 404/405 and registration errors."""

from __future__ import annotations

import pytest

from heron.errors import HTTPError
from heron.web.routing import Router


def handler_named(name: str):  # type: ignore[no-untyped-def]
    def handler(request, **params):  # type: ignore[no-untyped-def]
        return name

    handler.__name__ = handler.__qualname__ = name
    return handler


def test_static_route_matches_exactly() -> None:
    router = Router()
    h = handler_named("about")
    router.add("/about", ["GET"], h)
    assert router.match("GET", "/about") == (h, {})
    with pytest.raises(HTTPError) as info:
        router.match("GET", "/about/")
    assert info.value.status == 404


def test_parameters_are_captured_and_converted() -> None:
    router = Router()
    h = handler_named("item")
    router.add("/user/{name}/item/{id:int}", ["GET"], h)
    assert router.match("GET", "/user/ada/item/42") == (h, {"name": "ada", "id": 42})
    with pytest.raises(HTTPError):
        router.match("GET", "/user/ada/item/x")


def test_str_parameter_does_not_cross_slashes_but_path_does() -> None:
    router = Router()
    router.add("/files/{rest:path}", ["GET"], handler_named("files"))
    router.add("/user/{name}", ["GET"], handler_named("user"))
    assert router.match("GET", "/files/a/b/c.txt")[1] == {"rest": "a/b/c.txt"}
    with pytest.raises(HTTPError):
        router.match("GET", "/user/a/b")


def test_static_segments_beat_parameters() -> None:
    router = Router()
    param, me = handler_named("param"), handler_named("me")
    router.add("/user/{name}", ["GET"], param)
    router.add("/user/{name}/me", ["GET"], param)
    router.add("/user/me", ["GET"], me)
    assert router.match("GET", "/user/me")[0] is me
    assert router.match("GET", "/user/you")[0] is param


def test_wrong_method_is_405_with_allow() -> None:
    router = Router()
    router.add("/thing", ["GET", "POST"], handler_named("thing"))
    with pytest.raises(HTTPError) as info:
        router.match("DELETE", "/thing")
    assert info.value.status == 405
    assert info.value.headers == [("Allow", "GET, HEAD, OPTIONS, POST")]


def test_head_falls_back_to_get() -> None:
    router = Router()
    h = handler_named("get")
    router.add("/x", ["GET"], h)
    assert router.match("HEAD", "/x")[0] is h


@pytest.mark.parametrize("pattern", ["no-slash", "/a/{x:nope}", "/a/{x}/{x}", "/a/{x", "/a/x}"])
def test_bad_patterns_are_refused_at_registration(pattern: str) -> None:
    with pytest.raises(ValueError):
        Router().add(pattern, ["GET"], handler_named("h"))


def test_duplicate_route_is_refused_naming_the_existing_handler() -> None:
    router = Router()
    router.add("/x", ["GET"], handler_named("first"))
    with pytest.raises(ValueError, match="second .*conflicts with .*first"):
        router.add("/x", ["GET"], handler_named("second"))


def test_any_method_route_answers_extension_methods_and_never_405() -> None:
    router = Router()
    h = handler_named("any")
    router.add("/echo", ["*"], h)
    for method in ("GET", "HEAD", "PROPFIND", "BREW"):
        assert router.match(method, "/echo")[0] is h


def test_a_specific_method_beats_any() -> None:
    router = Router()
    specific, anything = handler_named("specific"), handler_named("any")
    router.add("/x", ["*"], anything)
    router.add("/x", ["POST"], specific)
    assert router.match("POST", "/x")[0] is specific
    assert router.match("PUT", "/x")[0] is anything


def test_methods_lists_what_the_whole_app_answers() -> None:
    router = Router()
    router.add("/a", ["GET"], handler_named("a"))
    router.add("/b/{x}", ["DELETE", "*"], handler_named("b"))
    assert router.methods() == ["DELETE", "GET", "HEAD", "OPTIONS"]
