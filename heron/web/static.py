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
the event loop; a file found there is remembered, and requests for it are
answered on the loop while a ``stat`` (one per ``STAT_REUSE``, 10 ms)
shows it unchanged; the lookup is done again in the pool every
``LOOKUP_TTL`` (one second). See
docs/static.md for the behaviour in full.
"""

from __future__ import annotations

import asyncio
import html
import math
import os
import re
import secrets
import stat
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from heron.blocking import run_blocking
from heron.errors import HTTPError
from heron.messages.contracts import Handler, Servable
from heron.messages.files import identity, open_if_same
from heron.messages.mediatypes import media_type
from heron.messages.request import Request
from heron.messages.response import (
    FileResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
    error_response,
    read_file_region,
)
from heron.protocol.headers import Headers, split_comma_list
from heron.protocol.writer import validate_headers
from heron.web.conditional import (
    Unsatisfiable,
    content_range,
    evaluate_preconditions,
    http_date,
    if_range_allows,
    make_etag,
    parse_range,
)
from heron.web.openfiles import OpenFiles
from heron.web.safepath import decode_segment, is_inside, is_safe_segment, resolve_inside, url_segments

SMALL_FILE: Final = 80 * 1024
"""Files (and ranges) smaller than this are sent from memory; larger ones go out with sendfile.

Where the two ways cross, measured with wrk on loopback (req/s, memory
against sendfile): 24.4k against 23.9k at 64 KiB, 22.6k against 22.5k at
80 KiB, 21.1k against 23.8k at 96 KiB. Below, one write of head and
bytes (a gather write from 16 KiB) and a shorter Python path (no
``FileResponse``) win; above, sendfile's zero copy does."""
MEMORY_BUDGET: Final = 32 * 1024 * 1024
"""Bytes of small files kept in memory between requests at most (per ``StaticFiles``); beyond it
the files looked up longest ago are let go, and are sent with sendfile until their next lookup."""

# Sibling suffix per content coding, in order of preference on equal q-values.
PRECOMPRESSED: Final = (("br", ".br"), ("gzip", ".gz"))
_QVALUE: Final = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")
_SEGMENT_SAFE: Final = "!$&'()*+,;=:@-._~"
_ALLOW: Final = [("Allow", "GET, HEAD, OPTIONS")]
# Request fields that can change a file answer from "200, all of it" (RFC 9110 sections 13.1 and 14.2).
_CONDITIONAL: Final = frozenset({"if-match", "if-unmodified-since", "if-none-match", "if-modified-since", "range"})
LOOKUP_TTL: Final = 1.0
"""Seconds after which a file lookup (path resolution, symlink checks, precompressed siblings) is
done again, in the background; until then it is reused while the file's stat is unchanged."""
STAT_REUSE: Final = 0.01
"""Seconds for which one ``stat`` showing a remembered file unchanged answers for the requests after it:
a busy file is stat'ed about a hundred times a second, not once per request."""
MAX_REMEMBERED: Final = 4096
"""Lookups kept at most (per ``StaticFiles``); when full, all are forgotten and looked up again."""
MAX_LISTED: Final = 10_000
"""Directory listings stop after this many entries, so a huge directory cannot make a huge page."""


@dataclass(frozen=True)
class _Chosen:
    """A file that may be sent for a URL (the original or a precompressed sibling) and its validators."""

    path: str
    stat: os.stat_result
    encoding: str | None  # Content-Encoding, None for the original
    identity: tuple[int, int, int, int]  # openfiles.identity(stat): what a later stat must match
    etag: str
    mtime: int  # whole seconds, as Last-Modified says and preconditions compare
    validators: tuple[tuple[str, str], ...]  # what a 304 repeats: ETag, Last-Modified, Cache-Control, Vary
    fields: tuple[tuple[str, str], ...]  # those and the rest of a file response's own fields


@dataclass(slots=True)
class _Found:
    """What a lookup learned about the file a URL names, and until when it is trusted."""

    original: _Chosen
    siblings: tuple[_Chosen, ...]  # the precompressed ones that may be sent, br first
    content_type: str  # from the original's name, never ".gz"
    until: float  # time.monotonic() after which the file system is asked again
    checked: float = -math.inf  # time.monotonic() of the last stat on the loop that found them unchanged

    def unchanged(self, now: float) -> bool:
        """The file and its siblings are still what was found: same inode, size and mtime.

        One ``stat`` each, at most every ``STAT_REUSE`` seconds, so a file
        rewritten since the lookup is not sent with the old length or
        validators once that short time has passed.
        """
        if now - self.checked < STAT_REUSE:
            return True
        if not _same_file(self.original):
            return False
        if self.siblings and not all(_same_file(sibling) for sibling in self.siblings):
            return False
        self.checked = now
        return True


