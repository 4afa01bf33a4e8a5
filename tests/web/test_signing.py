"""Signer: JSON in, a cookie-safe signed string out, and back only if nothing about it changed."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heron.web.signing import BadSignature, Signer

KEY = "k" * 32
COOKIE_OCTETS = re.compile(r'[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*')


def test_a_value_comes_back_as_it_was_signed() -> None:
    signer = Signer(KEY)
    value = {"user": "ada", "roles": ["admin"], "n": 3, "name": "Zoë \u2603", "none": None}
    signed = signer.sign(value)
    assert COOKIE_OCTETS.fullmatch(signed)
    assert signer.unsign(signed) == value


def test_any_change_to_the_string_is_refused() -> None:
    signer = Signer(KEY)
    signed = signer.sign({"user": "ada"})
    for at in range(len(signed)):
        for replacement in {"A", "_", ".", "0"} - {signed[at]}:
            tampered = signed[:at] + replacement + signed[at + 1:]
            with pytest.raises(BadSignature):
                signer.unsign(tampered)


def test_a_payload_signed_by_another_key_or_purpose_is_refused() -> None:
    signed = Signer(KEY).sign("x")
    with pytest.raises(BadSignature):
        Signer("o" * 32).unsign(signed)
    with pytest.raises(BadSignature):
        Signer(KEY, salt="email-confirmation").unsign(signed)


def test_fallback_keys_verify_while_the_new_key_signs() -> None:
    old, new = Signer("old-key-" * 4), Signer("new-key-" * 4, fallback_keys=["old-key-" * 4])
    assert new.unsign(old.sign({"a": 1})) == {"a": 1}
    assert Signer("new-key-" * 4).unsign(new.sign("x")) == "x"  # signs with the first key
    with pytest.raises(BadSignature):
        Signer("new-key-" * 4).unsign(old.sign({"a": 1}))  # once the old key is dropped


def test_max_age_and_timestamps_from_the_future() -> None:
    signer = Signer(KEY)
    signed = signer.sign("x", now=1_000_000)
    assert signer.unsign(signed, max_age=100, now=1_000_100) == "x"
    with pytest.raises(BadSignature, match="expired"):
        signer.unsign(signed, max_age=100, now=1_000_101)
    with pytest.raises(BadSignature):
        signer.unsign(signed, now=1_000_000 - 61)


@pytest.mark.parametrize("junk", ["", ".", "..", "a.b.c", "a.1.", "é.1.abc", "x" * 10_000, "a.-1.abc", "a.1e3.abc"])
def test_junk_is_a_bad_signature_never_another_error(junk: str) -> None:
    with pytest.raises(BadSignature):
        Signer(KEY).unsign(junk)


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        Signer("short")
    with pytest.raises(ValueError):
        Signer(KEY, fallback_keys=["short"])


@given(st.text(max_size=300))
def test_whatever_a_client_makes_up_is_a_bad_signature(text: str) -> None:
    with pytest.raises(BadSignature):
        Signer(KEY).unsign(text)
