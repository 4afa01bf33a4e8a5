"""Errors that carry their HTTP status.

Shared by all layers. ``ProtocolError`` is what the sans-IO parser raises for
a message it will not accept; the server answers with exactly its status and
closes, because after a framing error nobody can say where the next request
would start. ``HTTPError`` is what application code raises to end a request
with a status. The text of both is canned: it never echoes client bytes.
"""

from __future__ import annotations

from http import HTTPStatus


def reason_phrase(status: int) -> str:
    """The standard reason phrase for ``status`` ("" for unknown codes)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class HTTPError(Exception):
    """End the current request with ``status``.

    ``detail`` is sent to the client as the body, so it must not contain
    secrets or raw client input; it defaults to the reason phrase.
    ``headers`` are added to the response (``Allow`` for 405,
    ``Retry-After`` for 503, ``WWW-Authenticate`` for 401, ...).
    """

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"HTTPError status must be 4xx or 5xx, got {status}")
        self.status = status
        self.detail = detail if detail is not None else reason_phrase(status)
        self.headers = headers or []
        super().__init__(status, self.detail)


class ProtocolError(HTTPError):
    """A request the HTTP/1.1 parser refuses; the connection must close after the reply.

    ``detail`` names the rule that was broken (for the log and the body),
    never the offending bytes.
    """


class ClientDisconnected(ConnectionError):
    """The client closed the connection (or its sending side) before its request was complete.

    Not an ``HTTPError``: nobody is left to read a reply, so there is no
    status to send. The server closes the connection; frameworks let it pass
    through instead of logging it as a failure of the handler, because a
    client giving up is not a bug in the server or the app. It is an
    ``OSError``, as a failed socket write is to a WSGI app and as ASGI
    (spec 2.4) asks ``send()`` to raise once the client is gone.
    """


class ServiceUnavailable(HTTPError):
    """The server is saturated (thread pool full, shutting down); retry later."""

    def __init__(self, detail: str = "Service Unavailable", retry_after: int = 1) -> None:
        super().__init__(503, detail, [("Retry-After", str(retry_after))])


class StartupFailed(Exception):
    """An app's startup hook failed: the server must not start serving.

    The message is one line naming the hook and its error; the command line
    prints it after ``heron: startup failed:`` and exits non-zero.
    """


class ServeError(Exception):
    """``heron.serve()`` cannot start: what it was given is no app, the TLS files do not load,
    the address cannot be listened on. The message is one line that says which and why (the
    underlying error, if any, is the ``__cause__``); the command line prints it after ``heron:``.
    """