class StaticFiles:
    """Serve the files under ``directory`` at URL ``prefix``.

    ``index`` names the file a directory URL answers with (None: none);
    a directory without one is a 404, or with ``listing`` True an HTML
    list of its entries. ``cache_control`` is sent as is on every file
    response and 304. Symlinks are refused unless ``follow_symlinks`` is
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
        cache_control: str | None = None,
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
            validate_headers([("Cache-Control", cache_control)])
        self.root = root
        self.prefix = prefix
        self.index = index
        self.cache_control = cache_control
        self.follow_symlinks = follow_symlinks
        self.listing = listing
        self.prefix_segments = [s for s in prefix.split("/") if s]
        """``prefix`` as decoded path segments."""
        self._found: dict[tuple[str, str], _Found] = {}  # (root_path, raw_path) -> the last lookup
        self._refreshing: set[tuple[str, str]] = set()  # keys being looked up again (see _refresh)
        self._open_files: OpenFiles | None = None  # descriptors kept open, owned by _open_loop
        self._open_loop: asyncio.AbstractEventLoop | None = None
        self._open_thread = 0  # threading.get_ident() of the thread _open_loop runs in
        # Small files' bytes by path, with the identity they were read at (see _keep_contents).
        self._contents: dict[str, tuple[tuple[int, int, int, int], bytes]] = {}
        self._contents_size = 0
        self._contents_lock = threading.Lock()  # lookups run in several pool threads at once

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
        descriptor kept open for it (``heron.web.openfiles``); anything
        else goes to the thread pool, where ``respond`` looks it up.
        """
        if request.method in ("GET", "HEAD"):
            key = (request.root_path, request.raw_path)
            found = self._found.get(key)
            now = time.monotonic()
            if found is not None and found.unchanged(now):
                if found.until <= now:
                    self._refresh(key, request)
                response = self._file_response(request, found, on_loop=True)
                if response is not None:
                    return response
        return await run_blocking(self.respond, request)

    def _refresh(self, key: tuple[str, str], request: Request) -> None:
        """Look ``key`` up again in the thread pool, one refresh at a time, once ``LOOKUP_TTL`` is up.

        Requests meanwhile keep the lookup there is: each still checks the
        file's ``stat``, so its answers stay right. What the refresh learns
        is what that stat cannot show, such as a precompressed sibling
        added. Sending every request to the pool once the second was up
        instead made a herd each second (with 50 clients, 50 lookups at
        once, the loop contending with the pool's threads for the GIL):
        /static/64k.bin went from 14-16k to 17-18k req/s without it. A
        lookup that fails (the file is gone or now refused) is forgotten,
        so the next request gets the answer.
        """
        if key in self._refreshing:
            return
        try:
            future = run_blocking(self._look_up, request)
        except HTTPError:  # the pool is full: keep the lookup, try on a later request
            return
        self._refreshing.add(key)

        def done(future: asyncio.Future[_Found | Response]) -> None:
            self._refreshing.discard(key)
            if future.cancelled() or future.exception() is not None or not isinstance(future.result(), _Found):
                self._found.pop(key, None)

        future.add_done_callback(done)

    def _open_files_here(self) -> OpenFiles | None:
        """The descriptor cache of the running loop; None on another loop while the owner lives.

        The cache belongs to one loop (its timer runs there, its counts are
        not locked); a second loop, such as a test client beside a server,
        opens files per response instead. A closed owner hands it over.
        Found without ``asyncio.get_running_loop()`` while the owner runs
        in this thread: that costs a ``getpid`` system call each time.
        """
        owner = self._open_loop
        if owner is not None and owner.is_running() and self._open_thread == threading.get_ident():
            return self._open_files
        loop = asyncio.get_running_loop()
        if owner is not loop:
            if owner is not None and not owner.is_closed():
                return None
            if self._open_files is not None:
                self._open_files.close()
            self._open_files, self._open_loop, self._open_thread = OpenFiles(), loop, threading.get_ident()
        return self._open_files

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

    def _look_up(self, request: Request) -> _Found | Response:
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
        info = _stat(path)
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
        found = _Found(self._chosen(path, info, None, bool(siblings)), siblings, media_type(path),
                       time.monotonic() + LOOKUP_TTL)
        for chosen in (found.original, *siblings):
            self._keep_contents(chosen)
        if len(self._found) >= MAX_REMEMBERED:
            self._found.clear()
        self._found[(request.root_path, raw_path)] = found
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
            return path, _stat(path, follow=False)  # a symlink is not S_ISREG: refused
        real = os.path.realpath(path)
        if not is_inside(self.root, real):
            return path, None
        return real, _stat(real)

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
            found = _stat(candidate, follow=self.follow_symlinks)
            # A sibling older than the original is stale: it would serve old content.
            if found is not None and stat.S_ISREG(found.st_mode) and found.st_mtime_ns >= info.st_mtime_ns:
                siblings.append((coding, candidate, found))
        return tuple(siblings)

    def _chosen(self, path: str, info: os.stat_result, encoding: str | None, has_siblings: bool) -> _Chosen:
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
        return _Chosen(path, info, encoding, identity(info), etag, mtime, tuple(validators), tuple(fields))

    def _keep_contents(self, chosen: _Chosen) -> None:
        """Read a small file into memory for the requests after this lookup (blocking: the pool's).

        Read again at every lookup, so a file rewritten in place without a
        new size or modification time (within the file system's timestamp
        granularity, which no stat can see through) is sent as it is now
        from the next lookup on, within ``LOOKUP_TTL``. Over
        ``MEMORY_BUDGET``, the files looked up longest ago are let go.
        """
        size = chosen.stat.st_size
        data = _read_whole(chosen.path, chosen.identity) if size < SMALL_FILE else None
        contents = self._contents
        with self._contents_lock:
            old = contents.pop(chosen.path, None)  # also when the file has grown past SMALL_FILE
            if old is not None:
                self._contents_size -= len(old[1])
            if data is None:
                return
            while contents and self._contents_size + size > MEMORY_BUDGET:
                self._contents_size -= len(contents.pop(next(iter(contents)))[1])  # the oldest lookup's
            contents[chosen.path] = (chosen.identity, data)
            self._contents_size += size

    def _kept_contents(self, chosen: _Chosen) -> bytes | None:
        """The bytes of ``chosen`` if they were kept in memory at its identity (safe on the loop: no lock)."""
        kept = self._contents.get(chosen.path)
        return kept[1] if kept is not None and kept[0] == chosen.identity else None

    @staticmethod
    def _choose(headers: Headers, found: _Found) -> _Chosen:
        """The original, or the client's preferred precompressed sibling (br, then gzip)."""
        if not found.siblings:
            return found.original
        accepted = accepted_encodings(headers.get_all("accept-encoding"))
        best: tuple[float, _Chosen] | None = None
        for sibling in found.siblings:
            q = coding_quality(accepted, sibling.encoding or "identity")
            if q > 0 and (best is None or q > best[0]):
                best = (q, sibling)
        return found.original if best is None else best[1]

    def _file_response(self, request: Request, found: _Found, *, on_loop: bool) -> Response | None:
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
        data = self._kept_contents(chosen)
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
        open_files = self._open_files_here() if on_loop else None
        shared = open_files.get(chosen.path, chosen.identity) if open_files is not None else None
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


