"""Serving a directory of files: ``StaticFiles`` (web layer).

One request goes through these steps, each in its own function:

1. the raw URL path is checked segment by segment before any file system
   call (``heron.web.safepath``); anything suspicious is a 404;
2. the path is resolved inside the root, symlinks checked; a directory
   answers with its ``index.html`` (a 308 to the slash form first);
3. a precompressed sibling (``app.js.br``, ``app.js.gz``) is chosen if
   the client's Accept-Encoding allows it;
4. preconditions are evaluated (``heron.web.conditional``, RFC 9110
   section 13.2.2): 304 or 412;
5. a Range is honoured (206, multipart/byteranges for several, 416 when
   none can be), else the whole file is sent: small files from memory,
   large ones as a ``FileResponse`` the server sends with ``sendfile``.

File system work runs in the thread pool, so a slow disk never stalls
the event loop; a file found there is remembered (``heron.web.staticcache``:
lookups, small files' bytes, kept descriptors, and the rule for who may
touch them when), and requests for it are answered on the loop while a
``stat`` (one per ``STAT_REUSE``, 10 ms) shows it unchanged; the lookup is
done again in the pool every ``LOOKUP_TTL`` (one second). See
docs/static.md for the behaviour in full.
"""

from __future__ import annotations

import html
import os
import stat
import time
from typing import Any, Final
from urllib.parse import quote

from heron.blocking import run_blocking
from heron.errors import HTTPError
from heron.messages.files import identity
from heron.messages.mediatypes import media_type
from heron.messages.request import Request
from heron.messages.fileresponse import FileResponse, read_file_region
from heron.messages.response import RedirectResponse, Response
from heron.protocol.headers import Headers
from heron.protocol.writer import validate_headers
from heron.web.byteranges import byteranges_response
from heron.web.caching import CacheControl
from heron.web.conditional import (
    Unsatisfiable,
    content_range,
    evaluate_preconditions,
    http_date,
    if_range_allows,
    make_etag,
    parse_range,
)
from heron.web.negotiation import accepted_encodings, coding_quality
from heron.web.safepath import decode_segment, is_inside, is_safe_segment, resolve_inside, url_segments
from heron.web.staticcache import LOOKUP_TTL, SMALL_FILE, Chosen, Found, StaticCache, stat_or_none

# Sibling suffix per content coding, in order of preference on equal q-values.
PRECOMPRESSED: Final = (("br", ".br"), ("gzip", ".gz"))
_SEGMENT_SAFE: Final = "!$&'()*+,;=:@-._~"
_ALLOW: Final = [("Allow", "GET, HEAD, OPTIONS")]
# Request fields that can change a file answer from "200, all of it" (RFC 9110 sections 13.1 and 14.2).
_CONDITIONAL: Final = frozenset({"if-match", "if-unmodified-since", "if-none-match", "if-modified-since", "range"})
MAX_LISTED: Final = 10_000
"""Directory listings stop after this many entries, so a huge directory cannot make a huge page."""


