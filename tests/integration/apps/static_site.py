"""An App serving HERON_TEST_STATIC_DIR at /files with App.static, next to an ordinary route."""

import os

from heron import App

app = App()
app.static("/files", os.environ["HERON_TEST_STATIC_DIR"], cache_control="public, max-age=3600")


@app.get("/files/dynamic")
async def dynamic(request):
    return "from a route"
