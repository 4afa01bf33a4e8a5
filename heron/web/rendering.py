"""What a handler gives back, made a response: plain values and rendered templates (web layer).

``to_response`` turns a handler's return value into a ``Response``
(``str``, ``bytes``, JSON, ``(body, status, headers)``). ``render_page``
and ``stream_page`` render a template into an HTML response; they are
what ``app.render`` and ``app.render_stream`` call. A page's context
gets ``url_for`` from the app and, when it holds the ``request``, that
request's ``session`` and the CSRF helpers ``csrf_token()`` (the token)
and ``csrf_field()`` (a hidden form input holding it).
"""

from __future__ import annotations

import html
import traceback
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from heron.messages.request import Request
from heron.messages.response import HTML, HTMLResponse, JSONResponse, Response, StreamingResponse, header_list
from heron.web.templates import Markup, escape

__all__ = ["TemplateRenderer", "debug_response", "page_context", "render_page", "stream_page", "to_response"]


class TemplateRenderer(Protocol):
    """What ``App(templates=...)`` takes: heron's ``Templates``, or ``heron.web.jinja.JinjaTemplates``."""

    globals: dict[str, Any]

    def render(self, name: str, /, **context: Any) -> str: ...

    def stream(self, name: str, /, **context: Any) -> Iterator[str]: ...


def page_context(url_for: Callable[..., str], context: dict[str, Any]) -> dict[str, Any]:
    """``context`` with what every page may use: ``url_for``, and the session and CSRF helpers when the
    context holds a ``request`` that has a session. The caller's own names win."""
    extra: dict[str, Any] = {"url_for": url_for}
    request = context.get("request")
    if isinstance(request, Request) and request.has_session:
        session = request.session
        extra.update(session=session, csrf_token=session.csrf_token, csrf_field=lambda: Markup(
            f'<input type="hidden" name="csrf_token" value="{escape(session.csrf_token())}">'))
    return {**extra, **context}


def render_page(templates: TemplateRenderer, url_for: Callable[..., str], name: str,
                context: dict[str, Any]) -> HTMLResponse:
    return HTMLResponse(templates.render(name, **page_context(url_for, context)))


def stream_page(templates: TemplateRenderer, url_for: Callable[..., str], name: str,
                context: dict[str, Any]) -> StreamingResponse:
    """The page sent as it renders (chunked): the first bytes leave before the rest is made."""
    return StreamingResponse(templates.stream(name, **page_context(url_for, context)), content_type=HTML)


def debug_response(exc: BaseException) -> Response:
    """A 500 page with the traceback, for ``App(debug=True)`` only: it shows code and paths."""
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    page = (f"<!doctype html><title>500 {html.escape(type(exc).__name__)}</title>"
            f"<h1>500 Internal Server Error</h1><p>debug mode is on: never use it in production</p>"
            f"<pre>{html.escape(trace)}</pre>")
    return Response(page, 500, content_type="text/html; charset=utf-8")


def to_response(result: Any) -> Response:
    """Turn what a handler returned into a Response.

    ``str`` is text, ``bytes`` is octet-stream, ``dict``/``list`` is JSON, and
    a tuple is ``(body, status)`` or ``(body, status, headers)``, where
    ``body`` is any of these (or a Response) and ``headers`` a dict or a
    list of pairs, added to the body's own (validated: ``ValueError``).
    """
    if isinstance(result, Response):
        return result
    if isinstance(result, tuple):
        if len(result) not in (2, 3) or isinstance(result[1], bool) or not isinstance(result[1], int):
            raise TypeError("a handler's tuple must be (body, status) or (body, status, headers), status an int")
        response = to_response(result[0])
        response.status = result[1]
        if len(result) == 3:
            response.headers.extend(header_list(result[2]))
        return response
    if isinstance(result, str):
        return Response(result)
    if isinstance(result, (bytes, bytearray, memoryview)):
        return Response(bytes(result), content_type="application/octet-stream")
    if isinstance(result, (dict, list)):
        return JSONResponse(result)
    if result is None:
        return Response(b"", 204)
    raise TypeError(f"handler returned {type(result).__name__}, not a response")
