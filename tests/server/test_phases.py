"""The phase table and the one lazy timer each connection guards its phase with, on a real event loop."""

from __future__ import annotations

import asyncio
import dataclasses

from heron.limits import Limits
from heron.server.phases import CLOSING, GUARDS, MOVES, PHASES, PhaseTimer


def test_every_phase_has_a_guard_naming_a_limit_or_none() -> None:
    limit_names = {f.name for f in dataclasses.fields(Limits)}
    assert set(GUARDS) == set(PHASES)
    for phase, guard in GUARDS.items():
        assert guard.limit is None or guard.limit in limit_names, phase
        assert guard.from_entry is False or guard.limit is not None, phase


def test_every_phase_can_be_left_and_closing_is_reachable_from_all() -> None:
    assert set(MOVES) == set(PHASES) and all(moves <= set(PHASES) for moves in MOVES.values())
    assert all(CLOSING in moves for moves in MOVES.values())
    assert MOVES[CLOSING] == {CLOSING}


async def _timeline(script: list[tuple[float, str, float]], until: float) -> list[float]:
    """Run ``script`` ((at, "arm" | "disarm" | "cancel", seconds)) on a timer; when it fired, from the start."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    fired: list[float] = []
    timer = PhaseTimer(loop, lambda: fired.append(loop.time() - start))
    for at, action, seconds in script:
        await asyncio.sleep(max(0.0, start + at - loop.time()))
        if action == "arm":
            timer.arm(seconds)
        else:
            getattr(timer, action)()
    await asyncio.sleep(max(0.0, start + until - loop.time()))
    return fired


def test_an_armed_timer_fires_once_at_its_deadline() -> None:
    fired = asyncio.run(_timeline([(0.0, "arm", 0.05)], 0.2))
    assert len(fired) == 1 and 0.049 <= fired[0] < 0.15


def test_re_arming_moves_the_deadline_either_way() -> None:
    later = asyncio.run(_timeline([(0.0, "arm", 0.05), (0.03, "arm", 0.1)], 0.25))
    assert len(later) == 1 and 0.129 <= later[0] < 0.2
    sooner = asyncio.run(_timeline([(0.0, "arm", 0.2), (0.01, "arm", 0.03)], 0.3))
    assert len(sooner) == 1 and 0.039 <= sooner[0] < 0.1


def test_a_disarmed_or_cancelled_timer_does_not_fire() -> None:
    assert asyncio.run(_timeline([(0.0, "arm", 0.03), (0.01, "disarm", 0)], 0.1)) == []
    assert asyncio.run(_timeline([(0.0, "arm", 0.03), (0.01, "cancel", 0)], 0.1)) == []


def test_armed_says_whether_a_phase_is_guarded() -> None:
    async def main() -> list[bool]:
        timer = PhaseTimer(asyncio.get_running_loop(), lambda: None)
        seen = [timer.armed]
        timer.arm(10)
        seen.append(timer.armed)
        timer.disarm()
        seen.append(timer.armed)
        timer.cancel()
        return seen

    assert asyncio.run(main()) == [False, True, False]
