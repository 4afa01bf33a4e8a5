"""The urlencoded format (query strings and form bodies) and MultiDict."""

from __future__ import annotations

import pytest

from heron.messages.query import MultiDict, FormTooLarge, parse_urlencoded


@pytest.mark.parametrize(
    ("data", "pairs"),
    [
        ("", []),
        ("a=1", [("a", "1")]),
        ("a=1&b=2&a=3", [("a", "1"), ("b", "2"), ("a", "3")]),
        ("a", [("a", "")]),
        ("a=", [("a", "")]),
        ("=v", [("", "v")]),
        ("&&a=1&&", [("a", "1")]),
        ("a=1;b=2", [("a", "1;b=2")]),
        ("a+b=c+d", [("a b", "c d")]),
        ("a%2Bb=%26%3D", [("a+b", "&=")]),
        ("q=caf%C3%A9", [("q", "café")]),
        ("q=%FF", [("q", "\ufffd")]),
        ("q=%zz%4", [("q", "%zz%4")]),
        ("a=b=c", [("a", "b=c")]),
    ],
)
def test_urlencoded_is_parsed_like_a_browser_does(data: str, pairs: list[tuple[str, str]]) -> None:
    assert parse_urlencoded(data).multi_items() == pairs
    assert parse_urlencoded(data.encode()).multi_items() == pairs


def test_raw_utf8_bytes_in_a_body_are_decoded() -> None:
    assert parse_urlencoded("q=café".encode()).multi_items() == [("q", "café")]


def test_field_limit_counts_empty_fields_too() -> None:
    assert len(parse_urlencoded("a=1&" * 9 + "a=1", max_fields=10).get_all("a")) == 10
    with pytest.raises(FormTooLarge):
        parse_urlencoded("a=1&" * 10 + "a=1", max_fields=10)
    with pytest.raises(FormTooLarge):
        parse_urlencoded("&" * 10, max_fields=10)


def test_field_size_limit_counts_decoded_name_and_value() -> None:
    """Escapes are counted as the bytes they decode to: ``%41`` is one byte held, not three."""
    assert parse_urlencoded("ab=" + "%41" * 8, max_field_bytes=10)["ab"] == "A" * 8
    with pytest.raises(FormTooLarge):
        parse_urlencoded("ab=" + "%41" * 9, max_field_bytes=10)
    with pytest.raises(FormTooLarge):
        parse_urlencoded("x=1&" + "n" * 11, max_field_bytes=10)  # a name alone counts too


def test_multidict_get_gives_the_first_value_and_get_all_every_value() -> None:
    md = MultiDict([("tag", "a"), ("page", "2"), ("tag", "b")])
    assert md["tag"] == "a"
    assert md.get("tag") == "a"
    assert md.get("missing") is None
    assert md.get("missing", "1") == "1"
    assert md.get_all("tag") == ["a", "b"]
    assert md.getlist("tag") == ["a", "b"]
    assert md.get_all("missing") == []


def test_multidict_is_a_mapping_of_first_values() -> None:
    md = MultiDict([("tag", "a"), ("page", "2"), ("tag", "b")])
    assert list(md) == ["tag", "page"]
    assert len(md) == 2
    assert dict(md) == {"tag": "a", "page": "2"}
    assert list(md.items()) == [("tag", "a"), ("page", "2")]
    assert md.multi_items() == [("tag", "a"), ("page", "2"), ("tag", "b")]
    assert "page" in md and "Page" not in md
    with pytest.raises(KeyError):
        md["nope"]


def test_multidict_cannot_be_changed_through_get_all() -> None:
    md = MultiDict([("a", "1")])
    md.get_all("a").append("2")
    md.multi_items().append(("b", "3"))
    assert md.multi_items() == [("a", "1")]
