"""File name to Content-Type (messages layer).

``mimetypes`` reads the machine's ``/etc/mime.types`` (and the Windows
registry), so the same file could be served as ``text/javascript`` on one
host and ``application/x-javascript`` on another. The types browsers care
about most are therefore fixed here; ``mimetypes`` only answers for the rest.
"""

from __future__ import annotations

import functools
import mimetypes
import os
from typing import Final

OCTET_STREAM: Final = "application/octet-stream"

# Fixed so results never depend on the machine (WHATWG MIME Sniffing and
# the IANA registry; JavaScript is text/javascript per RFC 9239).
WEB_TYPES: Final = {
    ".html": "text/html",
    ".htm": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/vnd.microsoft.icon",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".xml": "application/xml",
    ".wasm": "application/wasm",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".pdf": "application/pdf",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".zip": "application/zip",
    ".gz": "application/gzip",
    ".webmanifest": "application/manifest+json",
}

# Types that are text even though they are not text/*: they get a charset.
_TEXTUAL: Final = frozenset({"application/xml", "image/svg+xml", "application/javascript"})
# Text that says its own encoding, sent without a charset, as nginx sends it: an HTML document
# declares it (<meta charset>, a BOM; a charset in Content-Type would override a legacy page's own),
# and JSON is UTF-8 by definition (RFC 8259 section 11 defines no charset parameter).
_SELF_DESCRIBED: Final = frozenset({"text/html", "application/json", "application/manifest+json"})


def media_type(filename: str) -> str:
    """The Content-Type for ``filename``, with ``; charset=utf-8`` for text (but HTML and JSON:
    ``text/html`` and ``application/json`` exactly, as nginx sends them; see ``_SELF_DESCRIBED``).

    Unknown extensions are ``application/octet-stream``: with
    ``X-Content-Type-Options: nosniff`` a browser then downloads the file
    instead of guessing it is HTML and running its scripts.
    """
    return _for_extension(os.path.splitext(filename)[1].lower())


@functools.lru_cache(maxsize=256)
def _for_extension(extension: str) -> str:
    """Decided once per extension: every static response asks, and the answer does not change."""
    kind = WEB_TYPES.get(extension)
    if kind is None:
        kind = mimetypes.guess_type("x" + extension, strict=False)[0] if extension else None
        if kind is None:
            return OCTET_STREAM
    if kind in _SELF_DESCRIBED:
        return kind
    if kind.startswith("text/") or kind in _TEXTUAL:
        return kind + "; charset=utf-8"
    return kind