def _stat(path: str, follow: bool = True) -> os.stat_result | None:
    """``os.stat`` (``lstat`` with follow False), None for any error: absent and forbidden look alike."""
    try:
        return os.stat(path) if follow else os.lstat(path)
    except (OSError, ValueError):
        return None


def _read_whole(path: str, wanted: tuple[int, int, int, int]) -> bytes | None:
    """The bytes of ``path`` if it is still the file ``wanted`` (an ``identity``) names, else None."""
    fd = open_if_same(path, wanted)
    if fd is None:
        return None
    try:
        data = os.pread(fd, wanted[2] + 1, 0)  # a byte more than its size: a file grown since is not the one
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if len(data) == wanted[2] else None


def _same_file(known: _Chosen) -> bool:
    info = _stat(known.path)
    return info is not None and identity(info) == known.identity


# -- multipart/byteranges (RFC 9110 section 14.6) -------------------------------


def byteranges_response(path: str, ranges: Sequence[tuple[int, int]], size: int,
                        fields: list[tuple[str, str]], content_type: str, data: bytes | None = None,
                        expect: tuple[int, int, int, int] | None = None) -> Response:
    """206 with one part per range, each with its own Content-Type and Content-Range.

    The parts are cut from ``data`` (the whole file) when it is given, else read from ``path``
    (which must still be ``expect``'s file), now or as the body streams: call it in the thread pool.
    """
    boundary = secrets.token_hex(16)
    heads = [(f"--{boundary}\r\nContent-Type: {content_type}\r\n"
              f"Content-Range: {content_range(first, last, size)}\r\n\r\n").encode("latin-1")
             for first, last in ranges]
    closing = f"--{boundary}--\r\n".encode("ascii")
    length = sum(len(h) + (last - first + 1) + 2 for h, (first, last) in zip(heads, ranges)) + len(closing)
    multipart = f"multipart/byteranges; boundary={boundary}"
    pieces = _byteranges_body(path, ranges, heads, closing, data, expect)
    if length < SMALL_FILE:
        try:
            return Response(b"".join(pieces), 206, fields, multipart)
        except OSError:
            raise HTTPError(404) from None
    return StreamingResponse(pieces, 206, fields + [("Content-Length", str(length))], multipart)


