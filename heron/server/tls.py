"""TLS for HTTPS (server layer).

Safe defaults only: TLS 1.2 or newer, the ssl module's default cipher
selection (forward-secret AEAD suites), no compression, no renegotiation,
and ALPN offering ``http/1.1`` (heron speaks no HTTP/2).
"""

from __future__ import annotations

import ssl


def make_server_context(certfile: str, keyfile: str | None = None, password: str | None = None) -> ssl.SSLContext:
    """An SSLContext for serving with the given certificate chain and key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    if hasattr(ssl, "OP_NO_RENEGOTIATION"):
        context.options |= ssl.OP_NO_RENEGOTIATION
    context.set_alpn_protocols(["http/1.1"])
    context.load_cert_chain(certfile, keyfile, password)
    return context
