"""An App answering ``/file?name=N`` with a ``FileResponse`` for N in HERON_TEST_STATIC_DIR (no lookup, no cache)."""

import os

from heron import App, FileResponse, HTTPError

app = App()
ROOT = os.environ["HERON_TEST_STATIC_DIR"]


@app.get("/file")
async def file(request):
    name = request.query.get("name", "")
    if name not in ("big.bin", "small.txt"):
        raise HTTPError(404)
    try:
        return FileResponse(os.path.join(ROOT, name))  # stats the path: it may be between two renames
    except OSError:  # not there, or not a regular file (a FIFO in its place)
        raise HTTPError(404) from None
