"""The phases of a connection, the timer that guards each, and the moves between them (server layer).

A connection is always in exactly one phase. The table below says, for
each, which limit times it out and what then happens; ``MOVES`` lists
every change of phase the connection makes, so the life of a connection
can be read here, in the spirit of h11's ``_state.py`` and Go's
``http.ConnState``::

                 head parsed              answered, body all read, another request allowed
    HEAD ──────────────────────▶ HANDLING ──────────────────────────────────────▶ IDLE ──first byte──▶ HEAD
     ▲  (header_timeout)          (body_timeout, min_body_rate     │                 (keepalive_timeout)
     │                             while the handler waits)        │ answered, body not all read
     │                                                             ▼
     └────────────────── body all read, drained ───────────── DRAINING (body_timeout, min_body_rate)

    HANDLING ──the app accepts a WebSocket handshake (101)──▶ WEBSOCKET (websocket_ping_interval)

    any phase ──last request answered, a framing error, a timeout, shutdown──▶ CLOSING

A new connection starts in HEAD: its first head must arrive within
``header_timeout`` of the accept. Whether the connection may carry
another request is decided once per request, when its response head is
written (``HTTPConnection._keep_alive``); HANDLING and DRAINING then end
in CLOSING instead of IDLE.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Final, Literal, NamedTuple

__all__ = ["CLOSING", "DRAINING", "GUARDS", "HANDLING", "HEAD", "IDLE", "MOVES", "PHASES", "WEBSOCKET", "Guard",
           "Phase", "PhaseTimer"]


Phase = Literal["head", "handling", "draining", "idle", "websocket", "closing"]
"""A connection's phase: one of the five names below (plain strings: a connection compares its
phase several times per request, and an ``enum`` member costs ten times a module constant)."""

HEAD: Final = "head"
"""A request head is expected or arriving."""
HANDLING: Final = "handling"
"""A request is with its handler, which may be reading the body, while its response is sent."""
DRAINING: Final = "draining"
"""The response is sent; what is left of a body the handler did not read is read and dropped."""
IDLE: Final = "idle"
"""Between requests on a kept-alive connection, with no byte of the next one yet."""
WEBSOCKET: Final = "websocket"
"""After ``101 Switching Protocols``: WebSocket frames both ways (``heron.server.websocket``)."""
CLOSING: Final = "closing"
"""No further request: the connection is closed, or will be once its last response is out."""
PHASES: Final[tuple[Phase, ...]] = (HEAD, HANDLING, DRAINING, IDLE, WEBSOCKET, CLOSING)


class Guard(NamedTuple):
    """What times a phase out: the ``Limits`` field (None: nothing does), whether it runs from the
    moment the phase is entered (else while the connection waits for body bytes: in HANDLING while
    the handler does, in DRAINING all along), and what then happens."""

    limit: str | None
    from_entry: bool
    on_expiry: str


GUARDS: Final[dict[Phase, Guard]] = {
    HEAD: Guard("header_timeout", True, "408 if part of a head came, then close; else close"),
    HANDLING: Guard("body_timeout", False, "the body fails: 408, then close"),
    DRAINING: Guard("body_timeout", False, "close"),
    IDLE: Guard("keepalive_timeout", True, "close"),
    WEBSOCKET: Guard("websocket_ping_interval", True,
                     "a ping; no answer within websocket_ping_timeout: close 1011 (also websocket_close_timeout)"),
    CLOSING: Guard("linger_timeout", False,
                   "close (armed only to linger after an answer sent before the request was read: respond.refuse)"),
}
"""The timer of each phase. A wait for body bytes (in HANDLING and DRAINING) also ends once the body
falls under ``min_body_rate`` (``HTTPConnection._await_body``)."""

MOVES: Final[dict[Phase, frozenset[Phase]]] = {
    HEAD: frozenset({HANDLING, CLOSING}),
    HANDLING: frozenset({IDLE, DRAINING, WEBSOCKET, CLOSING}),
    DRAINING: frozenset({IDLE, CLOSING}),
    IDLE: frozenset({HEAD, HANDLING, CLOSING}),  # HANDLING: a pipelined head already whole in the buffer
    WEBSOCKET: frozenset({CLOSING}),
    CLOSING: frozenset({CLOSING}),
}
"""The phases each phase may move to; ``HTTPConnection._enter`` checks every move against it."""


class PhaseTimer:
    """One lazy timer per connection: it guards the current phase until ``disarm``.

    Re-arming only moves the deadline: the one scheduled handle, on
    waking before the deadline, sleeps again until it, and is rescheduled
    only when the new deadline comes sooner. Without that, every request
    would schedule and cancel a handle (keep-alive, then header).
    """

    __slots__ = ("_loop", "_fire", "_handle", "_when", "deadline", "armed")

    SLACK: Final = 0.001
    """Seconds a handle may run early: the loop runs handles due within its clock's resolution."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fire: Callable[[], None]) -> None:
        self._loop = loop
        self._fire: Callable[[], None] | None = fire
        self._handle: asyncio.TimerHandle | None = None
        self._when = 0.0  # when that handle runs
        self.deadline = math.inf
        """Loop time the guarded phase times out (inf: nothing is guarded)."""
        self.armed = False
        """Something is guarded (an attribute, not a property: it is read for every piece of a body)."""

    def arm(self, seconds: float) -> None:
        """Call ``fire`` once ``seconds`` pass, unless disarmed or re-armed first."""
        deadline = self._loop.time() + seconds
        self.deadline = deadline
        self.armed = True
        if self._handle is None or self._when > deadline:
            self._schedule(deadline)

    def disarm(self) -> None:
        """Nothing is guarded now (a scheduled handle will find nothing to do)."""
        self.deadline = math.inf
        self.armed = False

    def cancel(self) -> None:
        """Disarm for good (the connection is lost): let go of the handle and of ``fire``, which both
        hold the connection, so it is freed at once rather than left in a reference cycle for the
        garbage collector; a later ``arm`` fires nothing."""
        self.disarm()
        self._fire = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._when = when
        self._handle = self._loop.call_at(when, self._wake)

    def _wake(self) -> None:
        self._handle = None
        if not self.armed:
            return
        deadline = self.deadline
        if self._loop.time() < deadline - self.SLACK:
            self._schedule(deadline)  # re-armed since this handle was scheduled
            return
        self.disarm()
        if self._fire is not None:
            self._fire()
