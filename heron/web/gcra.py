"""The generic cell rate algorithm, as a pure function over stored arrival times (web layer).

The generic cell rate algorithm (GCRA, the ATM leaky bucket as a meter)
keeps one number per key and limit: the theoretical arrival time (TAT),
when the key's bucket would be empty again. A limit of ``count`` per
``period`` with a ``burst`` admits a request at ``now`` if
``max(TAT, now) + interval - burst * interval <= now`` (``interval`` is
``period / count``), and then moves the TAT on by one interval. That is
exact (no window edges where twice the rate slips through, as fixed
windows allow), O(1), and what a store has to keep is one float.

Several limits on one route (10 a second and 1,000 an hour) are one
record per key, a tuple of TATs, decided together: a request is admitted
only if every limit admits it, and a refused request uses up none of them.
``gcra`` is that decision as a pure function; every store
(``heron.web.ratestores``) runs it atomically per key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, NamedTuple, Protocol

__all__ = ["Decision", "Rate", "RateStore", "gcra"]

_UNITS: Final = {name: seconds for seconds, names in ((1, "s sec second seconds"), (60, "m min minute minutes"),
                                                   (3600, "h hour hours"), (86400, "d day days"))
                  for name in names.split()}
_RATE: Final = re.compile(r"\s*(\d+)\s*(?:/|per)\s*(\d*)\s*([a-z]+)\s*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` requests per ``period`` seconds, at most ``burst`` (default: ``count``) at once."""

    count: int
    period: float
    burst: int = 0
    interval: float = field(init=False, repr=False, compare=False)
    """Seconds between requests at the steady rate: one unit of the bucket."""
    window: float = field(init=False, repr=False, compare=False)
    """``burst`` intervals: how far ahead of now a key's TAT may run before it is refused."""

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise ValueError(f"a rate's count must be a positive int, got {self.count!r}")
        if not 0 < self.period < math.inf:
            raise ValueError(f"a rate's period must be positive seconds, got {self.period!r}")
        if not self.burst:
            object.__setattr__(self, "burst", self.count)
        elif isinstance(self.burst, bool) or not isinstance(self.burst, int) or self.burst < 1:
            raise ValueError(f"a rate's burst must be a positive int, got {self.burst!r}")
        object.__setattr__(self, "interval", self.period / self.count)  # kept: read on every request
        object.__setattr__(self, "window", self.burst * self.interval)

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"10/second"``, ``"100/10s"``, ``"1000 per hour"``, ``"5/m"``: count, then a period in s, m, h or d."""
        match = _RATE.fullmatch(text)
        unit = _UNITS.get(match[3].lower()) if match else None
        if match is None or unit is None:
            raise ValueError(f"not a rate: {text!r} (write '10/second', '100/10s' or '1000 per hour')")
        return cls(int(match[1]), int(match[2] or 1) * unit)


class Decision(NamedTuple):
    """What ``gcra`` decided: admitted or not, and per limit how many are left and when all are back."""

    allowed: bool
    retry_after: float
    """Seconds until the request would be admitted (0 when it was)."""
    remaining: tuple[int, ...]
    reset: tuple[int, ...]
    """Whole seconds (rounded up) until each limit's full burst is available again."""


def gcra(record: tuple[float, ...] | None, rates: Sequence[Rate], now: float) -> tuple[tuple[float, ...] | None, Decision]:
    """Decide one request against ``rates``, given the key's stored TATs (None: never seen or forgotten).

    Returns the record to store (None when refused: nothing changes) and
    the decision. Pure, so every store runs the same arithmetic. Plain
    loops rather than comprehensions: this runs on every request, and
    with one or two rates a comprehension's own call costs more than the
    arithmetic (bench/ratelimit.py).
    """
    if record is None:
        record = (now,) * len(rates)
    wait = 0.0
    for tat, rate in zip(record, rates):
        early = tat + rate.interval - rate.window - now
        if early > wait:
            wait = early
    allowed = wait <= 1e-9  # a nanosecond of slack for the rounding of float sums
    tats, remaining, reset = [], [], []
    for tat, rate in zip(record, rates):
        if tat < now:
            tat = now
        if allowed:
            tat += rate.interval
        tats.append(tat)
        left = int((now + rate.window - tat) / rate.interval + 1e-9)
        remaining.append(left if left > 0 else 0)  # below 0 after the clock stepped back
        reset.append(math.ceil(tat - now - 1e-9))
    if allowed:
        return tuple(tats), Decision(True, 0.0, tuple(remaining), tuple(reset))
    return None, Decision(False, wait, tuple(remaining), tuple(reset))


class RateStore(Protocol):
    """Where the TATs live: ``hit`` runs ``gcra`` for one key atomically (sync here; an async store's
    ``hit`` is a coroutine function with the same arguments, and is awaited)."""

    def hit(self, key: str, rates: Sequence[Rate], now: float) -> Decision: ...
