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
from html import escape

from heron.demo.layout import page
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
        return page("Upload", _form(request.session.csrf_token()), here="/upload")

    @app.post("/upload")
    async def receive(request: Request) -> HTMLResponse | dict[str, object]:
        form = await request.form(max_upload_bytes=MAX_UPLOAD)
        files = [{"name": upload.filename, "size": upload.size, "sha256": await sha256_of(upload)}
                 for upload in form.files() if upload.filename]
        if "application/json" in request.headers.get("accept", ""):
            return {"files": files}
        rows = "\n".join(f"<tr><td>{escape(str(f['name']))}</td><td>{f['size']}</td><td><code>{f['sha256']}</code>"
                         "</td></tr>" for f in files)
        return page("Upload", _form(request.session.csrf_token()) + f"<h2>Received</h2>{_table(rows)}",
                    here="/upload")


def _form(token: str) -> str:
    return f"""<h1>Upload</h1>
<p class="lead">Pick one or more files (up to {MAX_UPLOAD // (1024 * 1024)} MiB in all). The page sends them
as <code>multipart/form-data</code> and shows how far along it is; the server answers each file's
name, size and SHA-256, as it computed them (<code>heron/demo/uploads.py</code>).</p>
<form id="upload-form" method="post" action="/upload" enctype="multipart/form-data">
<input type="hidden" name="csrf_token" value="{escape(token)}">
<input id="upload-files" type="file" name="files" multiple required>
<button>Upload</button>
</form>
<progress id="upload-progress" max="100" value="0" hidden></progress>
<p id="upload-status" role="status"></p>
<div id="upload-results"></div>
<script src="/static/upload.js" defer></script>"""


def _table(rows: str) -> str:
    return f"<table><tr><th>file</th><th>bytes</th><th>SHA-256</th></tr>\n{rows}\n</table>"
