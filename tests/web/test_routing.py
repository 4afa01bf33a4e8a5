"""The router: patterns, converters, priorities, 404/405 and registration errors."""

from __future__ import annotations

import uuid
from urllib.parse import unquote

import pytest

from heron.errors import HTTPError
from heron.web.converters import Converter, make_converter
from heron.web.routing import Router, slash_redirect_location


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


# -- converters ------------------------------------------------------------------


def match_params(router: Router, path: str, method: str = "GET") -> dict[str, object]:
    return router.match(method, path)[1]


def status_of(router: Router, path: str, method: str = "GET") -> int:
    with pytest.raises(HTTPError) as info:
        router.match(method, path)
    return info.value.status


@pytest.mark.parametrize(("path", "expected"), [("/n/0", 0), ("/n/007", 7), ("/n/" + "9" * 18, 10**18 - 1)])
def test_int_converter_accepts_up_to_18_unsigned_digits(path: str, expected: int) -> None:
    router = Router()
    router.add("/n/{n:int}", ["GET"], handler_named("n"))
    assert match_params(router, path) == {"n": expected}


@pytest.mark.parametrize("path", ["/n/-1", "/n/+1", "/n/" + "9" * 19, "/n/1.5", "/n/ 1", "/n/١"])
def test_int_converter_refuses_signs_long_numbers_and_non_ascii_digits(path: str) -> None:
    router = Router()
    router.add("/n/{n:int}", ["GET"], handler_named("n"))
    assert status_of(router, path) == 404


def test_float_converter_accepts_plain_decimals_only() -> None:
    router = Router()
    router.add("/f/{x:float}", ["GET"], handler_named("f"))
    assert match_params(router, "/f/3.25") == {"x": 3.25}
    assert match_params(router, "/f/3") == {"x": 3.0}
    for bad in ("/f/inf", "/f/nan", "/f/1e5", "/f/-1.0", "/f/.5"):
        assert status_of(router, bad) == 404


def test_uuid_converter_returns_a_uuid_object() -> None:
    router = Router()
    router.add("/u/{id:uuid}", ["GET"], handler_named("u"))
    value = uuid.uuid4()
    assert match_params(router, f"/u/{value}") == {"id": value}
    assert match_params(router, f"/u/{str(value).upper()}") == {"id": value}
    assert status_of(router, "/u/not-a-uuid") == 404


def test_custom_converter_from_a_class() -> None:
    class Upper(Converter):
        regex = "[a-z]+"

        def to_python(self, value: str) -> str:
            return value.upper()

        def to_url(self, value: object) -> str:
            return str(value).lower()

    router = Router()
    router.add_converter("upper", Upper())
    router.add("/shout/{word:upper}", ["GET"], handler_named("shout"))
    assert match_params(router, "/shout/hey") == {"word": "HEY"}
    assert status_of(router, "/shout/HEY") == 404
    assert router.url_for("shout", {"word": "HEY"}) == "/shout/hey"


def test_custom_converter_whose_to_python_raises_value_error_does_not_match() -> None:
    def even(text: str) -> int:
        if int(text) % 2:
            raise ValueError("odd")
        return int(text)

    router = Router()
    router.add_converter("even", make_converter("[0-9]+", even, str))
    router.add("/e/{n:even}", ["GET"], handler_named("even"))
    router.add("/e/{s}", ["GET"], handler_named("other"))
    assert router.match("GET", "/e/4")[0].__name__ == "even"
    assert router.match("GET", "/e/5")[0].__name__ == "other"


def test_converter_names_cannot_be_redefined_and_bad_regexes_are_refused() -> None:
    router = Router()
    with pytest.raises(ValueError, match="already exists"):
        router.add_converter("int", make_converter("[0-9]+"))
    with pytest.raises(ValueError, match="does not compile"):
        make_converter("[0-9")


# -- priorities ------------------------------------------------------------------


def test_restrictive_converter_beats_str_whatever_the_registration_order() -> None:
    router = Router()
    router.add("/items/{slug}", ["GET"], handler_named("slug"))
    router.add("/items/{id:int}", ["GET"], handler_named("by_id"))
    assert router.match("GET", "/items/42") == (router.match("GET", "/items/42")[0], {"id": 42})
    assert router.match("GET", "/items/42")[0].__name__ == "by_id"
    assert router.match("GET", "/items/abc")[1] == {"slug": "abc"}


def test_segment_with_text_beats_a_lone_parameter() -> None:
    router = Router()
    router.add("/doc/{name}", ["GET"], handler_named("page"))
    router.add("/doc/{name}.json", ["GET"], handler_named("as_json"))
    assert router.match("GET", "/doc/intro.json")[0].__name__ == "as_json"
    assert router.match("GET", "/doc/intro.json")[1] == {"name": "intro"}
    assert router.match("GET", "/doc/intro")[0].__name__ == "page"


