"""Files swapped under a running server: a FIFO in a served file's place never stops the process.

Anyone who can rename files in a served directory can put a FIFO where a
file was between the lookup (which saw a regular file) and the send. A
plain ``open()`` of a FIFO waits for a writer forever; on the event loop
that stops every connection of the process. Here a FIFO and the file
change places in a loop while clients ask for the file and for another
one: every request gets a whole answer in time, and the swapped file is
either all of itself or a 404.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import trustme

from .conftest import Serve
from .support import app_spec
from .test_tls import tls_flags

BIG = os.urandom(200 * 1024)  # above SMALL_FILE: sent from a descriptor with sendfile, not from memory
SMALL = b"still here\n"
ROUNDS = 2.0  # seconds of swapping


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    root.mkdir()
    (root / "big.bin").write_bytes(BIG)
    (root / "small.txt").write_bytes(SMALL)
    return root


def swap_with_a_fifo(path: Path, stash: Path, stop: threading.Event) -> int:
    """Put a FIFO in ``path``'s place, then a new copy of the file, again and again until ``stop``;
    the swaps made. A new copy each time (a new inode) makes the server look the file up afresh,
    so lookups keep racing the swaps."""
    stash.mkdir()
    os.mkfifo(stash / "fifo")
    swaps = 0
    while not stop.is_set():
        (stash / "file").write_bytes(BIG)
        os.replace(path, stash / "old")
        os.replace(stash / "fifo", path)
        time.sleep(0.001)
        os.replace(path, stash / "fifo")
        os.replace(stash / "file", path)
        time.sleep(0.001)
        swaps += 1
    return swaps


def hammer(url: str, stop: threading.Event, verify: str | bool) -> list[tuple[int, bytes]]:
    """Ask for ``url`` until ``stop``; every answer must come within 5 seconds."""
    answers = []
    with requests.Session() as session:
        while not stop.is_set():
            response = session.get(url, timeout=5, verify=verify)
            answers.append((response.status_code, response.content))
    return answers


@pytest.mark.parametrize(("target", "other", "tls"), [
    ("/big.bin", "/small.txt", False),
    ("/big.bin", "/small.txt", True),  # no sendfile: the file is read in the thread pool
    ("/file?name=big.bin", "/file?name=small.txt", False),
], ids=["static", "static-tls", "file-response"])
def test_a_fifo_swapped_in_for_a_served_file_never_stops_the_server(serve: Serve, site: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch, target: str,
                                                                    other: str, tls: bool) -> None:
    flags: list[str] = []
    verify: str | bool = True
    if tls:
        ca = trustme.CA()
        flags = tls_flags(ca, tmp_path)
        verify = str(tmp_path / "ca.pem")
        ca.cert_pem.write_to_path(verify)
    if target == "/big.bin":
        server = serve("--static", f"/={site}", *flags, app=None)
    else:
        monkeypatch.setenv("HERON_TEST_STATIC_DIR", str(site))
        server = serve(*flags, app=app_spec("file_response"))
    stop = threading.Event()
    with ThreadPoolExecutor(5) as pool:
        swapper = pool.submit(swap_with_a_fifo, site / "big.bin", tmp_path / "stash", stop)
        swapped = [pool.submit(hammer, server.url(target), stop, verify) for _ in range(2)]
        others = [pool.submit(hammer, server.url(other), stop, verify) for _ in range(2)]
        time.sleep(ROUNDS)
        stop.set()
        assert swapper.result(timeout=10) > 10
        big_answers = [answer for future in swapped for answer in future.result(timeout=10)]
        small_answers = [answer for future in others for answer in future.result(timeout=10)]
    assert small_answers and all(answer == (200, SMALL) for answer in small_answers)
    assert {status for status, _ in big_answers} <= {200, 404}
    assert all(body == BIG for status, body in big_answers if status == 200)
    assert requests.get(server.url(target), timeout=5, verify=verify).content == BIG
    assert "Traceback" not in server.stderr()
