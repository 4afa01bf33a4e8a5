"""Rate limit stores: bounded in memory, and one shared table for every process of a machine."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from heron.web.gcra import Rate
from heron.web.ratestores import MAX_RATES, MemoryStore, SharedStore

HOURLY = [Rate(50, 3600.0)]


def admitted(store: MemoryStore | SharedStore, key: str, times: int, now: float = 1000.0) -> int:
    return sum(store.hit(key, HOURLY, now).allowed for _ in range(times))


@pytest.mark.parametrize("make", [MemoryStore, SharedStore])
def test_each_key_has_its_own_budget(make: type) -> None:
    store = make()
    assert admitted(store, "a", 80) == 50 and admitted(store, "b", 80) == 50 and admitted(store, "a", 5) == 0


def test_a_flood_of_keys_cannot_grow_the_memory_store() -> None:
    store = MemoryStore(max_keys=100)
    for i in range(10_000):
        store.hit(f"client-{i}", HOURLY, 1000.0)
    assert len(store) == 100
    assert admitted(store, "client-9999", 100) == 49  # the most recent keys are the ones kept


def test_idle_keys_leave_the_memory_store_as_new_ones_come() -> None:
    store = MemoryStore()
    second = [Rate(1, 1.0)]
    for i in range(1000):
        store.hit(f"old-{i}", second, 0.0)
    for i in range(1000):
        store.hit(f"new-{i}", second, 10.0)  # every old key's bucket is full again by now
    assert len(store) == 1000


def test_a_flood_of_keys_cannot_grow_the_shared_table(tmp_path: Path) -> None:
    path = tmp_path / "limits"
    store = SharedStore(path, slots=64)
    size = path.stat().st_size
    for i in range(5000):
        store.hit(f"client-{i}", HOURLY, 1000.0)
    assert path.stat().st_size == size
    assert admitted(store, "client-4999", 100) == 49


def _hammer(path: str, key: str, times: int, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    results.put(admitted(SharedStore(path), key, times))


def test_processes_sharing_a_table_share_one_budget(tmp_path: Path) -> None:
    """Four processes, each trying 40 times on one key with 50 an hour: 50 get through in all."""
    path = str(tmp_path / "limits")
    SharedStore(path)
    context = multiprocessing.get_context("fork")
    results: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    workers = [context.Process(target=_hammer, args=(path, "shared", 40, results)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert sum(results.get(timeout=5) for _ in workers) == 50


def test_a_store_made_before_a_fork_is_shared_without_a_name() -> None:
    store = SharedStore()
    assert admitted(store, "k", 10) == 10
    pid = os.fork()
    if pid == 0:
        os._exit(admitted(store, "k", 100))
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 40 and admitted(store, "k", 10) == 0


def test_a_file_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other"
    path.write_bytes(b"something else entirely" * 10)
    with pytest.raises(ValueError):
        SharedStore(path)


def test_more_limits_than_a_slot_holds_are_refused() -> None:
    with pytest.raises(ValueError):
        SharedStore().hit("k", [Rate(1, 1.0)] * (MAX_RATES + 1), 0.0)
