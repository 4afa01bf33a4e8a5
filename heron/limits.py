"""Every cap and timeout a client can push against, in one place.

Shared by all layers: the sans-IO parser reads the size caps, the server
reads the timeouts and connection caps. Each field carries its unit, the
status (or action) it produces when exceeded, and why the default was
chosen, so that ``docs/limits.md`` and ``--help`` are generated from here and
can never drift from the code.

No limit can be switched off with zero: a value must be positive. A
deployment that really wants a huge cap writes a huge number.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any


def _limit(default: float, unit: str, on_exceed: str, why: str) -> Any:
    return field(default=default, metadata={"unit": unit, "on_exceed": on_exceed, "why": why})


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps and timeouts for one server; immutable, shared by every connection."""

    max_request_line: int = _limit(
        8190, "bytes", "414 URI Too Long",
        "Apache and Go allow 8 KiB; longer targets are almost always scanners "
        "or mistakes, and the whole line is buffered before it is parsed.")
    max_header_bytes: int = _limit(
        32768, "bytes", "431 Request Header Fields Too Large",
        "The header section (after the request line) is buffered whole; "
        "nginx allows 4 x 8 KiB, which real browsers with many cookies fit in.")
    max_header_count: int = _limit(
        100, "fields", "431 Request Header Fields Too Large",
        "Browsers send 10-20 fields; 100 is h11's and Go's order of magnitude "
        "and bounds the per-request work of building the header list.")
    max_body_bytes: int = _limit(
        16 * 1024 * 1024, "bytes", "413 Content Too Large",
        "Bodies are handed to handlers that often read them whole; raise it "
        "for upload endpoints. Checked against Content-Length before any body "
        "byte is read, and against the running total of chunked bodies.")
    max_decoded_body_bytes: int = _limit(
        16 * 1024 * 1024, "bytes", "413 Content Too Large",
        "A request body sent with a Content-Encoding, once decoded (only apps "
        "that turn decoding on: App(decompress_requests=True)). A few KiB of "
        "gzip can stand for gigabytes, so the decoded bytes are counted as "
        "they are produced and decoding stops here, never buffering past it.")
    max_form_fields: int = _limit(
        1000, "fields", "413 Content Too Large",
        "Fields an urlencoded form body may hold, and parts (fields and files) "
        "a multipart body may hold; each is an object held while the handler "
        "runs, a file part maybe an open file. PHP's max_input_vars, Django's "
        "DATA_UPLOAD_MAX_NUMBER_FIELDS and Starlette's max_fields use 1000.")
    max_form_files: int = _limit(
        100, "files", "413 Content Too Large",
        "Files one multipart form may hold: each may become an open temporary "
        "file, and a form of thousands would spend the process's file "
        "descriptors (CVE-2023-24580, CVE-2023-25577). Django's "
        "DATA_UPLOAD_MAX_NUMBER_FILES is the same 100.")
    max_form_field_bytes: int = _limit(
        1024 * 1024, "bytes", "413 Content Too Large",
        "A form field that is not a file (a value of an urlencoded body, a "
        "multipart part without a filename) is held in memory as a string, so "
        "it is capped on its own (CVE-2024-47874, CVE-2026-54283). Starlette's "
        "max_part_size is the same 1 MiB.")
    max_part_header_bytes: int = _limit(
        8192, "bytes", "413 Content Too Large",
        "The header block of one multipart part; browsers send about 100 "
        "bytes (a Content-Disposition and a Content-Type) and a long file name "
        "fits many times over (GHSA-pp6c-gr5w-3c5g).")
    max_part_headers: int = _limit(
        16, "fields", "413 Content Too Large",
        "Header fields in one multipart part; browsers send two.")
    max_upload_bytes: int = _limit(
        16 * 1024 * 1024, "bytes", "413 Content Too Large",
        "One uploaded file of a multipart form. The whole body is capped by "
        "max_body_bytes first, so an upload endpoint raises both; this one "
        "keeps a many-file form from spending it all on one file.")
    upload_memory_bytes: int = _limit(
        1024 * 1024, "bytes", "the file moves to a temporary file on disk",
        "An uploaded file is kept in memory up to this size, then written to "
        "an unnamed temporary file (removed when the request ends), so an "
        "upload costs about this much memory whatever its size.")
    max_ranges: int = _limit(
        16, "ranges", "the whole file is sent (200) instead",
        "Ranges in one Range request to static files; thousands of tiny or "
        "overlapping ranges turn one request into a huge, slow response "
        "(CVE-2011-3192). Video players and download managers ask for one.")
    max_chunk_line: int = _limit(
        1024, "bytes", "400 Bad Request",
        "A chunk-size line with its extensions; extensions are ignored, so a "
        "long line is only a way to make the server buffer and scan bytes "
        "that carry no data.")
    max_drain_bytes: int = _limit(
        65536, "bytes", "connection closed",
        "An unread request body is read and discarded up to this size so the "
        "connection can be reused; anything larger is cheaper to close.")
    max_connections: int = _limit(
        2048, "connections", "503 Service Unavailable when the request comes, then close",
        "Each connection costs a few KiB; the cap keeps one process inside its "
        "file-descriptor limit under a connection flood. A connection over it "
        "is held no longer than linger_timeout and its request is not parsed.")
    max_pipelined_bytes: int = _limit(
        262144, "bytes", "reading paused",
        "Bytes of further pipelined requests buffered while one is answered; "
        "beyond this the socket is not read until the queue drains.")
    header_timeout: float = _limit(
        10.0, "seconds", "408 Request Timeout, then close",
        "Time to receive a whole request head: from the accept for a "
        "connection's first request, from the first byte for later ones; a TLS "
        "handshake gets the same allowance before that. It does not reset as "
        "bytes trickle in: the slowloris defence.")
    body_timeout: float = _limit(
        30.0, "seconds", "408 Request Timeout, then close",
        "Longest wait for the next piece of a request body while a handler is "
        "waiting for it (a body that keeps trickling in is min_body_rate's).")
    min_body_rate: float = _limit(
        240.0, "bytes/second", "408 Request Timeout, then close",
        "Slowest average a request body may arrive at, counted only while a "
        "handler waits for its bytes (or the server drains them), once "
        "body_rate_grace has passed. body_timeout alone is per read, so a "
        "body trickled a byte at a time would hold a connection and a handler "
        "forever. Kestrel's MinRequestBodyDataRate: 240 B/s after 5 s.")
    body_rate_grace: float = _limit(
        5.0, "seconds", "min_body_rate is checked from then on",
        "Waiting time a body gets before min_body_rate applies: room for a "
        "slow start, a 100 Continue round trip, a mobile link waking up.")
    keepalive_timeout: float = _limit(
        5.0, "seconds", "connection closed",
        "Idle time allowed between requests on a kept-alive connection; "
        "browsers reuse within seconds, idle sockets only cost memory.")
    write_timeout: float = _limit(
        30.0, "seconds", "connection closed",
        "Longest time the send buffer may stay full without the client reading "
        "from it: a client that stops reading cannot pin a response forever.")
    max_websocket_message: int = _limit(
        1024 * 1024, "bytes", "close 1009 (message too big)",
        "A WebSocket message is handed to the app whole, so it is held whole: "
        "counted after decompression, refused as soon as a frame header says "
        "it would pass. websockets and uvicorn use the same 1 MiB.")
    max_websocket_queue: int = _limit(
        16, "messages", "reading paused",
        "WebSocket messages received and not yet taken by the app; beyond "
        "this the socket is not read, so a client cannot make the server hold "
        "more than this many messages (websockets' max_queue).")
    websocket_handshake_timeout: float = _limit(
        10.0, "seconds", "connection closed",
        "Time an app has, from a WebSocket handshake request, to accept or "
        "refuse it; a handler that never answers cannot hold the connection.")
    websocket_ping_interval: float = _limit(
        20.0, "seconds", "a ping is sent",
        "Quiet time on a WebSocket after which the server pings the client, "
        "so dead peers are found and proxies keep the connection open.")
    websocket_ping_timeout: float = _limit(
        20.0, "seconds", "close 1011, then close",
        "Time a client has to answer a ping (with a pong, or anything) before "
        "the connection is taken for dead.")
    websocket_close_timeout: float = _limit(
        10.0, "seconds", "connection closed",
        "Time a client has to answer the server's close frame with its own "
        "(the closing handshake) before the TCP connection is closed anyway.")
    linger_timeout: float = _limit(
        2.0, "seconds", "connection closed",
        "After an answer sent before the request was read (503 over "
        "max_connections, 408, 400 for a malformed head), the server stops "
        "sending and discards what still arrives for this long before closing: "
        "closing with unread bytes makes the kernel reset the connection, which "
        "can destroy the answer before the client reads it (RFC 9112 section "
        "9.6). Apache lingers 2 s. Also how long a connection over "
        "max_connections may take to start sending its request.")
    shutdown_timeout: float = _limit(
        10.0, "seconds", "remaining connections closed",
        "On SIGTERM/SIGINT, time given to in-flight requests to finish before "
        "the process exits anyway.")

    def __post_init__(self) -> None:
        """Refuse values that would switch a limit off or break the code reading it.

        Byte and count caps must be ints (the parser uses them as buffer
        indices, where 1024.0 raises TypeError mid-request); timeouts may be
        floats but not NaN or infinity, which compare false with everything
        and so would never fire.
        """
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = int if f.type == "int" else (int, float)
            if not isinstance(value, kind) or isinstance(value, bool) or not 0 < value < math.inf:
                raise ValueError(f"limit {f.name} must be a positive finite {f.type}, got {value!r}")

    def replace(self, **changes: float) -> Limits:
        """A copy with some limits changed (validated like the original)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


DEFAULT_LIMITS = Limits()


def describe() -> list[tuple[str, object, str, str, str]]:
    """(name, default, unit, on_exceed, why) for every limit, for docs and --help."""
    return [
        (f.name, f.default, f.metadata["unit"], f.metadata["on_exceed"], f.metadata["why"])
        for f in dataclasses.fields(Limits)
    ]
