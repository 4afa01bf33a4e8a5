"""Headers (case-insensitive ordered multidict) and split_comma_list."""

from __future__ import annotations

import pytest

from heron.protocol.headers import Headers, parse_digits, parse_media_type, split_comma_list


@pytest.mark.parametrize(
    ("value", "items"),
    [
        ("", []),
        ("a", ["a"]),
        ("a,b", ["a", "b"]),
        (" a , b ", ["a", "b"]),
        ("a,,b,", ["a", "b"]),
        (",,,", []),
        ("\ta\t,\tb", ["a", "b"]),
        ("gzip, chunked", ["gzip", "chunked"]),
        ("a b, c", ["a b", "c"]),
        ("A, a", ["A", "a"]),
    ],
)
def test_split_comma_list_trims_members_and_drops_empty_ones(value: str, items: list[str]) -> None:
    assert split_comma_list(value) == items


def test_split_comma_list_does_not_understand_quoted_strings() -> None:
    # Documented limitation: fine for token lists (Connection, Transfer-Encoding,
    # Expect), wrong for lists of quoted-strings such as some Accept parameters.
    assert split_comma_list('a, "b,c"') == ["a", '"b', 'c"']


def sample() -> Headers:
    return Headers([("Host", "example.com"), ("Set-Cookie", "a=1"), ("Accept", "*/*"), ("set-cookie", "b=2")])


def test_lookup_is_case_insensitive_and_gives_the_first_value() -> None:
    headers = sample()
    assert headers["host"] == headers["HOST"] == "example.com"
    assert headers["Set-Cookie"] == "a=1"


def test_missing_name_raises_key_error_and_get_gives_default() -> None:
    headers = sample()
    with pytest.raises(KeyError):
        headers["x-missing"]
    assert headers.get("x-missing") is None
    assert headers.get("X-Missing", "d") == "d"
    assert headers.get("ACCEPT") == "*/*"


def test_get_all_gives_every_value_in_order() -> None:
    headers = sample()
    assert headers.get_all("SET-COOKIE") == ["a=1", "b=2"]
    assert headers.get_all("x-missing") == []


def test_has_any_tells_whether_any_of_the_lower_case_names_is_present() -> None:
    headers = sample()
    assert headers.has_any(frozenset({"if-none-match", "accept"}))  # sent as "Accept"
    assert headers.has_any(["set-cookie"])
    assert not headers.has_any(frozenset({"range", "if-match"}))
    assert not headers.has_any(())
    headers.add("Range", "bytes=0-1")  # the index is rebuilt after a change
    assert headers.has_any({"range"})


def test_get_all_returns_a_copy() -> None:
    headers = sample()
    headers.get_all("set-cookie").append("c=3")
    assert headers.get_all("set-cookie") == ["a=1", "b=2"]


def test_get_list_joins_comma_lists_across_fields() -> None:
    headers = Headers([("Accept-Encoding", "gzip, br"), ("accept-encoding", " , zstd")])
    assert headers.get_list("accept-encoding") == ["gzip", "br", "zstd"]
    assert headers.get_list("x-missing") == []


def test_contains_is_case_insensitive_and_false_for_non_str() -> None:
    headers = sample()
    assert "HOST" in headers and "set-cookie" in headers
    assert "x-missing" not in headers
    assert 1 not in headers and None not in headers


def test_iteration_yields_distinct_lower_cased_names_in_first_seen_order() -> None:
    headers = sample()
    assert list(headers) == ["host", "set-cookie", "accept"]
    assert len(headers) == 3
    assert dict(headers.items()) == {"host": "example.com", "set-cookie": "a=1", "accept": "*/*"}


def test_raw_keeps_pairs_as_sent() -> None:
    assert sample().raw[3] == ("set-cookie", "b=2")