class StaticFiles:
    """Serve the files under ``directory`` at URL ``prefix``.

    ``index`` names the file a directory URL answers with (None: none);
    a directory without one is a 404, or with ``listing`` True an HTML
    list of its entries. ``cache_control`` (a string or a ``CacheControl``)
    is sent on every file response and 304: ``no-cache`` unless told,
    since every file carries validators and a deploy must show at once;
    None sends none. Symlinks are refused unless ``follow_symlinks`` is
    True, and even then must resolve inside ``directory``. Hidden files
    and directories (``.git``, ``.env``) are never served, except
    ``.well-known``. Every refusal is a 404, never a 403.

    An instance is a handler: ``await files(request)``. ``App.static``
    registers one for GET and HEAD under its prefix.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        prefix: str = "/",
        *,
        index: str | None = "index.html",
        cache_control: str | CacheControl | None = "no-cache",
        follow_symlinks: bool = False,
        listing: bool = False,
    ) -> None:
        root = os.path.realpath(os.fspath(directory))
        if not os.path.isdir(root):
            raise ValueError(f"StaticFiles: {os.fspath(directory)!r} is not a directory")
        if not prefix.startswith("/"):
            raise ValueError(f"StaticFiles: prefix {prefix!r} must start with '/'")
        if index is not None and (not index or "/" in index or index in (".", "..")):
            raise ValueError(f"StaticFiles: index {index!r} must be a plain file name")
        if cache_control is not None:
            cache_control = str(cache_control)
            validate_headers([("Cache-Control", cache_control)])
        self.root = root
        self.prefix = prefix
        self.index = index
        self.cache_control = cache_control
        self.follow_symlinks = follow_symlinks
        self.listing = listing
        self.prefix_segments = [s for s in prefix.split("/") if s]
        """``prefix`` as decoded path segments."""
        self.cache = StaticCache()
        """What is remembered between requests (``heron.web.staticcache``)."""

    def __repr__(self) -> str:
        return f"<StaticFiles {self.prefix!r} -> {self.root!r}>"

    def covers(self, raw_path: str) -> bool:
        """Is ``raw_path`` at or below ``prefix`` (whether or not it then names a file it may serve)?"""
        raw = [s for s in raw_path.split("/") if s]
        count = len(self.prefix_segments)
        return [decode_segment(s) for s in raw[:count]] == self.prefix_segments

    async def __call__(self, request: Request, **_params: Any) -> Response:
        """Answer ``request`` (route parameters are ignored: the raw path is what counts).

        A file looked up before, whose ``stat`` has not changed since, is
        answered on the event loop from what that lookup learned, with a
        descriptor kept open for it (``heron.web.staticcache``); anything
        else goes to the thread pool, where ``respond`` looks it up.
        """
        if request.method in ("GET", "HEAD"):
            key = (request.root_path, request.raw_path)
            now = time.monotonic()
            found = self.cache.recall(key, now)
            if found is not None:
                if found.until <= now:
                    self.cache.refresh(key, lambda: self._look_up(request))
                response = self._file_response(request, found, on_loop=True)
                if response is not None:
                    return response
        return await run_blocking(self.respond, request)

    def respond(self, request: Request) -> Response:
        """The blocking part: checks, file system calls, and the response. Raises HTTPError."""
        if request.method == "OPTIONS":
            return Response(b"", 204, _ALLOW)
        if request.method not in ("GET", "HEAD"):
            raise HTTPError(405, headers=list(_ALLOW))
        found = self._look_up(request)
        if isinstance(found, Response):
            return found
        response = self._file_response(request, found, on_loop=False)
        assert response is not None, "off the loop every file gets its answer"
        return response

    def _look_up(self, request: Request) -> Found | Response:
        """The file the URL names, remembered for the next requests; a redirect or listing for a
        directory; HTTPError 404 for anything that may not be served (blocking: file system calls)."""
        raw_path = request.raw_path
        prefix = self._prefix_for(request)
        segments = self._segments(raw_path, prefix)
        if segments is None:
            raise HTTPError(404)
        path = resolve_inside(self.root, segments, self.follow_symlinks)
        if path is None:
            raise HTTPError(404)
        info = stat_or_none(path)
        if info is not None and stat.S_ISDIR(info.st_mode):
            if not raw_path.endswith("/"):
                return self._slash_redirect(prefix + segments, request.query_string)
            directory = path
            path, info = self._index_of(path)
            if info is None and self.listing:
                return self._listing(directory, prefix + segments, request.method)
        elif raw_path.endswith("/"):
            info = None  # "file.txt/" names no file
        if info is None or not stat.S_ISREG(info.st_mode):
            raise HTTPError(404)
        siblings = tuple(self._chosen(sibling, sibling_info, coding, True)
                         for coding, sibling, sibling_info in self._siblings(path, info))
        found = Found(self._chosen(path, info, None, bool(siblings)), siblings, media_type(path),
                      time.monotonic() + LOOKUP_TTL)
        self.cache.remember((request.root_path, raw_path), found)
        return found

    def _prefix_for(self, request: Request) -> list[str]:
        """The URL segments in front of the files: the mount's (``root_path``), then ours."""
        root_path = request.root_path
        if not root_path:
            return self.prefix_segments
        return [s for s in root_path.split("/") if s] + self.prefix_segments

    @staticmethod
    def _segments(raw_path: str, prefix: list[str]) -> list[str] | None:
        """The checked segments of ``raw_path`` below ``prefix``, or None."""
        raw = [s for s in raw_path.split("/") if s]
        count = len(prefix)
        if [decode_segment(s) for s in raw[:count]] != prefix:
            return None
        return url_segments("/".join(raw[count:]))

    def _slash_redirect(self, names: list[str], query: str) -> Response:
        """308 to the directory's slash form, built from the checked segments.

        Not from the raw path: ``//evil.example`` would otherwise become a
        Location pointing at another host. 308 keeps the method (RFC 9110
        section 15.4.9).
        """
        location = "/" + "".join(quote(name, safe=_SEGMENT_SAFE) + "/" for name in names)
        if query:
            location += "?" + query
        return RedirectResponse(location, 308)

    def _index_of(self, directory: str) -> tuple[str, os.stat_result | None]:
        """The index file of a (real, checked) directory and its stat; None if there is none."""
        if self.index is None:
            return directory, None
        path = os.path.join(directory, self.index)
        if not self.follow_symlinks:
            return path, stat_or_none(path, follow=False)  # a symlink is not S_ISREG: refused
        real = os.path.realpath(path)
        if not is_inside(self.root, real):
            return path, None
        return real, stat_or_none(real)

    def _listing(self, directory: str, names_in_url: list[str], method: str) -> Response:
        """An HTML list of what the directory holds (opt-in: ``listing=True``).

        Only names that could be requested are shown: hidden files,
        names that are not UTF-8 or would be refused by the path checks,
        and symlinks that would be refused are left out. Every name is
        HTML-escaped in the text and percent-encoded in the link.
        """
        names: list[str] = []
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if len(names) >= MAX_LISTED:
                        break
                    if self._listable(entry):
                        names.append(entry.name + ("/" if entry.is_dir(follow_symlinks=True) else ""))
        except OSError:
            raise HTTPError(404) from None
        title = html.escape("/" + "".join(name + "/" for name in names_in_url))
        items = "".join(f'<li><a href="{html.escape(_href(name))}">{html.escape(name)}</a></li>\n'
                        for name in sorted(names))
        page = (f"<!doctype html>\n<meta charset=utf-8>\n<title>Index of {title}</title>\n"
                f"<h1>Index of {title}</h1>\n<ul>\n{items}</ul>\n")
        fields = [("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-cache")]
        body = page.encode("utf-8")
        if method == "HEAD":
            return Response(b"", 200, fields + [("Content-Length", str(len(body)))], "text/html; charset=utf-8")
        return Response(body, 200, fields, "text/html; charset=utf-8")

    def _listable(self, entry: os.DirEntry[str]) -> bool:
        name = entry.name
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            return False  # undecodable bytes (surrogateescape): no URL reaches it
        if not is_safe_segment(name):
            return False
        if entry.is_symlink():
            return self.follow_symlinks and is_inside(self.root, os.path.realpath(entry.path))
        return True

    # -- choosing what to send -------------------------------------------------

    def _siblings(self, path: str, info: os.stat_result) -> tuple[tuple[str, str, os.stat_result], ...]:
        """The precompressed siblings of ``path`` that may be sent: (coding, path, stat), br first."""
        siblings = []
        for coding, suffix in PRECOMPRESSED:
            candidate = path + suffix
            if self.follow_symlinks:
                candidate = os.path.realpath(candidate)
                if not is_inside(self.root, candidate):
                    continue
            found = stat_or_none(candidate, follow=self.follow_symlinks)
            # A sibling older than the original is stale: it would serve old content.
            if found is not None and stat.S_ISREG(found.st_mode) and found.st_mtime_ns >= info.st_mtime_ns:
                siblings.append((coding, candidate, found))
        return tuple(siblings)

    def _chosen(self, path: str, info: os.stat_result, encoding: str | None, has_siblings: bool) -> Chosen:
        """The file at ``path`` as a candidate to send, with the fields every response for it carries."""
        etag = make_etag(info.st_size, info.st_mtime_ns, info.st_ino)
        mtime = info.st_mtime_ns // 1_000_000_000
        validators = [("ETag", etag), ("Last-Modified", http_date(mtime))]
        if self.cache_control is not None:
            validators.append(("Cache-Control", self.cache_control))
        if has_siblings:
            validators.append(("Vary", "Accept-Encoding"))
        fields = validators + [("Accept-Ranges", "bytes"), ("X-Content-Type-Options", "nosniff")]
        if encoding is not None:
            fields.append(("Content-Encoding", encoding))
        return Chosen(path, info, encoding, identity(info), etag, mtime, tuple(validators), tuple(fields))

    @staticmethod
    def _choose(headers: Headers, found: Found) -> Chosen:
        """The original, or the client's preferred precompressed sibling (br, then gzip)."""
        if not found.siblings:
            return found.original
        accepted = accepted_encodings(headers.get_all("accept-encoding"))
        best: tuple[float, Chosen] | None = None
        for sibling in found.siblings:
            q = coding_quality(accepted, sibling.encoding or "identity")
            if q > 0 and (best is None or q > best[0]):
                best = (q, sibling)
        return found.original if best is None else best[1]

    def _file_response(self, request: Request, found: Found, *, on_loop: bool) -> Response | None:
        """The answer for a file that was found: 304/412, a range, or all of it.

        A small file is sent from the bytes its lookup kept in memory. Else,
        in the thread pool, a small file is read now; on the event loop no
        file system call is made here, and the file goes out as a
        ``FileResponse``, with a kept descriptor if the loop's cache has one.
        None (on the loop only): the answer needs the file read now (several
        ranges of a file not kept in memory), which is the thread pool's work.
        """
        headers = request.headers
        chosen = self._choose(headers, found)
        size = chosen.stat.st_size
        ranges = None
        if headers.has_any(_CONDITIONAL):
            verdict = evaluate_preconditions(request.method, headers, chosen.etag, chosen.mtime)
            if verdict == 304:
                # RFC 9110 section 15.4.5: the validators and caching fields, no body.
                return Response(b"", 304, chosen.validators)
            if verdict == 412:
                raise HTTPError(412)
            ranges = self._ranges(request, size, chosen.etag, chosen.mtime)
        fields = list(chosen.fields)
        content_type = found.content_type
        if ranges is not None and len(ranges) > 1 and chosen.encoding is not None:
            ranges = None  # several parts of a coded file: no sane framing, send it whole
        data = self.cache.kept_contents(chosen)
        if ranges is not None and len(ranges) > 1:
            if data is None and on_loop:
                return None
            return byteranges_response(chosen.path, ranges, size, fields, content_type, data, chosen.identity)
        offset, length, status = 0, size, 200
        if ranges is not None:
            first, last = ranges[0]
            fields.append(("Content-Range", content_range(first, last, size)))
            offset, length, status = first, last - first + 1, 206
        if request.method == "HEAD":
            return Response(b"", status, fields + [("Content-Length", str(length))], content_type)
        if data is not None:
            return Response(data if length == size else data[offset:offset + length], status, fields, content_type)
        if not on_loop and length < SMALL_FILE:
            try:
                data = b"".join(read_file_region(chosen.path, offset, length, SMALL_FILE, chosen.identity))
            except OSError:
                raise HTTPError(404) from None  # removed or truncated since the stat
            return Response(data, status, fields, content_type)
        shared = self.cache.descriptor(chosen) if on_loop else None
        return FileResponse(chosen.path, status, fields, content_type, offset=offset, length=length, file=shared,
                            expect=chosen.identity)

    @staticmethod
    def _ranges(request: Request, size: int, etag: str, mtime: int) -> list[tuple[int, int]] | None:
        """The ranges to send, or None for the whole file; HTTPError 416 if none can be."""
        headers = request.headers
        if request.method != "GET" or "range" not in headers:
            return None  # RFC 9110 section 14.2: Range is defined for GET only
        if_range = headers.get("if-range")
        if if_range is not None and not if_range_allows(if_range, etag, mtime):
            return None
        try:
            return parse_range(headers["range"], size, request.limits.max_ranges)
        except Unsatisfiable:
            raise HTTPError(416, headers=[("Content-Range", f"bytes */{size}"), ("Accept-Ranges", "bytes")]) from None


def _href(name: str) -> str:
    """A relative link to a listed entry: percent-encoded, so it is also safe inside an attribute."""
    if name.endswith("/"):
        return "./" + quote(name[:-1], safe=_SEGMENT_SAFE.replace("'", "")) + "/"
    return "./" + quote(name, safe=_SEGMENT_SAFE.replace("'", ""))
