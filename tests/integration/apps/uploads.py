"""A test app for forms and uploads over a real server.

``/upload`` (async) and ``/upload-sync`` (a ``def`` handler) answer JSON
saying what the form held: each field, and each file's names, type, size
and SHA-256 as the server computed it. ``/spooled`` counts the upload
files this process has open on disk, so a test can see that every one is
removed when its request ends, however it ends.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Any

from heron import App, FormData, Request

app = App()


def describe(form: FormData, contents: list[bytes]) -> dict[str, Any]:
    files = form.files()
    return {
        "fields": [[name, value] for name, value in form.multi_items() if isinstance(value, str)],
        "files": [{"name": upload.name, "filename": upload.filename, "raw_filename": upload.raw_filename,
                   "content_type": upload.content_type, "size": upload.size, "in_memory": upload.in_memory,
                   "sha256": hashlib.sha256(content).hexdigest()} for upload, content in zip(files, contents)],
    }


@app.post("/upload")
async def upload(request: Request) -> dict[str, Any]:
    form = await request.form()
    return describe(form, [await upload.read() for upload in form.files()])


@app.post("/upload-sync")
def upload_sync(request: Request) -> dict[str, Any]:
    form = request.read_form()
    return describe(form, [upload.read_sync() for upload in form.files()])


@app.post("/upload-hash")
async def upload_hash(request: Request) -> dict[str, Any]:
    """Hash each file in 1 MiB reads, never holding it whole (for large uploads)."""
    form = await request.form()
    digests = {}
    for upload in form.files():
        digest = hashlib.sha256()
        while block := await upload.read(1024 * 1024):
            digest.update(block)
        digests[upload.filename] = [upload.size, digest.hexdigest()]
    return digests


@app.post("/upload-then-fail")
async def upload_then_fail(request: Request) -> dict[str, Any]:
    await request.form()
    raise RuntimeError("the handler fails after the upload was read")


@app.get("/spooled")
async def spooled(request: Request) -> dict[str, int]:
    """Open files of this process in the temporary directory (unnamed upload files show as ``#nnn (deleted)``)."""
    where = tempfile.gettempdir()
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target.startswith(where) and target.endswith(" (deleted)")
    return {"open": count}