def test_parameter_beats_path_and_path_takes_the_rest() -> None:
    router = Router()
    router.add("/f/{rest:path}", ["GET"], handler_named("rest"))
    router.add("/f/{name}", ["GET"], handler_named("one"))
    assert router.match("GET", "/f/a")[0].__name__ == "one"
    assert router.match("GET", "/f/a/b")[1] == {"rest": "a/b"}


def test_a_dead_end_under_a_static_segment_backs_up_to_the_parameter() -> None:
    router = Router()
    router.add("/user/me", ["GET"], handler_named("me"))
    router.add("/user/{name}/posts", ["GET"], handler_named("posts"))
    assert router.match("GET", "/user/me/posts")[1] == {"name": "me"}


def test_method_mismatch_on_a_static_route_falls_through_to_a_parameter_route() -> None:
    router = Router()
    router.add("/user/me", ["GET"], handler_named("me"))
    router.add("/user/{name}", ["DELETE"], handler_named("remove"))
    assert router.match("DELETE", "/user/me")[1] == {"name": "me"}
    with pytest.raises(HTTPError) as info:
        router.match("POST", "/user/me")
    assert info.value.headers == [("Allow", "DELETE, GET, HEAD, OPTIONS")]


def test_trailing_slash_is_part_of_the_route() -> None:
    router = Router()
    router.add("/dir/", ["GET"], handler_named("dir"))
    router.add("/p/{x}/", ["GET"], handler_named("p"))
    assert router.match("GET", "/dir/")[0].__name__ == "dir"
    assert status_of(router, "/dir") == 404
    assert router.match("GET", "/p/1/")[1] == {"x": "1"}
    assert status_of(router, "/p/1") == 404


def test_matching_does_not_slow_down_with_many_routes() -> None:
    router = Router()
    for i in range(5000):
        router.add(f"/r{i}/{{x:int}}", ["GET"], handler_named(f"r{i}"))
    assert router.match("GET", "/r4999/7")[1] == {"x": 7}
    node = router._root  # the trie: one static child per prefix, no list to scan
    assert len(node.params) == 0 and len(node.static) == 5000


# -- registration errors ------------------------------------------------------------


@pytest.mark.parametrize("pattern", [
    "/a/{}", "/a/{x:}", "/a/{1x}", "/a/{x}{y}", "/a/{{x}}", "/a/{p:path}/b", "/a/x{p:path}", "/a/{request}",
])
def test_more_bad_patterns_are_refused_at_registration(pattern: str) -> None:
    with pytest.raises(ValueError, match="route"):
        Router().add(pattern, ["GET"], handler_named("h"))


def test_unknown_converter_error_names_the_handler_and_the_known_converters() -> None:
    with pytest.raises(ValueError, match=r"unknown converter 'nope'.*known: float, int, path, str, uuid.*bad_one"):
        Router().add("/a/{x:nope}", ["GET"], handler_named("bad_one"))


def test_same_shape_with_different_parameter_names_is_refused_naming_both_handlers() -> None:
    router = Router()
    router.add("/a/{x}", ["GET"], handler_named("first"))
    with pytest.raises(ValueError, match=r"'/a/\{y\}' \(.*second.*\) matches the same paths as '/a/\{x\}' \(.*first"):
        router.add("/a/{y}", ["GET"], handler_named("second"))


def test_same_shape_with_different_names_is_allowed_for_other_methods() -> None:
    router = Router()
    router.add("/a/{x}", ["GET"], handler_named("read"))
    router.add("/a/{y}", ["POST"], handler_named("write"))
    assert router.match("GET", "/a/1")[1] == {"x": "1"}
    assert router.match("POST", "/a/1")[1] == {"y": "1"}


def test_two_path_parameters_at_the_same_place_are_refused() -> None:
    router = Router()
    router.add("/s/{a:path}", ["GET"], handler_named("first"))
    with pytest.raises(ValueError, match="first"):
        router.add("/s/{b:path}", ["GET"], handler_named("second"))


def test_duplicate_message_gives_file_and_line_of_both_handlers() -> None:
    router = Router()
    router.add("/x/{n:int}", ["GET"], handler_named("first"))
    with pytest.raises(ValueError) as info:
        router.add("/x/{n:int}", ["GET"], handler_named("second"))
    assert str(info.value).count("test_routing.py:") == 2


def test_a_refused_route_leaves_the_router_unchanged() -> None:
    router = Router()
    router.add("/x", ["GET"], handler_named("first"))
    router.add("/y", ["GET"], handler_named("same"))
    with pytest.raises(ValueError):
        router.add("/z", ["GET"], handler_named("same"))  # another function called 'same'
    assert status_of(router, "/z") == 404


# -- url_for ------------------------------------------------------------------------


