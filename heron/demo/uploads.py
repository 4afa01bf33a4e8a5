"""The demo's upload page: files sent with a progress bar, and what the server made of them (demo).

``GET /upload`` is a form; ``/static/upload.js`` sends it with
``XMLHttpRequest``, whose upload progress events drive the bar, and asks
for JSON. Without the script the browser posts the form itself and gets a
page back: both come from one handler. For each file the server answers
its (sanitised) name, size and SHA-256, computed a megabyte at a time
while the file sits in memory or in a temporary file, which heron removes
when the request ends.
"""

from __future__ import annotations

import hashlib
from heron.messages.uploads import UploadFile
from heron.web import App, HTMLResponse, Request

MAX_UPLOAD = 16 * 1024 * 1024
"""The server's default ``max_body_bytes``: the whole form must fit in it."""


async def sha256_of(upload: UploadFile) -> str:
    digest = hashlib.sha256()
    await upload.seek(0)
    while block := await upload.read(1024 * 1024):
        digest.update(block)
    return digest.hexdigest()


def add_uploads(app: App) -> None:
    """Add ``/upload`` to the demo app."""

    @app.get("/upload")
    async def upload_page(request: Request) -> HTMLResponse:
        return app.render("upload.html", request=request, max_mib=MAX_UPLOAD // (1024 * 1024), files=[])

    @app.post("/upload")
    async def receive(request: Request) -> HTMLResponse | dict[str, object]:
        form = await request.form(max_upload_bytes=MAX_UPLOAD)
        files = [{"name": upload.filename, "size": upload.size, "sha256": await sha256_of(upload)}
                 for upload in form.files() if upload.filename]
        if "application/json" in request.headers.get("accept", ""):
            return {"files": files}
        return app.render("upload.html", request=request, max_mib=MAX_UPLOAD // (1024 * 1024), files=files)
