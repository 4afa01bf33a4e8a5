"""Descriptors kept open between static file responses (heron.web.staticcache.OpenFiles), on a real loop and real files."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from heron.messages.files import OpenFile, identity
from heron.web.staticcache import OpenFiles


def _open_now(fd: int) -> bool:
    """Is ``fd`` open? (Called only while nothing else opens files, so its number is not reused.)"""
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(b"0123456789")
    return path


def test_the_same_descriptor_serves_while_the_file_is_unchanged(data: Path) -> None:
    async def run() -> None:
        files = OpenFiles()
        first = files.get(str(data), identity(os.stat(data)))
        assert first is not None
        assert os.pread(first.fileno(), 4, 3) == b"3456"
        assert files.get(str(data), identity(os.stat(data))) is first
        files.close()

    asyncio.run(run())


def test_a_replaced_or_rewritten_file_gets_a_new_descriptor(data: Path, tmp_path: Path) -> None:
    async def run() -> None:
        files = OpenFiles()
        old = files.get(str(data), identity(os.stat(data)))
        assert old is not None
        replacement = tmp_path / "new.bin"
        replacement.write_bytes(b"abcdefghij")  # same size, another inode
        os.replace(replacement, data)
        new = files.get(str(data), identity(os.stat(data)))
        assert new is not None and new is not old
        assert os.pread(new.fileno(), 10, 0) == b"abcdefghij"
        assert old.use() is None  # retired and unused: closed
        data.write_bytes(b"longer than before")  # in place: same inode, new size and mtime
        again = files.get(str(data), identity(os.stat(data)))
        assert again is not None and again is not new
        assert os.pread(again.fileno(), 100, 0) == b"longer than before"
        files.close()

    asyncio.run(run())


def test_a_stat_older_than_the_file_gets_no_descriptor(data: Path, tmp_path: Path) -> None:
    async def run() -> None:
        files = OpenFiles()
        stale = os.stat(data)
        replacement = tmp_path / "new.bin"
        replacement.write_bytes(b"replaced")
        os.replace(replacement, data)  # between the caller's stat and the open
        assert files.get(str(data), identity(stale)) is None
        assert len(files) == 0
        assert files.get(str(tmp_path / "missing"), identity(stale)) is None

    asyncio.run(run())


def test_a_fifo_in_the_files_place_is_refused_without_waiting(data: Path) -> None:
    async def run() -> None:
        files = OpenFiles()
        info = os.stat(data)
        data.unlink()
        os.mkfifo(data)  # no writer: a blocking open would never return
        assert files.get(str(data), identity(info)) is None
        assert len(files) == 0

    asyncio.run(run())  # a blocking open would hang here until pytest-timeout


def test_a_descriptor_in_use_stays_open_until_its_last_user_is_done(data: Path) -> None:
    async def run() -> None:
        files = OpenFiles()
        file = files.get(str(data), identity(os.stat(data)))
        assert file is not None
        fd = file.fileno()
        user = file.use()
        assert user is file
        with user:
            files.close()  # retired while a response is sending it
            assert _open_now(fd)
            assert os.pread(fd, 2, 0) == b"01"
            late = file.use()  # a response made before: the descriptor is still open, so it may
            assert late is file
            with late:
                pass
            assert _open_now(fd)  # the first one is still sending
        assert not _open_now(fd)
        assert file.use() is None  # closed: a response made before opens the path instead

    asyncio.run(run())


def test_at_most_limit_descriptors_are_kept(tmp_path: Path) -> None:
    async def run() -> None:
        files = OpenFiles(limit=2)
        paths = []
        for i in range(4):
            path = tmp_path / f"f{i}"
            path.write_bytes(b"x")
            paths.append(str(path))
        got = [files.get(path, identity(os.stat(path))) for path in paths]
        assert [file is not None for file in got] == [True, True, False, False]
        assert len(files) == 2
        files.close()

    asyncio.run(run())


def test_descriptors_nobody_asks_for_are_closed_after_idle_seconds(data: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.bin"
    other.write_bytes(b"other")

    async def run() -> None:
        files = OpenFiles(idle=0.05)
        idle = files.get(str(data), identity(os.stat(data)))
        busy = files.get(str(other), identity(os.stat(other)))
        assert idle is not None and busy is not None
        for _ in range(8):  # 0.2 s: four sweeps; "other" is asked for in every period
            await asyncio.sleep(0.025)
            assert files.get(str(other), identity(os.stat(other))) is busy
        assert idle.use() is None
        assert len(files) == 1
        await asyncio.sleep(0.15)  # nobody asks any more: closed, and no timer left behind
        assert busy.use() is None
        assert len(files) == 0
        assert files._sweep_timer is None

    asyncio.run(run())


def test_open_file_is_only_a_descriptor_and_its_users() -> None:
    read, write = os.pipe()
    os.close(write)
    shared = OpenFile(read, (0, 0, 0, 0))
    user = shared.use()
    assert user is shared
    with user:
        shared.retire()
        assert _open_now(read)
    assert not _open_now(read)
    assert shared.use() is None
