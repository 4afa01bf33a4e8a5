"""Validators, preconditions in RFC 9110 section 13.2.2 order, If-Range and Range parsing."""

from __future__ import annotations

import pytest

from heron.limits import DEFAULT_LIMITS
from heron.protocol.headers import Headers
from heron.web.conditional import (
    Unsatisfiable,
    evaluate_preconditions,
    http_date,
    if_match_passes,
    if_modified_since_passes,
    if_none_match_passes,
    if_range_allows,
    if_unmodified_since_passes,
    make_etag,
    parse_etags,
    parse_http_date,
    parse_range,
    strong_match,
    weak_match,
)

ETAG = '"abc"'
MTIME = 784111777  # Sun, 06 Nov 1994 08:49:37 GMT
DATE = "Sun, 06 Nov 1994 08:49:37 GMT"
EARLIER = "Sun, 06 Nov 1994 08:49:36 GMT"
LATER = "Sun, 06 Nov 1994 08:49:38 GMT"


def preconditions(method: str = "GET", **fields: str) -> int | None:
    headers = Headers([(name.replace("_", "-"), value) for name, value in fields.items()])
    return evaluate_preconditions(method, headers, ETAG, MTIME)


# -- validators ---------------------------------------------------------------------


def test_etag_is_strong_quoted_and_changes_with_each_input() -> None:
    tag = make_etag(10, 1_000, 5)
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")
    assert len({tag, make_etag(11, 1_000, 5), make_etag(10, 1_001, 5), make_etag(10, 1_000, 6)}) == 4
    assert make_etag(10, 1_000, 5) == tag


def test_last_modified_round_trips_through_parse_http_date() -> None:
    assert http_date(MTIME) == DATE
    assert parse_http_date(http_date(MTIME)) == MTIME


@pytest.mark.parametrize("value", [DATE, "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"])
def test_all_three_http_date_forms_are_accepted(value: str) -> None:
    assert parse_http_date(value) == MTIME


@pytest.mark.parametrize("value", ["", "yesterday", "Sun, 06 Nov 1994", "99999999999", "Sun, 32 Nov 1994 08:49:37 GMT"])
def test_invalid_dates_are_none(value: str) -> None:
    assert parse_http_date(value) is None


def test_etag_lists_parse_and_malformed_lists_are_none() -> None:
    assert parse_etags('"a", W/"b" ,"c"') == ['"a"', 'W/"b"', '"c"']
    assert parse_etags(" * ") == ["*"]
    assert parse_etags('"a",') == ['"a"']
    assert parse_etags("abc") is None
    assert parse_etags('"a" "b"') is None


def test_strong_and_weak_comparison_follow_rfc_9110_table() -> None:
    # RFC 9110 section 8.8.3.2
    assert not strong_match('W/"1"', 'W/"1"') and weak_match('W/"1"', 'W/"1"')
    assert not strong_match('W/"1"', 'W/"2"') and not weak_match('W/"1"', 'W/"2"')
    assert not strong_match('W/"1"', '"1"') and weak_match('W/"1"', '"1"')
    assert strong_match('"1"', '"1"') and weak_match('"1"', '"1"')


# -- each precondition on its own -----------------------------------------------------


def test_if_match_uses_strong_comparison() -> None:
    assert if_match_passes(ETAG, ETAG)
    assert if_match_passes('"x", "abc"', ETAG)
    assert if_match_passes("*", ETAG)
    assert not if_match_passes('W/"abc"', ETAG)
    assert not if_match_passes('"x"', ETAG)
    assert not if_match_passes("garbage", ETAG)


def test_if_none_match_uses_weak_comparison() -> None:
    assert not if_none_match_passes(ETAG, ETAG)
    assert not if_none_match_passes('W/"abc"', ETAG)
    assert not if_none_match_passes("*", ETAG)
    assert if_none_match_passes('"x"', ETAG)


def test_date_conditions_compare_whole_seconds_and_ignore_bad_dates() -> None:
    assert if_unmodified_since_passes(DATE, MTIME) and if_unmodified_since_passes(LATER, MTIME)
    assert not if_unmodified_since_passes(EARLIER, MTIME)
    assert if_unmodified_since_passes("not a date", MTIME)
    assert not if_modified_since_passes(DATE, MTIME) and not if_modified_since_passes(LATER, MTIME)
    assert if_modified_since_passes(EARLIER, MTIME)
    assert if_modified_since_passes("not a date", MTIME)


# -- the order of RFC 9110 section 13.2.2 ---------------------------------------------


def test_no_preconditions_go_on() -> None:
    assert preconditions() is None


def test_if_none_match_hit_is_304_for_get_and_head_412_otherwise() -> None:
    assert preconditions(if_none_match=ETAG) == 304
    assert preconditions("HEAD", if_none_match=ETAG) == 304
    assert preconditions("PUT", if_none_match=ETAG) == 412


def test_if_modified_since_only_for_get_and_head() -> None:
    assert preconditions(if_modified_since=DATE) == 304
    assert preconditions(if_modified_since=EARLIER) is None
    assert preconditions("POST", if_modified_since=DATE) is None


def test_if_none_match_miss_overrides_if_modified_since() -> None:
    # Step 3 before step 4: If-Modified-Since is not even looked at.
    assert preconditions(if_none_match='"other"', if_modified_since=DATE) is None


