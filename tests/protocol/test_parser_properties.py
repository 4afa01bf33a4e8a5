"""Property tests for RequestParser (hypothesis).

(a) How bytes are cut into reads never changes what the parser sees.
(b) No input, however broken, makes the parser raise anything but
    ProtocolError with one of the statuses it is documented to use.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from heron.errors import ProtocolError
from heron.limits import DEFAULT_LIMITS, Limits
from heron.protocol.events import NEED_DATA, Data, EndOfMessage, RequestHead
from heron.protocol.parser import RequestParser

from .helpers import PARSER_STATUSES, Event, feed_pieces, merge_data
from .strategies import Spec, mutated, property_settings, requests, splits

PROPERTY_SETTINGS = property_settings(150)

pipelines = st.lists(requests(), min_size=1, max_size=4)
# Small enough that generated requests sometimes hit them, exactly or by a byte.
tight_limits = st.builds(
    lambda line, head, count, body, chunk: Limits().replace(
        max_request_line=line, max_header_bytes=head, max_header_count=count, max_body_bytes=body, max_chunk_line=chunk
    ),
    st.integers(10, 60), st.integers(10, 200), st.integers(1, 8), st.integers(1, 80), st.integers(1, 20),
)


def outcome(pieces: list[bytes], limits: Limits = DEFAULT_LIMITS) -> tuple[list[Event], int | None]:
    """(events with Data merged, status of the error or None) for ``pieces`` fed in order."""
    parser = RequestParser(limits)
    events: list[Event] = []
    try:
        for piece in pieces:
            parser.feed(piece)
            while (event := parser.next_event()) is not NEED_DATA:
                assert isinstance(event, (RequestHead, Data, EndOfMessage))
                events.append(event)
    except ProtocolError as exc:
        return merge_data(events), exc.status
    return merge_data(events), None


@PROPERTY_SETTINGS
@given(st.data(), pipelines)
def test_valid_stream_gives_the_same_events_however_it_is_split(data: st.DataObject, specs: list[Spec]) -> None:
    stream = b"".join(s.raw for s in specs)
    whole = feed_pieces([stream])
    pieces = data.draw(splits(stream))
    assert feed_pieces(pieces) == whole
    # ... and the events are the requests that were meant.
    heads = [e for e in whole if isinstance(e, RequestHead)]
    assert [(h.method, h.target, h.http_version) for h in heads] == [(s.method, s.target, s.version) for s in specs]
    assert [tuple(h.headers) for h in heads] == [s.passed_on for s in specs]
    ends = [e for e in whole if isinstance(e, EndOfMessage)]
    assert [e.trailers for e in ends] == [s.trailers for s in specs]
    bodies: list[bytes] = []
    for event in whole:
        if isinstance(event, RequestHead):
            bodies.append(b"")
        elif isinstance(event, Data):
            bodies[-1] += event.data
    assert bodies == [s.body for s in specs]


@PROPERTY_SETTINGS
@given(st.data(), pipelines, tight_limits)
def test_split_never_changes_the_outcome_at_tight_limits(data: st.DataObject, specs: list[Spec], limits: Limits) -> None:
    """Near a limit, a read boundary must not turn an accepted request into a rejected one, or back."""
    stream = b"".join(s.raw for s in specs)
    assert outcome(data.draw(splits(stream)), limits) == outcome([stream], limits)


def assert_only_protocol_errors(pieces: list[bytes], limits: Limits = DEFAULT_LIMITS) -> None:
    events, status = outcome(pieces, limits)
    assert status is None or status in PARSER_STATUSES
    for event in events:
        assert isinstance(event, (RequestHead, Data, EndOfMessage))


@PROPERTY_SETTINGS
@given(st.data(), st.binary(max_size=300))
def test_random_bytes_raise_nothing_but_protocol_error(data: st.DataObject, junk: bytes) -> None:
    assert_only_protocol_errors(data.draw(splits(junk)))


@PROPERTY_SETTINGS
@given(st.data(), st.binary(max_size=200))
def test_random_bytes_after_a_valid_head_raise_nothing_but_protocol_error(data: st.DataObject, junk: bytes) -> None:
    prefix = data.draw(st.sampled_from([
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    ]))
    assert_only_protocol_errors(data.draw(splits(prefix + junk)))


@PROPERTY_SETTINGS
@given(st.data(), pipelines)
def test_mutated_requests_raise_nothing_but_protocol_error(data: st.DataObject, specs: list[Spec]) -> None:
    stream = data.draw(mutated(b"".join(s.raw for s in specs)))
    assert_only_protocol_errors(data.draw(splits(stream)))


@PROPERTY_SETTINGS
@given(st.data(), pipelines, tight_limits)
def test_mutated_requests_at_tight_limits_raise_nothing_but_protocol_error(
    data: st.DataObject, specs: list[Spec], limits: Limits
) -> None:
    stream = data.draw(mutated(b"".join(s.raw for s in specs)))
    assert_only_protocol_errors(data.draw(splits(stream)), limits)


@PROPERTY_SETTINGS
@given(st.data(), pipelines)
def test_a_stream_is_rejected_whole_exactly_when_it_is_rejected_in_pieces(
    data: st.DataObject, specs: list[Spec]
) -> None:
    """Whether a stream is refused never depends on how it was cut into reads.

    The status may differ when a stream breaks two rules at once (a long
    request line with a bare LF in it is 414 or 400 depending on which the
    parser sees first), so only the verdict and the events before it are
    compared.
    """
    stream = data.draw(mutated(b"".join(s.raw for s in specs)))
    whole_events, whole_status = outcome([stream])
    piece_events, piece_status = outcome(data.draw(splits(stream)))
    assert (whole_status is None) == (piece_status is None)
    assert whole_events == piece_events