def test_add_appends_and_is_visible_to_lookups() -> None:
    headers = sample()
    assert headers["accept"] == "*/*"  # builds the index
    headers.add("Set-Cookie", "c=3")
    headers.add("X-New", "1")
    assert headers.get_all("set-cookie") == ["a=1", "b=2", "c=3"]
    assert headers["x-new"] == "1"
    assert headers.raw[-1] == ("X-New", "1")


def test_set_replaces_every_field_of_that_name() -> None:
    headers = sample()
    assert headers["set-cookie"] == "a=1"
    headers.set("SET-COOKIE", "z=9")
    assert headers.get_all("set-cookie") == ["z=9"]
    assert headers.raw == [("Host", "example.com"), ("Accept", "*/*"), ("SET-COOKIE", "z=9")]


def test_remove_drops_every_field_of_that_name_and_tolerates_absent_names() -> None:
    headers = sample()
    assert "set-cookie" in headers
    headers.remove("Set-Cookie")
    assert "set-cookie" not in headers and len(headers) == 2
    headers.remove("x-missing")
    assert len(headers) == 2


def test_empty_headers() -> None:
    headers = Headers()
    assert len(headers) == 0 and list(headers) == [] and headers.raw == []


def test_headers_accepts_any_iterable_of_pairs_and_copies_it() -> None:
    pairs = [("A", "1")]
    headers = Headers(iter(pairs))
    headers.add("B", "2")
    assert pairs == [("A", "1")]


def test_equality_is_mapping_equality_on_first_values() -> None:
    assert Headers([("A", "1")]) == Headers([("a", "1")])
    assert Headers([("A", "1")]) == {"a": "1"}
    assert Headers([("A", "1")]) != Headers([("A", "2")])


def test_repr_shows_raw_pairs() -> None:
    assert repr(Headers([("A", "1")])) == "Headers([('A', '1')])"


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("text/plain", ("text/plain", {})),
        ("Text/HTML; Charset=UTF-8", ("text/html", {"charset": "UTF-8"})),
        ("text/plain;charset=utf-8", ("text/plain", {"charset": "utf-8"})),
        ('text/plain; charset="utf-8"', ("text/plain", {"charset": "utf-8"})),
        ('a/b; q="x;y\\"z"; r=1', ("a/b", {"q": 'x;y"z', "r": "1"})),
        ("a/b; broken; charset=latin-1", ("a/b", {"charset": "latin-1"})),
        ("a/b; charset=x; charset=y", ("a/b", {"charset": "x"})),
        ("a/b; ;; charset=x", ("a/b", {"charset": "x"})),
        ('a/b; q="unterminated', ("a/b", {"q": "unterminated"})),
        ("a/b; =x", ("a/b", {})),
        ("nonsense", ("", {})),
        ("", ("", {})),
    ],
)
def test_parse_media_type_lowercases_type_and_names_and_unquotes_values(
        value: str, parsed: tuple[str, dict[str, str]]) -> None:
    assert parse_media_type(value) == parsed


@pytest.mark.parametrize(("text", "ceiling", "value"), [
    ("0", 10, 0),
    ("7", 10, 7),
    ("0007", 10, 7),
    ("10", 10, 10),
    ("11", 10, 10),
    ("99999999999999999999", 10, 10),
    ("9" * 5000, 10**18, 10**18),
    ("0" * 5000 + "42", 100, 42),
    ("1" + "0" * 18, 10**19, 10**18),
    ("9" * 18, 10**20, 10**18 - 1),  # the longest taken by one int() call
    ("0" * 18 + "5", 10, 5),  # the shortest taken the long way, its zeros stripped first
])
def test_parse_digits_caps_at_the_ceiling(text: str, ceiling: int, value: int) -> None:
    assert parse_digits(text, ceiling) == value


@pytest.mark.parametrize("text", ["", "+1", "-1", " 1", "1 ", "0x1", "1_0", "1.0", "\u00b2", "\uff15", "\u0661"])
def test_parse_digits_refuses_anything_but_ascii_digits(text: str) -> None:
    assert parse_digits(text, 10**18) is None