def test_if_match_failure_is_412_before_if_none_match_is_considered() -> None:
    assert preconditions(if_match='"other"', if_none_match=ETAG) == 412


def test_if_match_overrides_if_unmodified_since() -> None:
    # Step 1 passes, so step 2 is skipped even though the date is too early.
    assert preconditions(if_match=ETAG, if_unmodified_since=EARLIER) is None
    assert preconditions(if_unmodified_since=EARLIER) == 412


def test_if_unmodified_since_failure_beats_a_304() -> None:
    assert preconditions(if_unmodified_since=EARLIER, if_none_match=ETAG) == 412


def test_passing_if_match_then_if_none_match_hit_is_304() -> None:
    assert preconditions(if_match=ETAG, if_none_match=ETAG) == 304


def test_repeated_if_none_match_fields_form_one_list() -> None:
    headers = Headers([("If-None-Match", '"x"'), ("If-None-Match", ETAG)])
    assert evaluate_preconditions("GET", headers, ETAG, MTIME) == 304


# -- If-Range ---------------------------------------------------------------------------


def test_if_range_with_etag_needs_a_strong_match() -> None:
    assert if_range_allows(ETAG, ETAG, MTIME)
    assert not if_range_allows('"other"', ETAG, MTIME)
    assert not if_range_allows('W/"abc"', ETAG, MTIME)


def test_if_range_with_date_needs_an_exact_match() -> None:
    assert if_range_allows(DATE, ETAG, MTIME)
    assert not if_range_allows(LATER, ETAG, MTIME)
    assert not if_range_allows(EARLIER, ETAG, MTIME)
    assert not if_range_allows("garbage", ETAG, MTIME)


# -- Range ------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("bytes=0-0", [(0, 0)]),
    ("bytes=0-99", [(0, 99)]),
    ("bytes=10-", [(10, 999)]),
    ("bytes=-100", [(900, 999)]),
    ("bytes=-5000", [(0, 999)]),
    ("bytes=990-5000", [(990, 999)]),
    ("BYTES=1-2", [(1, 2)]),
    ("bytes=0-1, 5-6 ,10-", [(0, 1), (5, 6), (10, 999)]),
    ("bytes=500-599,0-99", [(500, 599), (0, 99)]),  # request order kept
    ("bytes=0-1,2000-3000", [(0, 1)]),  # the unsatisfiable member is dropped
    ("bytes=0-1,", [(0, 1)]),  # RFC 9110 section 5.6.1: empty list members are allowed
])
def test_range_parsing(value: str, expected: list[tuple[int, int]]) -> None:
    assert parse_range(value, 1000) == expected


@pytest.mark.parametrize("value", [
    "bytes=", "bytes=-", "bytes=5-1", "bytes=a-b", "bytes=1-2-3", "bytes 0-1", "items=0-1",
    "bytes=+1-2", "bytes=0x1-2", "bytes= 1 - 2",
])
def test_malformed_or_foreign_ranges_are_ignored(value: str) -> None:
    assert parse_range(value, 1000) is None


@pytest.mark.parametrize("value", ["bytes=1000-", "bytes=5000-6000", "bytes=-0", "bytes=1000-1001,2000-"])
def test_unsatisfiable_ranges_raise(value: str) -> None:
    with pytest.raises(Unsatisfiable):
        parse_range(value, 1000)


def test_overlapping_ranges_are_ignored_to_stop_amplification() -> None:
    assert parse_range("bytes=0-,0-,0-", 1000) is None
    assert parse_range("bytes=0-10,5-20", 1000) is None
    assert parse_range("bytes=0-10,-995", 1000) is None  # the suffix range reaches back to byte 5


def test_more_than_max_ranges_are_ignored() -> None:
    many = ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(DEFAULT_LIMITS.max_ranges + 1))
    assert parse_range("bytes=" + many, 10_000) is None
    few = ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(DEFAULT_LIMITS.max_ranges))
    assert parse_range("bytes=" + few, 10_000) is not None


HUGE = "9" * 5000  # past int()'s 4300-digit limit


@pytest.mark.parametrize(("value", "expected"), [
    (f"bytes=0-{HUGE}", [(0, 999)]),
    (f"bytes=-{HUGE}", [(0, 999)]),
    (f"bytes={'0' * 5000}5-9", [(5, 9)]),
    (f"bytes=0-1,990-{HUGE}", [(0, 1), (990, 999)]),
])
def test_range_numbers_of_any_length_are_read_as_positions(value: str, expected: list[tuple[int, int]]) -> None:
    assert parse_range(value, 1000) == expected


@pytest.mark.parametrize("value", [f"bytes={HUGE}-", f"bytes={HUGE}-{HUGE}1", f"bytes={HUGE}1-{HUGE}"])
def test_range_starting_thousands_of_digits_past_the_end_is_unsatisfiable(value: str) -> None:
    with pytest.raises(Unsatisfiable):
        parse_range(value, 1000)


def test_a_date_of_thousands_of_digits_is_no_date() -> None:
    assert parse_http_date(f"Sun, 06 Nov {HUGE} 08:49:37 GMT") is None
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777
    assert parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777


def test_ranges_on_an_empty_file_are_ignored() -> None:
    assert parse_range("bytes=0-", 0) is None
