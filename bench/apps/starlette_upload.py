"""The upload anchor: Starlette's ``request.form()`` (python-multipart underneath), as FastAPI apps
read uploads; run by uvicorn. Answers what bench/app.py's POST /upload answers."""
import time

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse
from starlette.routing import Route


async def upload(request):
    started = time.perf_counter()
    async with request.form(max_files=1000, max_fields=1000) as form:
        files = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
        return JSONResponse({"size": sum(f.size for f in files), "files": len(files),
                             "form_seconds": round(time.perf_counter() - started, 3),
                             "on_disk": sum(f._in_memory is False for f in files)})


async def plaintext(request):
    return JSONResponse({"ok": True})


app = Starlette(routes=[Route("/upload", upload, methods=["POST"]), Route("/plaintext", plaintext)])
