"""What tests/integration/test_redbot.py has REDbot check.

HERON_TEST_STATIC_DIR's files at /static (App.static with its defaults) and at /cached (with an
explicit ``cache_control``), a dynamic HTML page at /page (and one with a Last-Modified at
/page/dated), and a JSON document at /data (as the app returns it) and /data/cached (with a
``cache_control`` decorator). The app revalidates its dynamic responses (``revalidation()``: ETags,
304); with HERON_TEST_COMPRESS=1 it also sits behind the compression middleware, inside revalidation,
as docs/caching.md says to add them.
"""

import os

from heron import App, HTMLResponse
from heron.web.caching import cache_control, set_last_modified
from heron.web.compression import compression
from heron.web.revalidation import revalidation

app = App()
app.add_middleware(revalidation())
if os.environ.get("HERON_TEST_COMPRESS") == "1":
    app.add_middleware(compression())
app.static("/static", os.environ["HERON_TEST_STATIC_DIR"])
# No "public" with max-age: REDbot calls it unnecessary (STORE_PUBLIC_UNNECESSARY).
app.static("/cached", os.environ["HERON_TEST_STATIC_DIR"], cache_control="max-age=3600")

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>heron, checked by REDbot</title>
</head>
<body>
<h1>A dynamic page</h1>
{items}
</body>
</html>
"""
DATA = {"name": "heron", "numbers": list(range(400))}


ITEMS = "".join(f"<p>Paragraph {i}: made by a handler on every request.</p>\n" for i in range(40))


@app.get("/page")
async def page(request):
    return HTMLResponse(PAGE.format(items=ITEMS))


@app.get("/page/dated")
async def dated_page(request):
    return set_last_modified(HTMLResponse(PAGE.format(items=ITEMS)), 1_700_000_000)


@app.get("/data")
async def data(request):
    return DATA


@app.get("/data/cached")
@cache_control(max_age=60)
async def data_cached(request):
    return DATA
