"""The demo's page about compression, caching and rate limits, which shows its own headers (demo).

``/caching`` is compressed (the app's ``compression()``), tagged and
revalidated (``revalidation()``) like every page; its script fetches the
page again and prints the fields that came back, asks once more with
``If-None-Match`` to show the 304, and has a button whose route allows 5
clicks per 10 seconds (``RateLimit``): past that, the answer is a 429
whose ``Retry-After`` the page turns into a countdown.
"""

from __future__ import annotations

from heron.web import App, HTMLResponse, Request
from heron.web.ratelimit import RateLimit

BUTTON_LIMIT = RateLimit("5/10s", name="button")
"""Five clicks at once per client, then one every two seconds. Made at import, so ``--workers`` share it."""


def add_caching(app: App) -> None:
    """Add ``/caching`` and its rate-limited ``/caching/click`` to the demo app."""

    @app.get("/caching")
    async def caching_page(request: Request) -> HTMLResponse:
        return app.render("caching.html", request=request)

    @app.get("/caching/click")
    @BUTTON_LIMIT
    async def click(request: Request) -> dict[str, str]:
        return {"message": "Clicked: this one was let through."}