def test_url_for_percent_encodes_str_values_but_keeps_slashes_in_path_values() -> None:
    router = Router()
    router.add("/user/{name}", ["GET"], handler_named("user"))
    router.add("/files/{rest:path}", ["GET"], handler_named("files"))
    assert router.url_for("user", {"name": "a b/c?d"}) == "/user/a%20b%2Fc%3Fd"
    assert router.url_for("files", {"rest": "dir/my file.txt"}) == "/files/dir/my%20file.txt"


def test_url_for_round_trips_through_match() -> None:
    router = Router()
    router.add("/item/{id:int}/{slug}.{ext}", ["GET"], handler_named("item"))
    value = uuid.uuid4()
    router.add("/u/{u:uuid}/{score:float}", ["GET"], handler_named("u"))
    path = router.url_for("item", {"id": 7, "slug": "née", "ext": "json"})
    assert path == "/item/7/n%C3%A9e.json"
    assert router.match("GET", unquote(path))[1] == {"id": 7, "slug": "née", "ext": "json"}
    assert router.match("GET", router.url_for("u", {"u": value, "score": 2.5}))[1] == {"u": value, "score": 2.5}


def test_url_for_adds_the_query_from_query_argument() -> None:
    router = Router()
    router.add("/search", ["GET"], handler_named("search"))
    assert router.url_for("search", {}, {"q": "a b", "tag": ["x", "y"]}) == "/search?q=a+b&tag=x&tag=y"


def test_url_for_refuses_unknown_names_and_wrong_parameters() -> None:
    router = Router()
    router.add("/item/{id:int}", ["GET"], handler_named("item"))
    with pytest.raises(LookupError, match="no route named 'nope'"):
        router.url_for("nope", {})
    with pytest.raises(ValueError, match=r"\[\] given, \['id'\] expected"):
        router.url_for("item", {})
    with pytest.raises(ValueError, match="_query"):
        router.url_for("item", {"id": 1, "page": 2})
    with pytest.raises(ValueError, match="'id'"):
        router.url_for("item", {"id": -1})


def test_url_for_uses_explicit_names_and_picks_the_pattern_with_the_given_parameters() -> None:
    router = Router()
    h = handler_named("listing")
    router.add("/list", ["GET"], h)
    router.add("/list/{page:int}", ["GET"], h)
    router.add("/other", ["GET"], handler_named("x"), name="custom")
    assert router.url_for("listing", {}) == "/list"
    assert router.url_for("listing", {"page": 2}) == "/list/2"
    assert router.url_for("custom", {}) == "/other"


# -- slash redirects and mounts (the router's part) ------------------------------------


@pytest.mark.parametrize(("raw", "query", "location"), [
    ("/x/", "", "/x"), ("/x", "a=1", "/x/?a=1"), ("/a%20b/", "", "/a%20b"),
    ("//evil.com/", "", None), ("//evil.com", "", None), ("/\\evil.com/", "", None), ("/", "", None),
])
def test_slash_redirect_location_is_a_path_and_never_another_host(raw: str, query: str, location: str | None) -> None:
    assert slash_redirect_location(raw, query) == location


def test_find_mount_takes_the_longest_prefix_on_segment_boundaries() -> None:
    router = Router()
    api, v2 = object(), object()
    router.add_mount("/api", api, "api", "here:1")
    router.add_mount("/api/v2", v2, "v2", "here:2")
    assert router.find_mount("/api/x") == (router.mounts[0], "/x")
    assert router.find_mount("/api") == (router.mounts[0], "")
    assert router.find_mount("/api/v2/y") == (router.mounts[1], "/y")
    assert router.find_mount("/apix") is None


def test_routes_under_a_mount_are_refused_either_way_round() -> None:
    router = Router()
    router.add("/api/health", ["GET"], handler_named("health"))
    with pytest.raises(ValueError, match=r"'/api/health' \(.*health.*\) lies under the mount '/api' \(here:1\)"):
        router.add_mount("/api", object(), "api", "here:1")
    other = Router()
    other.add_mount("/api", object(), "api", "here:1")
    with pytest.raises(ValueError, match="here:1"):
        other.add("/api/{x}", ["GET"], handler_named("x"))
    other.add("/apix/{x}", ["GET"], handler_named("x"))  # a different segment is fine


@pytest.mark.parametrize("prefix", ["api", "/", "/api/", "/a//b", "/{x}"])
def test_malformed_mount_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="mount prefix"):
        Router().add_mount(prefix, object(), "m", "here:1")


def test_any_method_route_clashes_with_every_method_of_a_same_shape_route() -> None:
    router = Router()
    router.add("/a/{x}", ["*"], handler_named("anything"))
    with pytest.raises(ValueError, match="anything"):
        router.add("/a/{y}", ["PATCH"], handler_named("patch"))
