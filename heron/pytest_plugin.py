"""A pytest fixture that serves heron apps on real loopback ports.

Enable it with ``pytest_plugins = ["heron.pytest_plugin"]`` in a
``conftest.py``; then::

    def test_home(heron_server):
        url = heron_server(app)          # a real server on a free 127.0.0.1 port
        assert requests.get(url + "/").status_code == 200

Only pytest imports this module; heron itself never imports pytest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from heron.testing import live_server


@pytest.fixture
def heron_server() -> Iterator[Callable[..., str]]:
    """Factory: ``heron_server(app, **settings)`` returns the base URL; servers stop after the test."""
    with ExitStack() as stack:

        def start(app: Any, **settings: Any) -> str:
            return stack.enter_context(live_server(app, **settings))

        yield start
