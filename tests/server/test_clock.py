"""The Date header cache."""

from __future__ import annotations

import email.utils
import time

from heron.server.clock import http_date_clock


def test_date_is_the_current_imf_fixdate() -> None:
    before = int(time.time())
    value = http_date_clock().now()
    after = int(time.time())
    parsed = email.utils.parsedate_to_datetime(value).timestamp()
    assert before <= parsed <= after
    assert value.endswith(" GMT")


def test_date_is_formatted_once_per_second() -> None:
    cache = http_date_clock()
    for _ in range(5):  # retry if a second boundary falls between the calls
        second = int(time.time())
        first, again = cache.now(), cache.now()
        if int(time.time()) == second:
            assert again is first  # the cached string itself, not a new one
            return
    raise AssertionError("could not make two calls within one second")
