"""The bodies bench/compression.py's servers send, the same bytes from heron and Starlette.

JSON records like an API's (names, e-mail addresses, numbers, tags, dates, a hex token),
made from sha256 rather than ``random`` so that every Python makes the same bytes: gzip's
cost depends on what it is given, so both servers must be given the same. The hex token
keeps the data from compressing better than real answers do (about 3x at level 6, not
20x as a repeated record would).
"""
from __future__ import annotations

import hashlib
import json

FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Dennis", "Frances", "John",
         "Radia", "Leslie", "Tony", "Niklaus", "Sophie")
LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Ritchie", "Allen",
        "McCarthy", "Perlman", "Lamport", "Hoare", "Wirth", "Wilson")
TAGS = ("admin", "beta", "billing", "api", "mobile", "eu", "us", "trial", "support", "ops")
PIECE = 64 * 1024
PIECES = 16


def record(i: int) -> bytes:
    """Record number ``i`` as compact JSON."""
    h = hashlib.sha256(b"record %d" % i).digest()
    first, last = FIRST[h[0] % len(FIRST)], LAST[h[1] % len(LAST)]
    return json.dumps({
        "id": i, "name": f"{first} {last}", "email": f"{first.lower()}.{last.lower()}{h[2]}@example.com",
        "active": h[3] % 4 != 0, "score": round(int.from_bytes(h[4:7], "big") / 167772.16, 2),
        "tags": [TAGS[b % len(TAGS)] for b in h[7:7 + h[8] % 4]],
        "created": "2026-%02d-%02dT%02d:%02d:%02dZ" % (h[9] % 12 + 1, h[10] % 28 + 1, h[11] % 24, h[12] % 60,
                                                        h[13] % 60),
        "token": h[14:30].hex()}, separators=(",", ":")).encode()


def json_body(size: int) -> bytes:
    """``{"items":[...]}``: as many records as fit in ``size`` bytes."""
    parts: list[bytes] = []
    length = len(b'{"items":[]}') - 1  # the first record adds no comma
    while length + 1 + len(item := record(len(parts))) <= size:
        parts.append(item)
        length += 1 + len(item)
    return b'{"items":[' + b",".join(parts) + b"]}"


def ndjson_pieces(count: int, size: int) -> list[bytes]:
    """``count`` pieces of newline-delimited records, each as many whole lines as fit in ``size`` bytes."""
    pieces, n = [], 0
    for _ in range(count):
        lines: list[bytes] = []
        length = 0
        while length + len(line := record(n) + b"\n") <= size:
            lines.append(line)
            length += len(line)
            n += 1
        pieces.append(b"".join(lines))
    return pieces


JSON_1K = json_body(1024)
JSON_100K = json_body(100 * 1024)
STREAM = ndjson_pieces(PIECES, PIECE)
