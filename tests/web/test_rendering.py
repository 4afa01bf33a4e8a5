"""app.render and app.render_stream: pages from templates, with url_for, the request, the session and CSRF
helpers in their context, from heron's engine or from Jinja2 behind the same call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from heron import App, Request, StreamingResponse
from heron.testing import TestClient
from heron.web.jinja import JinjaTemplates
from heron.web.sessions import sessions
from heron.web.templates import Templates

PAGE = ("<title>{{ title }}</title><a href=\"{{ url_for('user', name=name) }}\">{{ name }}</a>"
        "{% if session is defined %}<form>{{ csrf_field() }}</form>{{ session.get('n') }}{% endif %}")


@pytest.fixture(params=["heron", "jinja2"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> App:
    (tmp_path / "page.html").write_text(PAGE)
    (tmp_path / "long.html").write_text("{% for i in range(n) %}<p>{{ i }}</p>\n{% endfor %}")
    engine: Any = Templates(tmp_path) if request.param == "heron" else JinjaTemplates(tmp_path)
    app = App(templates=engine)
    app.add_middleware(sessions("rendering-test-key-0123456789"))

    @app.get("/user/{name}", name="user")
    async def user(request: Request, name: str) -> Any:
        request.session["n"] = 5
        return app.render("page.html", title="<Home>", name=name, request=request)

    @app.get("/plain")
    async def plain(request: Request) -> Any:
        return app.render("page.html", title="t", name="x y")  # no request: no session helpers

    @app.get("/missing")
    async def missing(request: Request) -> Any:
        return app.render("page.html", title="t", name="x"), 404

    @app.get("/long")
    async def long(request: Request) -> Any:
        return app.render_stream("long.html", n=1000)

    return app


def test_a_page_is_html_with_url_for_and_escaping(app: App) -> None:
    response = TestClient(app).get("/plain")
    assert response.status == 200 and response.headers.get("content-type") == "text/html; charset=utf-8"
    assert response.text == '<title>t</title><a href="/user/x%20y">x y</a>'


def test_with_the_request_the_page_gets_the_session_and_a_csrf_field(app: App) -> None:
    client = TestClient(app)
    text = client.get("/user/ada").text
    token = text.split('name="csrf_token" value="')[1].split('"')[0]
    assert len(token) > 30 and text.endswith("</form>5")
    assert text.startswith("<title>&lt;Home&gt;</title>")


def test_a_page_with_another_status_and_a_streamed_page(app: App) -> None:
    client = TestClient(app)
    assert client.get("/missing").status == 404
    long = client.get("/long")
    assert long.text.count("<p>") == 1000 and long.headers.get("content-type") == "text/html; charset=utf-8"
    assert isinstance(app.render_stream("long.html", n=3), StreamingResponse)


def test_a_context_may_use_any_name_even_name() -> None:
    app = App(templates=Templates())
    assert app.templates is not None
    assert isinstance(app.templates, Templates)
    page = app.templates.from_string("{{ name }} {{ status }}")
    assert page.render(name="n", status="s") == "n s"


def test_an_app_without_templates_says_so() -> None:
    with pytest.raises(RuntimeError, match="templates="):
        App().render("x.html")
