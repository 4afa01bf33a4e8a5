"""curl as the client: keep-alive reuse, chunked streams, HTTP/1.0, 100-continue, HEAD (skipped without curl)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from .support import Server


def run_curl(curl: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run([curl, "-sS", "--max-time", "10", *args], capture_output=True, timeout=20)
    assert result.returncode == 0, result.stderr.decode()
    return result


def test_curl_reuses_the_connection_for_several_urls(echo_server: Server, curl: str) -> None:
    result = run_curl(curl, "-v", echo_server.url("/plaintext"), echo_server.url("/plaintext"),
                      echo_server.url("/plaintext"))
    assert result.stdout == b"Hello, World!" * 3
    assert result.stderr.count(b"Re-using existing connection") == 2
    assert result.stderr.count(b"Connected to") == 1


def test_curl_decodes_a_chunked_stream(echo_server: Server, curl: str) -> None:
    result = run_curl(curl, "-D", "-", echo_server.url("/stream?n=300"))
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head
    assert body == b"".join(b"chunk%d\n" % i for i in range(300))


def test_curl_http10_gets_the_stream_until_close(echo_server: Server, curl: str) -> None:
    result = run_curl(curl, "--http1.0", "-D", "-", echo_server.url("/stream?n=20"))
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    assert b"chunked" not in head and b"Connection: close" in head
    assert body == b"".join(b"chunk%d\n" % i for i in range(20))


def test_curl_waits_for_100_continue_then_sends_the_body(echo_server: Server, curl: str, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 64
    upload = tmp_path / "upload.bin"
    upload.write_bytes(payload)
    result = run_curl(curl, "-v", "-H", "Expect: 100-continue", "--data-binary", f"@{upload}",
                      echo_server.url("/echo"))
    assert b"HTTP/1.1 100 Continue" in result.stderr
    echoed = json.loads(result.stdout)
    assert echoed["body_len"] == len(payload)
    assert echoed["body_sha256"] == hashlib.sha256(payload).hexdigest()


def test_curl_chunked_upload(echo_server: Server, curl: str, tmp_path: Path) -> None:
    upload = tmp_path / "upload.txt"
    upload.write_bytes(b"hello chunked world\n" * 1000)
    result = run_curl(curl, "-H", "Transfer-Encoding: chunked", "--data-binary", f"@{upload}",
                      echo_server.url("/echo"))
    assert json.loads(result.stdout)["body_len"] == 20000


def test_curl_head_request(echo_server: Server, curl: str) -> None:
    result = run_curl(curl, "-I", echo_server.url("/plaintext"))
    assert result.stdout.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Length: 13\r\n" in result.stdout
    assert not result.stdout.endswith(b"Hello, World!")
