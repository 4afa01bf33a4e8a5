"""Turning a URL path into a file inside a root directory, safely (web layer).

Two steps, in this order, like werkzeug's ``safe_join``:

1. ``url_segments`` checks the *raw* (still percent-encoded) path before
   any file system call. Each segment is decoded on its own, so an encoded
   slash (``%2f``) can never become a separator, and a segment that decodes
   to ``.`` or ``..``, holds a backslash, a NUL or another control
   character, a drive letter (``C:``), or is not valid UTF-8 is refused.
   Hidden names (``.git``, ``.env``) are refused too, except
   ``.well-known`` (RFC 8615), which exists to be served.
2. ``resolve_inside`` joins the segments to the root, resolves symlinks
   with ``os.path.realpath`` and checks the result is still inside the
   root with ``os.path.commonpath`` (a ``startswith`` test would let
   ``/srv/www-private`` pass for root ``/srv/www``). Unless symlinks are
   followed, any symlink on the way is refused, even one pointing inside.

Refusals are ``None``; the caller answers 404 for all of them, so a
client cannot tell "forbidden" from "absent" (no 403 that confirms a
``.git`` directory exists).
"""

from __future__ import annotations

import ntpath
import os
import re
from typing import Final
from urllib.parse import unquote_to_bytes

ALLOWED_HIDDEN: Final = frozenset({".well-known"})
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


def url_segments(raw_path: str) -> list[str] | None:
    """The decoded segments of a raw URL path, or None if any is unsafe.

    Empty segments (``a//b``, a leading or trailing slash) are dropped.
    """
    segments: list[str] = []
    for raw in raw_path.split("/"):
        if not raw:
            continue
        segment = decode_segment(raw)
        if segment is None or not is_safe_segment(segment):
            return None
        segments.append(segment)
    return segments


def decode_segment(raw: str) -> str | None:
    """Percent-decode one segment as strict UTF-8; None if it is not valid."""
    if "%" not in raw:
        return raw
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return None


def is_safe_segment(segment: str) -> bool:
    """May this decoded segment name a file or directory under the root?"""
    if segment in (".", ".."):
        return False
    if "/" in segment or "\\" in segment or _CONTROL.search(segment):
        return False
    if ntpath.splitdrive(segment)[0]:
        return False  # C:, C:foo: a drive letter, whatever the host system
    if os.name == "nt" and ":" in segment:
        return False  # NTFS alternate data streams (file.txt::$DATA)
    if segment.startswith(".") and segment not in ALLOWED_HIDDEN:
        return False
    return True


def is_inside(root: str, path: str) -> bool:
    """Is ``path`` the real directory ``root`` or below it? Both must be absolute."""
    try:
        return os.path.commonpath([root, path]) == root
    except ValueError:  # different drives on Windows
        return False


def resolve_inside(root: str, segments: list[str], follow_symlinks: bool) -> str | None:
    """The real path for ``segments`` under ``root`` (itself a real path), or None.

    The path need not exist. With ``follow_symlinks`` False, a symlink
    anywhere below the root makes the real path differ from the joined one
    and the path is refused; with True, symlinks are followed but must
    still end inside the root.
    """
    joined = os.path.join(root, *segments)
    real = os.path.realpath(joined)
    if not is_inside(root, real):
        return None
    if not follow_symlinks and real != os.path.normpath(joined):
        return None
    return real