def _byteranges_body(path: str, ranges: Sequence[tuple[int, int]], heads: list[bytes], closing: bytes,
                     data: bytes | None, expect: tuple[int, int, int, int] | None) -> Iterator[bytes]:
    for head, (first, last) in zip(heads, ranges):
        yield head
        if data is not None:
            yield data[first:last + 1]
        else:
            yield from read_file_region(path, first, last - first + 1, FileResponse.CHUNK_SIZE, expect)
        yield b"\r\n"
    yield closing


# -- Accept-Encoding (RFC 9110 section 12.5.3) ----------------------------------


def accepted_encodings(values: Sequence[str]) -> dict[str, float]:
    """Coding -> q-value for every well-formed member of the Accept-Encoding fields.

    A member whose q-value is malformed is dropped (not taken as 1), so
    ``gzip;q=bogus`` does not switch gzip on. Names are lower-cased;
    ``x-gzip`` counts as ``gzip`` (section 8.4.1.3).
    """
    accepted: dict[str, float] = {}
    for value in values:
        for member in split_comma_list(value):
            name, *params = (part.strip(" \t") for part in member.split(";"))
            q = 1.0
            for param in params:
                key, _, text = param.partition("=")
                if key.strip(" \t").lower() == "q":
                    text = text.strip(" \t")
                    q = float(text) if _QVALUE.fullmatch(text) else -1.0
            if q < 0 or not name:
                continue
            name = name.lower()
            accepted["gzip" if name == "x-gzip" else name] = q
    return accepted


def coding_quality(accepted: dict[str, float], coding: str) -> float:
    """The q-value for ``coding``: its own, else ``*``'s, else 0 (not acceptable).

    No Accept-Encoding at all also gives 0: the RFC would allow any coding
    then, but clients that send none (curl, scripts) expect the bytes as
    stored, and every mainstream server answers them with identity.
    """
    if coding in accepted:
        return accepted[coding]
    return accepted.get("*", 0.0)


# -- mounting in front of another handler (the CLI's --static) ------------------


def with_static(mounts: Sequence[StaticFiles], fallback: Handler | None = None) -> Handler:
    """A handler answering from ``mounts`` (longest prefix first), else from ``fallback``.

    ``fallback`` is another handler (an App's ``handle``) or None. A path
    under a mount that names no file goes on to the fallback, so
    ``--static /=public`` can sit in front of an app like nginx's
    ``try_files $uri @app``; non-GET/HEAD requests go straight to it.
    """
    ordered = sorted(mounts, key=lambda m: -len(m.prefix_segments))

    async def handler(request: Request) -> Response:
        for files in ordered:
            if not files.covers(request.raw_path):
                continue
            if fallback is not None and request.method not in ("GET", "HEAD"):
                break
            try:
                return await files(request)
            except HTTPError as exc:
                if exc.status != 404 or fallback is None:
                    return error_response(exc.status, exc.detail, exc.headers)
                break
        if fallback is None:
            return error_response(404)
        return await fallback(request)

    return handler


class StaticFront:
    """An app (or nothing) behind static file mounts, as a ``Servable``: what ``--static`` serves.

    Requests go to ``with_static(mounts, app.handle)``; ``startup`` and
    ``shutdown`` are the app's.
    """

    def __init__(self, mounts: Sequence[StaticFiles], app: Servable | None = None) -> None:
        self.app = app
        self._handle = with_static(mounts, app.handle if app is not None else None)

    async def handle(self, request: Request) -> Response:
        return await self._handle(request)

    async def startup(self) -> None:
        if self.app is not None:
            await self.app.startup()

    async def shutdown(self) -> None:
        if self.app is not None:
            await self.app.shutdown()
