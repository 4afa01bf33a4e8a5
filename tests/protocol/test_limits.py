"""Limits: every cap is positive, typed, and documented."""

from __future__ import annotations

import dataclasses
import math

import pytest

from heron.limits import DEFAULT_LIMITS, Limits, describe

FIELDS = [f.name for f in dataclasses.fields(Limits)]
INT_FIELDS = [f.name for f in dataclasses.fields(Limits) if f.type == "int"]
FLOAT_FIELDS = [f.name for f in dataclasses.fields(Limits) if f.type == "float"]


def test_defaults_are_valid_and_shared() -> None:
    assert Limits() == DEFAULT_LIMITS
    assert INT_FIELDS and FLOAT_FIELDS and len(INT_FIELDS) + len(FLOAT_FIELDS) == len(FIELDS)


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize("value", [0, -1, 0.0, -0.5, True, False, None, "10", math.nan, math.inf, -math.inf])
def test_zero_negative_bool_and_non_numbers_are_rejected(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=name):
        Limits(**{name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("name", INT_FIELDS)
def test_byte_and_count_caps_must_be_integers(name: str) -> None:
    # The parser uses them as buffer indices; 1024.0 would raise TypeError mid-request.
    with pytest.raises(ValueError, match=name):
        Limits(**{name: 1024.0})  # type: ignore[arg-type]


@pytest.mark.parametrize("name", FLOAT_FIELDS)
def test_timeouts_accept_ints_and_floats(name: str) -> None:
    assert getattr(Limits(**{name: 2}), name) == 2  # type: ignore[arg-type]
    assert getattr(Limits(**{name: 0.25}), name) == 0.25  # type: ignore[arg-type]


def test_replace_changes_only_the_named_fields() -> None:
    limits = Limits().replace(max_request_line=10, header_timeout=1.5)
    assert limits.max_request_line == 10 and limits.header_timeout == 1.5
    assert limits.max_body_bytes == DEFAULT_LIMITS.max_body_bytes
    assert DEFAULT_LIMITS.max_request_line == 8190  # the original is untouched


@pytest.mark.parametrize("change", [{"max_request_line": 0}, {"header_timeout": -1}, {"max_body_bytes": True}])
def test_replace_validates(change: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Limits().replace(**change)


def test_replace_rejects_unknown_fields() -> None:
    with pytest.raises(TypeError):
        Limits().replace(max_everything=1)


def test_limits_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_LIMITS.max_request_line = 1  # type: ignore[misc]


def test_describe_covers_every_field_in_order_with_unit_status_and_reason() -> None:
    rows = describe()
    assert [row[0] for row in rows] == FIELDS
    for name, default, unit, on_exceed, why in rows:
        assert default == getattr(DEFAULT_LIMITS, name)
        assert unit and on_exceed and len(why) > 20


def test_describe_states_the_status_the_parser_uses() -> None:
    statuses = {name: on_exceed for name, _, _, on_exceed, _ in describe()}
    assert statuses["max_request_line"].startswith("414")
    assert statuses["max_header_bytes"].startswith("431")
    assert statuses["max_header_count"].startswith("431")
    assert statuses["max_body_bytes"].startswith("413")
    assert statuses["max_chunk_line"].startswith("400")
