"""HTTPS: a real certificate chain, ALPN, and no protocol older than TLS 1.2."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trustme
from websockets.sync.client import connect

from .conftest import Serve
from .support import ResponseReader, Server, app_spec, get, recv_until_close


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def tls_flags(ca: trustme.CA, tmp_path: Path) -> list[str]:
    """``--certfile`` and ``--keyfile`` for a certificate ``ca`` issues to 127.0.0.1 and localhost."""
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    for pem in cert.cert_chain_pems[1:]:
        pem.write_to_path(str(certfile), append=True)
    cert.private_key_pem.write_to_path(str(keyfile))
    return ["--certfile", str(certfile), "--keyfile", str(keyfile)]


@pytest.fixture
def tls_server(serve: Serve, ca: trustme.CA, tmp_path: Path) -> Iterator[Server]:
    server = serve(*tls_flags(ca, tmp_path))
    assert server.scheme == "https"
    yield server


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def tls_connect(server: Server, context: ssl.SSLContext) -> ssl.SSLSocket:
    sock = socket.create_connection((server.host, server.port), timeout=5)
    return context.wrap_socket(sock, server_hostname="localhost")


def test_https_request_verifies_against_the_ca(tls_server: Server, ca_file: str) -> None:
    response = requests.post(tls_server.url("/echo"), data=b"secret", verify=ca_file, timeout=5)
    assert response.status_code == 200
    assert response.json()["body_len"] == 6


def test_https_keep_alive_and_stream(tls_server: Server, ca_file: str) -> None:
    with requests.Session() as session:
        for _ in range(3):
            assert session.get(tls_server.url("/plaintext"), verify=ca_file, timeout=5).text == "Hello, World!"
        stream = session.get(tls_server.url("/stream?n=1000"), verify=ca_file, timeout=5)
        assert stream.text == "".join(f"chunk{i}\n" for i in range(1000))


def test_alpn_selects_http11(tls_server: Server, ca: trustme.CA) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    context.set_alpn_protocols(["h2", "http/1.1"])
    with tls_connect(tls_server, context) as sock:
        assert sock.selected_alpn_protocol() == "http/1.1"
        assert sock.version() in ("TLSv1.2", "TLSv1.3")
        sock.sendall(get("/plaintext"))
        assert ResponseReader(sock).read().body == b"Hello, World!"


def old_tls_context(ca: trustme.CA, newest: ssl.TLSVersion) -> ssl.SSLContext:
    """A client context offering nothing newer than ``newest`` (skip if OpenSSL cannot)."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = newest
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 offers TLS 1.1 only at level 0
    except (ValueError, ssl.SSLError) as exc:
        pytest.skip(f"this OpenSSL cannot act as a TLS 1.1 client: {exc}")
    return context


def test_tls11_client_is_refused(tls_server: Server, ca: trustme.CA) -> None:
    with pytest.raises(ssl.SSLError) as info:
        with tls_connect(tls_server, old_tls_context(ca, ssl.TLSVersion.TLSv1_1)):
            pass
    message = str(info.value).upper()
    if "NO_PROTOCOLS_AVAILABLE" in message or "NO PROTOCOLS AVAILABLE" in message:
        pytest.skip("this OpenSSL refuses TLS 1.1 before contacting the server")
    # The server answers with a protocol_version alert or, under asyncio, just closes.
    assert "VERSION" in message or isinstance(info.value, ssl.SSLEOFError), message
    # The same client allowed TLS 1.2 gets in: it was the version that was refused.
    with tls_connect(tls_server, old_tls_context(ca, ssl.TLSVersion.TLSv1_2)) as sock:
        assert sock.version() == "TLSv1.2"
        sock.sendall(get("/plaintext"))
        assert ResponseReader(sock).read().body == b"Hello, World!"


def test_plain_http_on_the_tls_port_does_not_hurt_the_server(tls_server: Server, ca_file: str) -> None:
    with tls_server.connect() as sock:
        sock.sendall(get("/plaintext"))
        try:
            data = sock.recv(1000)
        except ConnectionResetError:
            data = b""
    assert b"Hello" not in data
    assert requests.get(tls_server.url("/plaintext"), verify=ca_file, timeout=5).status_code == 200


def test_tls_handshake_never_started_is_cut_off_after_header_timeout(serve: Serve, ca: trustme.CA,
                                                                     tmp_path: Path) -> None:
    pem = tmp_path / "both.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(pem))
    server = serve("--certfile", str(pem), "--header-timeout", "0.5")
    with server.connect() as sock:  # TCP only: no ClientHello is ever sent
        started = time.monotonic()
        received = recv_until_close(sock, 5.0)
        elapsed = time.monotonic() - started
    assert received.closed, "a connection stuck before its TLS handshake was kept open"
    assert elapsed < 1.5


def test_sigterm_with_a_tls_handshake_pending_exits_cleanly(tls_server: Server) -> None:
    with tls_server.connect() as sock:
        sock.sendall(b"\x16\x03\x01")  # the start of a ClientHello, never finished
        time.sleep(0.1)
        tls_server.signal()
        assert tls_server.wait_exit(3) == 0
    assert "Task was destroyed" not in tls_server.stderr()
    assert "Traceback" not in tls_server.stderr()


def test_curl_over_https(tls_server: Server, ca_file: str, curl: str) -> None:
    result = subprocess.run([curl, "-sS", "--cacert", ca_file, "--http1.1",
                             f"https://localhost:{tls_server.port}/plaintext"],
                            capture_output=True, timeout=10)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Hello, World!"


def test_files_and_large_bodies_go_out_whole_over_tls(serve: Serve, ca: trustme.CA, ca_file: str,
                                                      tmp_path: Path) -> None:
    # TLS encrypts in user space: no sendfile, no gather write on the socket; everything
    # goes through the transport, a file in pieces read in the thread pool.
    public = tmp_path / "public"
    public.mkdir()
    files = {"small.bin": os.urandom(50_000), "large.bin": os.urandom(700_000)}
    for name, data in files.items():
        (public / name).write_bytes(data)
    server = serve(*tls_flags(ca, tmp_path), "--static", f"/files={public}")
    with requests.Session() as session:
        for name, data in files.items():
            for _ in range(2):  # looked up in the thread pool, then answered on the loop
                response = session.get(server.url(f"/files/{name}"), verify=ca_file, timeout=10)
                assert response.status_code == 200 and response.content == data


def test_a_websocket_over_tls(tls_server: Server, ca: trustme.CA) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with connect(f"wss://localhost:{tls_server.port}/ws", ssl=context, open_timeout=5, close_timeout=5) as ws:
        for message in ["secret", os.urandom(100_000)]:
            ws.send(message)
            assert ws.recv(timeout=5) == message


def test_cookies_are_secure_by_default_over_https_only(serve: Serve, ca: trustme.CA, ca_file: str,
                                                        tmp_path: Path) -> None:
    """``set_cookie(secure=None)``, the default, is ``Secure`` exactly when the request came over HTTPS."""
    app = app_spec("reqresp")
    https = serve(*tls_flags(ca, tmp_path), app=app)
    plain = serve(app=app)
    over_tls = requests.get(https.url("/cookies/set"), verify=ca_file, timeout=5).headers["Set-Cookie"]
    over_tcp = requests.get(plain.url("/cookies/set"), timeout=5).headers["Set-Cookie"]
    assert over_tls == "sid=abc123; Path=/; HttpOnly; SameSite=Lax; Secure, " \
        "theme=dark; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax; Secure"
    assert over_tcp == "sid=abc123; Path=/; HttpOnly; SameSite=Lax, theme=dark; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax"
