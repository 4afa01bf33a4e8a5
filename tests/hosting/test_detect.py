"""``detect_interface`` tells a heron app, a WSGI app and an ASGI app apart by their shape."""

from __future__ import annotations

from typing import Any

import pytest

from heron import App
from heron.hosting import adapt, detect_interface
from heron.hosting.asgi import ASGIAdapter
from heron.hosting.wsgi import WSGIAdapter


def wsgi_function(environ: Any, start_response: Any) -> list[bytes]:
    return []


async def asgi_function(scope: Any, receive: Any, send: Any) -> None:
    pass


async def heron_handler(request: Any) -> Any:
    pass


class WSGIObject:
    def __call__(self, environ: Any, start_response: Any) -> list[bytes]:
        return []


class ASGIObject:
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        pass


class WithHandle:
    async def handle(self, request: Any) -> Any:
        pass


@pytest.mark.parametrize(("app", "kind"), [
    (App(), "heron"),
    (WithHandle(), "heron"),
    (heron_handler, "heron"),
    (wsgi_function, "wsgi"),
    (WSGIObject(), "wsgi"),
    (asgi_function, "asgi"),
    (ASGIObject(), "asgi"),
    (lambda *args: None, "wsgi"),  # cannot tell its arity: a sync callable is taken for WSGI
])
def test_each_shape_is_recognised(app: Any, kind: str) -> None:
    assert detect_interface(app) == kind


@pytest.mark.parametrize("app", [42, "app", lambda a, b, c: None])
def test_what_is_no_app_is_refused_with_a_reason(app: Any) -> None:
    with pytest.raises(TypeError, match="app"):
        detect_interface(app)


def test_adapt_wraps_foreign_apps_and_passes_heron_apps_through() -> None:
    app = App()
    assert adapt(app) is app
    assert isinstance(adapt(wsgi_function), WSGIAdapter)
    asgi = adapt(asgi_function, lifespan="off")
    assert isinstance(asgi, ASGIAdapter) and asgi.lifespan == "off"
    # --interface forces the choice, even against the shape
    assert isinstance(adapt(ASGIObject(), "wsgi"), WSGIAdapter)
    with pytest.raises(ValueError, match="interface"):
        adapt(app, "cgi")


class ASGIWithHandleMethod:
    """Django's ASGIHandler: an ASGI app that also has an ``async def handle(scope, receive, send)``."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        pass

    async def handle(self, scope: Any, receive: Any, send: Any) -> None:
        pass


def test_a_handle_method_of_three_arguments_is_not_a_heron_app() -> None:
    assert detect_interface(ASGIWithHandleMethod()) == "asgi"
