"""Cookie header parsing (tolerant) and Set-Cookie serialising (strict), RFC 6265."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from heron.messages.cookies import delete_cookie_header, parse_cookie_header, set_cookie_header

# -- parsing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "cookies"),
    [
        ([], {}),
        ([""], {}),
        (["a=1"], {"a": "1"}),
        (["a=1; b=2"], {"a": "1", "b": "2"}),
        (["a=1;b=2"], {"a": "1", "b": "2"}),
        (["  a = 1 ;\tb=2  "], {"a": "1", "b": "2"}),
        (["a="], {"a": ""}),
        (["a=x=y"], {"a": "x=y"}),
        (['a="quoted"'], {"a": "quoted"}),
        (['a="'], {"a": '"'}),
        (["a=%41"], {"a": "%41"}),
    ],
)
def test_cookie_header_is_parsed_into_names_and_values(headers: list[str], cookies: dict[str, str]) -> None:
    assert parse_cookie_header(headers) == cookies


def test_bad_pairs_are_skipped_and_the_rest_kept() -> None:
    assert parse_cookie_header(["novalue; =nameless; a=1;; ;b=2"]) == {"a": "1", "b": "2"}


def test_first_value_of_a_repeated_name_wins() -> None:
    # RFC 6265 section 5.4: the cookie with the longer (more specific) path comes first.
    assert parse_cookie_header(["sid=specific; sid=general"]) == {"sid": "specific"}


def test_every_cookie_header_is_read() -> None:
    assert parse_cookie_header(["a=1", "b=2; a=3"]) == {"a": "1", "b": "2"}


def test_names_are_case_sensitive() -> None:
    assert parse_cookie_header(["A=1; a=2"]) == {"A": "1", "a": "2"}


# -- serialising ----------------------------------------------------------------------


def test_defaults_are_path_root_httponly_and_samesite_lax() -> None:
    assert set_cookie_header("sid", "abc") == "sid=abc; Path=/; HttpOnly; SameSite=Lax"


def test_every_attribute_in_order() -> None:
    header = set_cookie_header(
        "sid", "abc", max_age=60, expires=784111777, path="/app", domain="example.com", secure=True,
        httponly=True, samesite="strict", partitioned=True)
    assert header == ("sid=abc; Max-Age=60; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Domain=example.com; "
                      "Path=/app; Secure; HttpOnly; SameSite=Strict; Partitioned")


def test_expires_datetime_is_formatted_as_imf_fixdate_in_gmt() -> None:
    paris = timezone(timedelta(hours=1))
    when = datetime(1994, 11, 6, 9, 49, 37, tzinfo=paris)
    assert "Expires=Sun, 06 Nov 1994 08:49:37 GMT" in set_cookie_header("a", "b", expires=when)


def test_naive_expires_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        set_cookie_header("a", "b", expires=datetime(2030, 1, 1))


def test_expires_out_of_range_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="out of range"):
        set_cookie_header("a", "b", expires=1e30)


def test_path_none_and_samesite_none_leave_the_attributes_out() -> None:
    assert set_cookie_header("a", "b", path=None, samesite=None, httponly=False) == "a=b"


def test_samesite_is_case_insensitive() -> None:
    assert set_cookie_header("a", "b", samesite="STRICT").endswith("SameSite=Strict")


@pytest.mark.parametrize("name", ["", "a b", "a;b", "a=b", "a,b", 'a"b', "a\r\nb", "é", "a\x00", "(a)"])
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="cookie name"):
        set_cookie_header(name, "v")


@pytest.mark.parametrize("value", ["a b", "a;b", "a,b", 'a"b', "a\\b", "a\r\nSet-Cookie: x=1", "é", "\x7f", "\t"])
def test_invalid_values_are_refused_not_quoted(value: str) -> None:
    with pytest.raises(ValueError, match="invalid value"):
        set_cookie_header("a", value)


def test_every_cookie_octet_is_accepted() -> None:
    octets = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '",;\\')
    assert set_cookie_header("a", octets, samesite=None, httponly=False) == f"a={octets}; Path=/"


@pytest.mark.parametrize("field", ["path", "domain"])
@pytest.mark.parametrize("value", ["/a;b", "/a\r\nX: y", "/a\x00"])
def test_path_and_domain_with_semicolon_or_controls_are_refused(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        set_cookie_header("a", "b", **{field: value})  # type: ignore[arg-type]


def test_samesite_none_requires_secure() -> None:
    with pytest.raises(ValueError, match="requires secure"):
        set_cookie_header("a", "b", samesite="none")
    assert set_cookie_header("a", "b", samesite="none", secure=True).endswith("Secure; HttpOnly; SameSite=None")


def test_partitioned_requires_secure() -> None:
    with pytest.raises(ValueError, match="requires secure"):
        set_cookie_header("a", "b", partitioned=True)


def test_unknown_samesite_is_refused() -> None:
    with pytest.raises(ValueError, match="samesite"):
        set_cookie_header("a", "b", samesite="sometimes")


@pytest.mark.parametrize("max_age", [1.5, "60", True])
def test_max_age_must_be_an_int(max_age: object) -> None:
    with pytest.raises(ValueError, match="max_age"):
        set_cookie_header("a", "b", max_age=max_age)  # type: ignore[arg-type]


def test_secure_prefix_requires_secure() -> None:
    with pytest.raises(ValueError, match="__Secure-"):
        set_cookie_header("__Secure-id", "1")
    assert set_cookie_header("__Secure-id", "1", secure=True).startswith("__Secure-id=1")


@pytest.mark.parametrize(
    "kwargs", [{}, {"secure": True, "path": "/app"}, {"secure": True, "domain": "example.com"}])
def test_host_prefix_requires_secure_root_path_and_no_domain(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="__Host-"):
        set_cookie_header("__Host-id", "1", **kwargs)  # type: ignore[arg-type]


def test_host_prefix_accepted_when_its_rules_hold() -> None:
    assert set_cookie_header("__Host-id", "1", secure=True) == "__Host-id=1; Path=/; Secure; HttpOnly; SameSite=Lax"


def test_delete_cookie_sends_an_empty_value_that_has_already_expired() -> None:
    assert delete_cookie_header("sid", path="/app", domain="example.com") == (
        "sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Domain=example.com; Path=/app; HttpOnly; "
        "SameSite=Lax")


def test_set_cookie_output_reads_back_through_the_parser() -> None:
    value = "dGhpcyBpcyBhIHRlc3Q-_~!#$%&'()*+./:<=>?@[]^`{|}"
    header = set_cookie_header("tok", value)
    name_value = header.split("; ")[0]
    assert parse_cookie_header([name_value]) == {"tok": value}
