"""Path parameter converters: what ``{id:int}`` accepts and how it becomes a value (web layer).

A converter has three parts: ``regex``, what one path segment must look
like (the router matches it against a single, already percent-decoded
segment, so it never sees a ``/``); ``to_python``, which turns the text
into the value the handler receives; and ``to_url``, the reverse, used by
``url_for`` and expected to return text that is already percent-encoded.
``to_python`` may raise ``ValueError`` to say "not this route after all".

Built in: ``str`` (the default), ``int``, ``float``, ``uuid`` and ``path``
(which alone may span several segments, and only as a route's last one).
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

INT_MAX_DIGITS = 18
"""``{x:int}`` accepts at most this many digits.

18 digits always fit a signed 64-bit integer, so a value can go to a
database column or a C extension without overflowing, and a client cannot
make the server convert a 100 000-digit number (CPython refuses beyond 4300
digits with ValueError; below that, int() is quadratic in the length).
"""


class Converter:
    """Base class for converters; subclass it, or use ``App.add_converter(name, regex, ...)``.

    The default is the ``str`` converter: one non-empty segment, returned as is.
    """

    regex: str = r"[^/]+"
    spans_segments: bool = False
    """True only for ``path``: the parameter takes the rest of the path, slashes included."""
    weight: int = 1
    """Order among parameters competing at one position: lower is tried first (``str`` is 2)."""

    def to_python(self, value: str) -> Any:
        return value

    def to_url(self, value: Any) -> str:
        text = str(value)
        if not text:
            raise ValueError("an empty value cannot fill a path segment")
        return quote(text, safe="")


class StrConverter(Converter):
    """One segment, any characters but ``/`` (the default converter)."""

    weight = 2  # the catch-all: every other converter at the same position is tried first


class IntConverter(Converter):
    """Decimal digits, no sign, at most ``INT_MAX_DIGITS``.

    No sign, so ``/item/5``, ``/item/+5`` and ``/item/-0`` are not three URLs
    for one resource, and an id is never negative by surprise.
    """

    regex = f"[0-9]{{1,{INT_MAX_DIGITS}}}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**INT_MAX_DIGITS:
            raise ValueError(f"{value!r} is not an int from 0 to {10**INT_MAX_DIGITS - 1}")
        return str(value)


class FloatConverter(Converter):
    """Unsigned decimal: ``3``, ``3.25``; never ``inf``, ``nan`` or an exponent."""

    regex = r"[0-9]{1,18}(?:\.[0-9]{1,18})?"

    def to_python(self, value: str) -> float:
        return float(value)

    def to_url(self, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{value!r} is not a finite, non-negative number")
        text = repr(float(value))
        if not re.fullmatch(self.regex, text):
            raise ValueError(f"{value!r} cannot be written as plain digits")
        return text


class UUIDConverter(Converter):
    """A UUID in its usual 8-4-4-4-12 hex form (either case), as ``uuid.UUID``."""

    regex = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

    def to_python(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_url(self, value: Any) -> str:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


class PathConverter(Converter):
    """The rest of the path, slashes included (non-empty); only as a route's last segment."""

    regex = r".+"
    spans_segments = True
    weight = 3

    def to_url(self, value: Any) -> str:
        text = str(value)
        if not text:
            raise ValueError("an empty value cannot fill a path parameter")
        return quote(text, safe="/")


class FunctionConverter(Converter):
    """A converter made of a regex and two functions (``App.add_converter(name, regex, ...)``)."""

    def __init__(self, regex: str, to_python: Callable[[str], Any] = str,
                 to_url: Callable[[Any], str] | None = None) -> None:
        self.regex = regex
        self._to_python = to_python
        self._to_url = to_url

    def to_python(self, value: str) -> Any:
        return self._to_python(value)

    def to_url(self, value: Any) -> str:
        return self._to_url(value) if self._to_url is not None else super().to_url(value)


def builtin_converters() -> dict[str, Converter]:
    """A fresh table of the built-in converters (each router owns its table)."""
    return {
        "str": StrConverter(),
        "int": IntConverter(),
        "float": FloatConverter(),
        "uuid": UUIDConverter(),
        "path": PathConverter(),
    }


def make_converter(converter: Converter | type[Converter] | str,
                   to_python: Callable[[str], Any] | None = None,
                   to_url: Callable[[Any], str] | None = None) -> Converter:
    """A Converter from an instance, a Converter subclass, or a regex and functions.

    Raises ValueError if the regex does not compile: a bad converter is found
    when it is added, not when a request arrives.
    """
    if isinstance(converter, str):
        made: Converter = FunctionConverter(converter, to_python or str, to_url)
    elif isinstance(converter, type) and issubclass(converter, Converter):
        made = converter()
    elif isinstance(converter, Converter):
        made = converter
    else:
        raise TypeError(f"a converter is a regex, a Converter or a Converter subclass, not {converter!r}")
    if (to_python is not None or to_url is not None) and not isinstance(converter, str):
        raise TypeError("to_python and to_url go with a regex; a Converter class has its own")
    if made.spans_segments:
        raise ValueError("only the built-in 'path' converter may span segments")
    try:
        re.compile(made.regex)
    except re.error as exc:
        raise ValueError(f"converter regex {made.regex!r} does not compile: {exc}") from None
    return made
