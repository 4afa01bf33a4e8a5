"""Content negotiation: which of several codings a client accepts, and how much (web layer).

RFC 9110 section 12.5.3: ``Accept-Encoding`` lists codings with q-values
(``gzip;q=0.8, br, *;q=0``). Parsed into a mapping once per request, then
asked per candidate coding, with ``*`` and ``identity;q=0`` honoured and
no substring tests (``gzip`` is not "in" ``x-gzipped``). Static files
choose a precompressed sibling with it; response compression chooses a
coding the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from heron.protocol.headers import split_comma_list

__all__ = ["accepted_encodings", "coding_quality"]

_QVALUE: Final = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")
"""RFC 9110 section 12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )."""


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
