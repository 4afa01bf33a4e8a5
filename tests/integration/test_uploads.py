"""Forms and uploads over a real server, from requests, httpx, curl and raw sockets: awkward names, boundaries and
sizes, every form limit answered with its status, and every temporary file gone when its request ends."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

from .conftest import ServerPool
from .support import Server, app_spec, exchange, parse_responses, post, recv_until_close

FLAGS = ("--upload-memory-bytes", "65536", "--max-upload-bytes", "8388608", "--max-body-bytes", "33554432")
NAMES = ['plain.txt', 'résumé final.pdf', 'we"ird;name=x.txt', "back\\slash.txt", "../../etc/passwd", "😀.png"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    pool = ServerPool(tmp_path_factory.mktemp("uploads"))
    try:
        yield pool.start(*FLAGS, app=app_spec("uploads"))
    finally:
        pool.stop_all()


def spooled(server: Server) -> int:
    """Upload files the server process still has open, once any in-flight request has ended."""
    deadline = time.monotonic() + 5
    while True:
        count: int = requests.get(server.url("/spooled"), timeout=5).json()["open"]
        if count == 0 or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


def contents() -> list[tuple[str, bytes]]:
    """One file per awkward name; sizes either side of the memory threshold, one with CR/LF runs and
    something that looks like a boundary inside."""
    sizes = [0, 1, 65535, 65537, 300_000, 1_000_003]
    files = [(name, os.urandom(size)) for name, size in zip(NAMES, sizes)]
    files[3] = (files[3][0], b"\r\n--\r\n--boundary\r\n" * 20_000)
    return files


def check(answer: dict[str, Any], files: list[tuple[str, bytes]]) -> None:
    got = answer["files"]
    assert [f["size"] for f in got] == [len(content) for _, content in files]
    assert [f["sha256"] for f in got] == [hashlib.sha256(content).hexdigest() for _, content in files]
    assert [f["in_memory"] for f in got] == [len(content) <= 65536 for _, content in files]
    for f in got:
        assert "/" not in f["filename"] and "\\" not in f["filename"] and not f["filename"].startswith(".")
    # Browsers, requests, httpx and curl all send '"' as %22 (WHATWG's form encoding), which nobody can decode
    # back (a name may hold "%22" itself), so it is left as sent.
    assert [f["raw_filename"] for f in got] == [name.replace('"', "%22") for name, _ in files]


@pytest.mark.parametrize("path", ["/upload", "/upload-sync"])
def test_requests_uploads_files_and_fields(server: Server, path: str) -> None:
    files = contents()
    response = requests.post(server.url(path), data={"title": "Ünïcode title", "empty": ""},
                             files=[(f"f{i}", (name, content, "application/octet-stream"))
                                    for i, (name, content) in enumerate(files)], timeout=30)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["fields"] == [["title", "Ünïcode title"], ["empty", ""]]
    check(answer, files)
    names = [f["filename"] for f in answer["files"]]
    assert names[:2] == ["plain.txt", "résumé final.pdf"] and names[4] == "passwd"
    assert spooled(server) == 0


def test_httpx_uploads_files_and_fields(server: Server) -> None:
    files = contents()
    with httpx.Client(timeout=30) as client:
        response = client.post(server.url("/upload"), data={"a": "1", "b": ["x", "y"]},
                               files=[("f", (name, content, "image/png")) for name, content in files])
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["fields"] == [["a", "1"], ["b", "x"], ["b", "y"]]
    check(answer, files)
    assert {f["content_type"] for f in answer["files"]} == {"image/png"}
    assert spooled(server) == 0


def test_curl_uploads_files_with_awkward_names(server: Server, tmp_path: Path) -> None:
    files = contents()
    args = ["curl", "-sS", "--max-time", "30", "-F", "note=from curl"]
    for i, (name, content) in enumerate(files):
        path = tmp_path / f"file{i}"
        path.write_bytes(content)
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        args += ["-F", f'f{i}=@{path};filename="{quoted}";type=application/x-test']
    result = subprocess.run([*args, server.url("/upload")], capture_output=True, timeout=60, check=True)
    answer = json.loads(result.stdout)
    assert answer["fields"] == [["note", "from curl"]]
    check(answer, files)
    assert spooled(server) == 0


def test_an_awkward_boundary_and_a_body_trickled_in_small_pieces(server: Server) -> None:
    """A quoted boundary with every character RFC 2046 allows, and pieces that split it everywhere."""
    boundary = "'()+_,-./:=? x"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\none\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="f"; filename="f.bin"\r\n\r\n').encode()
    body += b"\r\n--'()+_,-./:=?" + f"\r\n--{boundary}--\r\n".encode()
    data = post("/upload", body, ("Content-Type", f'multipart/form-data; boundary="{boundary}"'),
                ("Connection", "close"))
    with server.connect() as sock:
        for at in range(0, len(data), 7):
            sock.sendall(data[at : at + 7])
        received = recv_until_close(sock, 10)
    (response,) = parse_responses(received.data)
    assert response.status == 200, response.body
    answer = json.loads(response.body)
    assert answer["fields"] == [["a", "one"]]
    assert answer["files"][0]["sha256"] == hashlib.sha256(b"\r\n--'()+_,-./:=?").hexdigest()


def multipart(*parts: bytes, boundary: str = "b0undary") -> tuple[bytes, str]:
    return b"".join(f"--{boundary}\r\n".encode() + part + b"\r\n" for part in parts) + \
        f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def ask(server: Server, body: bytes, content_type: str, path: str = "/upload") -> tuple[int, bytes]:
    response = requests.post(server.url(path), data=body, headers={"Content-Type": content_type}, timeout=30)
    return response.status_code, response.content


@pytest.mark.parametrize("body, status, detail", [
    (multipart(b'Content-Disposition: form-data; name="f"; filename="x"\r\n\r\n' + b"x" * 8388609),
     413, b"an uploaded file is larger than 8388608 bytes\n"),
    (multipart(*[b'Content-Disposition: form-data; name="f"; filename="f"\r\n\r\nv'] * 101),
     413, b"more than 100 files in a form\n"),
    (multipart(b'Content-Disposition: form-data; name="a"\r\n\r\n' + b"x" * 1048577),
     413, b"a form field is larger than 1048576 bytes\n"),
    (multipart(*[b'Content-Disposition: form-data; name="a"\r\n\r\nv'] * 1001),
     413, b"more than 1000 parts in a multipart body\n"),
    (multipart(b'Content-Disposition: form-data; name="a"\r\n' + b"X-Pad: " + b"p" * 9000 + b"\r\n\r\nv"),
     413, b"multipart part headers too large\n"),
    (multipart(b'Content-Disposition: form-data; name="a"\r\n' + b"X-A: 1\r\n" * 16 + b"\r\nv"),
     413, b"more than 16 header fields in a multipart part\n"),
    (multipart(b'Content-Disposition: form-data; name="a"; name*=UTF-8\'\'b\r\n\r\nv'),
     400, b"Content-Disposition name* says something else than name\n"),
    (multipart(b"Content-Type: text/plain\r\n\r\nno disposition"),
     400, b"a multipart part needs exactly one Content-Disposition\n"),
], ids=["file size", "files", "field size", "parts", "header bytes", "header count", "smuggled name*", "no disposition"])
def test_form_limits_and_malformed_bodies_answer_with_their_status(
        server: Server, body: tuple[bytes, str], status: int, detail: bytes) -> None:
    assert ask(server, *body) == (status, detail)
    assert spooled(server) == 0
    assert ask(server, *multipart(b'Content-Disposition: form-data; name="a"\r\n\r\nok'))[0] == 200


def test_urlencoded_forms_share_the_field_limits(server: Server) -> None:
    assert ask(server, b"a=" + b"x" * 1048577, "application/x-www-form-urlencoded") == \
        (413, b"a form field is larger than 1048576 bytes\n")
    assert ask(server, b"&".join([b"a=1"] * 1001), "application/x-www-form-urlencoded") == \
        (413, b"too many form fields (the limit is 1000)\n")


def test_a_small_malformed_form_keeps_the_connection(server: Server) -> None:
    """A 400 for the form's format is not one for HTTP's framing: the rest is drained, the next request served."""
    bad, content_type = multipart(b"Content-Type: text/plain\r\n\r\nx")
    good, _ = multipart(b'Content-Disposition: form-data; name="a"\r\n\r\nok')
    data = post("/upload", bad, ("Content-Type", content_type)) + \
        post("/upload", good, ("Content-Type", content_type), ("Connection", "close"))
    responses = parse_responses(exchange(server, data).data)
    assert [r.status for r in responses] == [400, 200]


def test_upload_files_are_removed_when_the_client_leaves_mid_upload(server: Server) -> None:
    body, content_type = multipart(
        b'Content-Disposition: form-data; name="f"; filename="big"\r\n\r\n' + b"x" * 2_000_000)
    data = post("/upload", body, ("Content-Type", content_type))
    with server.connect() as sock:
        sock.sendall(data[: len(data) // 2])
        time.sleep(0.3)
    assert spooled(server) == 0


def test_upload_files_are_removed_when_the_handler_fails_after_reading(server: Server) -> None:
    body, content_type = multipart(
        b'Content-Disposition: form-data; name="f"; filename="big"\r\n\r\n' + b"x" * 500_000)
    assert ask(server, body, content_type, "/upload-then-fail")[0] == 500
    assert spooled(server) == 0


def test_a_body_past_max_body_bytes_is_413_before_any_upload(server: Server) -> None:
    body, content_type = multipart(
        b'Content-Disposition: form-data; name="f"; filename="big"\r\n\r\n' + b"x" * 33_554_432)
    assert ask(server, body, content_type)[0] == 413
    assert spooled(server) == 0


def test_a_larger_upload_is_streamed_and_hashed(server: Server) -> None:
    content = os.urandom(7 * 1024 * 1024)
    response = requests.post(server.url("/upload-hash"), files={"f": ("big.bin", content)}, timeout=60)
    assert response.json() == {"big.bin": [len(content), hashlib.sha256(content).hexdigest()]}
    assert spooled(server) == 0


@pytest.mark.parametrize("app", ["examples/echo_wsgi.py:app", "examples/echo_asgi.py:app"])
def test_hosted_apps_get_the_multipart_stream_untouched(tmp_path: Path, app: str) -> None:
    pool = ServerPool(tmp_path)
    try:
        hosted = pool.start(app=app)
        body, content_type = multipart(b'Content-Disposition: form-data; name="f"; filename="x"\r\n\r\n\x00\r\n--')
        status, answer = ask(hosted, body, content_type, "/echo")
        assert status == 200
        assert json.loads(answer)["body_sha256"] == hashlib.sha256(body).hexdigest()
    finally:
        pool.stop_all()
