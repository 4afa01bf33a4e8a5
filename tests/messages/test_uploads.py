"""safe_filename: whatever name a client sends, one harmless path component comes out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heron.messages.uploads import safe_filename


@pytest.mark.parametrize("raw, safe", [
    ("photo.jpg", "photo.jpg"),
    ("résumé.pdf", "résumé.pdf"),
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\win.ini", "win.ini"),
    ("C:\\Users\\ada\\Desktop\\notes.txt", "notes.txt"),
    ("/abs/path/x.png", "x.png"),
    (".bashrc", "bashrc"),
    ("..", "upload"),
    ("...", "upload"),
    ("dir/", "upload"),
    ("a\x00b\x1fc\x7fd.txt", "abcd.txt"),
    ('in<va>l:i"d|na?me*.txt', "invalidname.txt"),
    ("trailing. . ", "trailing"),
    ("CON", "_CON"),
    ("nul.txt", "_nul.txt"),
    ("com1.log", "_com1.log"),
    ("console.txt", "console.txt"),
    ("e\u0301.txt", "\u00e9.txt"),  # NFC
    ("", ""),
])
def test_safe_filename(raw: str, safe: str) -> None:
    assert safe_filename(raw) == safe


def test_a_long_name_is_cut_to_255_bytes_keeping_its_extension() -> None:
    name = safe_filename("é" * 300 + ".tar.gz")
    assert name.endswith(".gz") and len(name.encode()) <= 255
    assert safe_filename("x" * 300) == "x" * 255


@given(st.text(max_size=400))
def test_any_name_becomes_one_component_with_no_traversal(raw: str) -> None:
    name = safe_filename(raw)
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert not name.startswith(".") and name not in (".", "..")
    assert len(name.encode()) <= 255
    assert (name == "") == (raw == "")
