"""What only Flask does here: send_file's ranges and revalidation, the WSGI environ it sees, ``heron module:app``.

The flows every hosted app shares (JSON, forms, uploads, sessions,
streaming, errors, keep-alive, ...) are checked on the Flask app too, in
test_hosted_apps.py. Here the app is served the way a user starts it: the
``heron`` console script, the app named by its module path, imported from
the current directory.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .hosted_support import FLASK
from .support import Server, launch

SOURCE = FLASK.source


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``heron tests.integration.apps.hosted.flask_app:app``, as a user types it, from the repository root."""
    script = Path(sys.executable).with_name("heron")  # installed into the venv by scripts/test
    command = [str(script)] if script.exists() else [sys.executable, "-m", "heron"]
    # launch() puts the repository on PYTHONPATH, a user's shell does not: heron imports from the current directory
    server = launch([*command, "tests.integration.apps.hosted.flask_app:app", "--port", "0", "--no-access-log"],
                    tmp_path_factory.mktemp("flask-script") / "heron.stderr",
                    env={"PYTHONPATH": os.environ.get("PYTHONPATH", "")})
    yield server
    assert server.stop() == 0, server.stderr()  # SIGTERM: a clean exit


def test_the_heron_console_script_serves_flask(server: Server) -> None:
    r = requests.post(server.url("/json"), json={"numbers": [2, 3]}, timeout=5)
    assert r.json() == {"received": {"numbers": [2, 3]}, "total": 5}


def test_send_file_ranges_and_conditional_get(server: Server) -> None:
    """The full download is checked in test_hosted_apps.py; send_file also answers ranges and revalidation."""
    partial = requests.get(server.url("/download"), headers={"Range": "bytes=100-199"}, timeout=5)
    assert partial.status_code == 206
    assert partial.content == SOURCE[100:200]
    assert partial.headers["Content-Range"] == f"bytes 100-199/{len(SOURCE)}"

    etag = requests.get(server.url("/download"), timeout=5).headers["ETag"]
    assert requests.get(server.url("/download"), headers={"If-None-Match": etag}, timeout=5).status_code == 304


def test_the_wsgi_environ_flask_sees(server: Server) -> None:
    env = requests.get(server.url("/environ?a=1&b=%C3%A9"), headers={"X-Thing": "x1"}, timeout=5).json()
    assert env == {
        "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/environ", "QUERY_STRING": "a=1&b=%C3%A9",
        "SERVER_NAME": env["SERVER_NAME"], "SERVER_PORT": str(server.port), "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": f"{server.host}:{server.port}", "HTTP_X_THING": "x1",
        "wsgi.version": [1, 0], "wsgi.url_scheme": "http", "wsgi.multithread": True, "wsgi.multiprocess": False,
        "wsgi.run_once": False, "wsgi.input_terminated": True,
        "str keys": True, "str values": True, "has wsgi.file_wrapper": True, "has wsgi.errors": True,
    }
    assert env["SERVER_NAME"]
