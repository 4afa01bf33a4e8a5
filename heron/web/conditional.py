"""Validators, conditional requests and byte ranges (web layer, no I/O).

Everything here works on plain values (header strings, sizes, times) so it
can be tested without a file or a socket:

- ``make_etag`` / ``http_date`` make the validators a file response carries
  (RFC 9110 section 8.8);
- ``evaluate_preconditions`` checks If-Match, If-Unmodified-Since,
  If-None-Match and If-Modified-Since in the order RFC 9110 section 13.2.2
  gives, each in its own small function, and says 304, 412 or go on;
- ``if_range_allows`` and ``parse_range`` decide whether and which byte
  ranges to send (RFC 9110 sections 13.1.5 and 14).
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Sequence
from email.utils import parsedate_to_datetime
from typing import Final

from heron.protocol.headers import Headers, parse_digits, split_comma_list
from heron.limits import DEFAULT_LIMITS
from heron.protocol.writer import format_http_date

# RFC 9110 section 8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE
_ETAG: Final = re.compile(r'\s*((?:W/)?"[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')
_RANGE_SPEC: Final = re.compile(r"([0-9]*)-([0-9]*)")
_MAX_DATE: Final = 64
"""Longest HTTP-date read: the longest valid form (RFC 850, ``Wednesday, 09-Nov-94 08:49:37 GMT``) has 33
characters; anything much longer is not a date, and is not handed to a parser that would convert its digits."""


def make_etag(size: int, mtime_ns: int, inode: int) -> str:
    """A strong entity-tag for a file: changes whenever size, mtime or inode does.

    Hashed so the tag reveals nothing about the file system (inode numbers).
    Strong (no ``W/``) because the bytes served for one (size, mtime,
    inode) are the bytes on disk: byte ranges may be combined across requests.
    """
    digest = hashlib.blake2b(b"%d-%d-%d" % (size, mtime_ns, inode), digest_size=12).hexdigest()
    return f'"{digest}"'


def http_date(epoch_seconds: float) -> str:
    """Last-Modified value for a modification time (IMF-fixdate, whole seconds)."""
    return format_http_date(epoch_seconds)


def parse_http_date(value: str) -> int | None:
    """Seconds since the epoch for an HTTP-date (RFC 9110 section 5.6.7), or None.

    Accepts IMF-fixdate and the two obsolete forms (RFC 850, asctime), as
    the RFC requires of recipients; anything else is None so the header
    holding it is ignored.
    """
    value = value.strip()
    if len(value) > _MAX_DATE:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # asctime carries no zone (a naive datetime): HTTP dates are always GMT,
    # and utctimetuple() leaves a naive datetime as it is.
    return calendar.timegm(moment.utctimetuple())


def parse_etags(value: str) -> list[str] | None:
    """The entity-tags of an If-Match / If-None-Match value; ["*"] for ``*``.

    None when the value is malformed: RFC 9110 gives no meaning to a
    broken list, so the caller treats the condition as false (If-Match) or
    ignores it, erring toward sending a full response.
    """
    value = value.strip()
    if value == "*":
        return ["*"]
    tags: list[str] = []
    pos = 0
    while pos < len(value):
        match = _ETAG.match(value, pos)
        if match is None:
            if value[pos:].strip(" \t,") == "":
                break
            return None
        tags.append(match.group(1))
        pos = match.end()
    return tags


def strong_match(a: str, b: str) -> bool:
    """RFC 9110 section 8.8.3.2: both strong and identical."""
    return a == b and not a.startswith("W/")


def weak_match(a: str, b: str) -> bool:
    """RFC 9110 section 8.8.3.2: identical once any ``W/`` is taken off."""
    return a.removeprefix("W/") == b.removeprefix("W/")


# -- preconditions (RFC 9110 section 13.1), each one small function -----------


def if_match_passes(value: str, etag: str | None) -> bool:
    """Section 13.1.1: true for ``*`` or a tag that matches ``etag`` strongly (none does when there is no tag)."""
    tags = parse_etags(value)
    if tags is None:
        return False
    return tags == ["*"] or (etag is not None and any(strong_match(tag, etag) for tag in tags))


def if_unmodified_since_passes(value: str, last_modified: int | None) -> bool:
    """Section 13.1.4: true unless modified after the date; ignored for an invalid date or an unknown time."""
    date = parse_http_date(value)
    return date is None or last_modified is None or last_modified <= date


def if_none_match_passes(value: str, etag: str | None) -> bool:
    """Section 13.1.2: false for ``*`` or a tag that matches ``etag`` weakly (none does when there is no tag)."""
    tags = parse_etags(value)
    if tags is None:
        return True
    return not (tags == ["*"] or (etag is not None and any(weak_match(tag, etag) for tag in tags)))


def if_modified_since_passes(value: str, last_modified: int | None) -> bool:
    """Section 13.1.3: true if modified after the date; ignored for an invalid date or an unknown time."""
    date = parse_http_date(value)
    return date is None or last_modified is None or last_modified > date


def evaluate_preconditions(method: str, headers: Headers, etag: str | None, last_modified: int | None) -> int | None:
    """304, 412 or None (go on) for a request on an existing resource.

    RFC 9110 section 13.2.2, in its order: If-Match, else
    If-Unmodified-Since; then If-None-Match, else If-Modified-Since (GET
    and HEAD only). ``last_modified`` is in whole seconds, as sent in the
    Last-Modified field, so a date copied back from it compares equal.
    A resource may lack either validator (None): a tag then matches only
    ``*``, and the date conditions are ignored (sections 13.1.3 and 13.1.4).
    If-Range is evaluated later, by ``if_range_allows``, when there is a Range.
    """
    if "if-match" in headers:
        if not if_match_passes(", ".join(headers.get_all("if-match")), etag):
            return 412
    elif "if-unmodified-since" in headers:
        if not if_unmodified_since_passes(headers["if-unmodified-since"], last_modified):
            return 412
    safe = method in ("GET", "HEAD")
    if "if-none-match" in headers:
        if not if_none_match_passes(", ".join(headers.get_all("if-none-match")), etag):
            return 304 if safe else 412
    elif safe and "if-modified-since" in headers:
        if not if_modified_since_passes(headers["if-modified-since"], last_modified):
            return 304
    return None


def if_range_allows(value: str, etag: str, last_modified: int) -> bool:
    """Section 13.1.5: may the Range be honoured? False means send the whole file.

    An entity-tag must match strongly (a weak tag never does); a date must
    equal Last-Modified exactly. Anything else is a mismatch.
    """
    value = value.strip()
    if value.startswith(('"', "W/")):
        return strong_match(value, etag)
    date = parse_http_date(value)
    return date is not None and date == last_modified


# -- byte ranges (RFC 9110 section 14) -----------------------------------------


class Unsatisfiable(Exception):
    """No range of the request overlaps the file: answer 416 (section 15.5.17)."""


def parse_range(value: str, size: int, max_ranges: int = DEFAULT_LIMITS.max_ranges) -> list[tuple[int, int]] | None:
    """The ranges to send as (first, last) inclusive offsets, in request order.

    None means "ignore the Range field and send the whole file": the value
    is malformed or uses another unit (section 14.2 lets a server ignore
    it), the file is empty, there are more than ``max_ranges`` ranges, or
    the satisfiable ones overlap (section 14.2 allows refusing overlapping
    ranges; sending the file once bounds the response to its size).
    Raises ``Unsatisfiable`` when every range starts past the end.
    """
    unit, sep, specs = value.partition("=")
    if not sep or unit.strip(" \t").lower() != "bytes":
        return None
    members = split_comma_list(specs)
    if not members or len(members) > max_ranges or size <= 0:
        return None
    ranges: list[tuple[int, int]] = []
    for member in members:
        match = _RANGE_SPEC.fullmatch(member)
        if match is None:
            return None
        first_text, last_text = match.groups()
        # Numbers past the end of the file mean the same at any length: capped at ``size``.
        if first_text:
            first = _offset(first_text, size)
            last = _offset(last_text, size) if last_text else size - 1
            if last_text and last < first:
                return None  # section 14.1.1: an invalid range-spec makes the whole field invalid
            if first < size:
                ranges.append((first, min(last, size - 1)))
        elif last_text:
            suffix = _offset(last_text, size)
            if suffix > 0:
                ranges.append((max(0, size - suffix), size - 1))
        else:
            return None  # "-" alone
    if not ranges:
        raise Unsatisfiable(f"bytes */{size}")
    if _overlap(ranges):
        return None
    return ranges


def _offset(digits: str, size: int) -> int:
    """A byte position of a range-spec (``1*DIGIT``, which the pattern checked), at most ``size``."""
    value = parse_digits(digits, size)
    assert value is not None, "the range-spec pattern lets only ASCII digits through"
    return value


def _overlap(ranges: Sequence[tuple[int, int]]) -> bool:
    ordered = sorted(ranges)
    return any(b[0] <= a[1] for a, b in zip(ordered, ordered[1:]))


def content_range(first: int, last: int, size: int) -> str:
    """The Content-Range value of one part (section 14.4)."""
    return f"bytes {first}-{last}/{size}"
