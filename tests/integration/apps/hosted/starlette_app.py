"""A small Starlette app, written the way Starlette's documentation writes one (it knows nothing of heron).

Served by ``heron path/to/starlette_app.py:app`` in tests/integration/test_hosted_apps.py
and test_hosted_starlette.py. Its lifespan writes ``shutdown <token>`` to the file
named by LIFESPAN_SHUTDOWN_FILE, when that is set.
"""

import asyncio
import hashlib
import itertools
import os
import time
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import (FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse,
                                 StreamingResponse)
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

MESSAGES = []
JOBS = {}
RELEASES = {}
DISCONNECTS = []
TICKERS = []
WS_CLOSES = []
JOB_IDS = itertools.count(1)


class OutOfStock(Exception):
    def __init__(self, item):
        super().__init__(item)
        self.item = item


@asynccontextmanager
async def lifespan(app):
    app.state.started_at = time.time()
    app.state.startup_token = os.urandom(8).hex()
    yield {"greeting": "hello from the lifespan"}
    path = os.environ.get("LIFESPAN_SHUTDOWN_FILE")
    if path:
        with open(path, "a") as f:
            f.write(f"shutdown {app.state.startup_token}\n")


async def hello_json(request):
    return JSONResponse({"framework": "starlette", "message": "hello", "numbers": [1, 2, 3]})


async def echo_json(request):
    data = await request.json()
    return JSONResponse({"received": data, "total": sum(data.get("numbers", []))})


async def item(request):
    return JSONResponse({"item_id": request.path_params["item_id"], "q": request.query_params.get("q"),
                         "tags": request.query_params.getlist("tag")})


async def hello(request):
    name = request.path_params["name"]
    greeting = request.query_params.get("greeting", "hello")
    return JSONResponse({"name": name, "greeting": greeting, "text": f"{greeting}, {name}!"})


async def message_form(request):
    if request.method == "POST":
        async with request.form() as form:
            MESSAGES.append({"author": form["author"], "text": form["text"]})
        return RedirectResponse(request.url_for("message", message_id=len(MESSAGES)), status_code=303)
    return HTMLResponse(f"""<!doctype html>
<form method="post" action="{request.url_for('form')}">
  <input name="author"> <textarea name="text"></textarea> <button>Send</button>
</form>""")


async def message(request):
    message_id = request.path_params["message_id"]
    if not 1 <= message_id <= len(MESSAGES):
        raise HTTPException(status_code=404, detail="no such message")
    return JSONResponse(MESSAGES[message_id - 1])


async def upload(request):
    async with request.form() as form:
        uploaded = form["file"]
        digest, size = hashlib.sha256(), 0
        while chunk := await uploaded.read(65536):
            digest.update(chunk)
            size += len(chunk)
        return JSONResponse({"filename": uploaded.filename, "content_type": uploaded.content_type, "size": size,
                             "sha256": digest.hexdigest(), "note": form.get("note")})


async def consume(request):
    digest, size = hashlib.sha256(), 0
    async for chunk in request.stream():
        digest.update(chunk)
        size += len(chunk)
    return JSONResponse({"size": size, "sha256": digest.hexdigest()})


async def login(request):
    request.session["user"] = request.query_params["user"]
    request.session["visits"] = 0
    response = RedirectResponse(request.url_for("whoami"), status_code=303)
    response.set_cookie("flavour", request.query_params.get("flavour", "plain"), httponly=True, samesite="lax")
    return response


async def whoami(request):
    if "user" not in request.session:
        return JSONResponse({"user": None}, status_code=401)
    request.session["visits"] += 1
    return JSONResponse({"user": request.session["user"], "visits": request.session["visits"],
                         "flavour": request.cookies.get("flavour")})


async def logout(request):
    request.session.clear()
    response = JSONResponse({"user": None})
    response.delete_cookie("flavour")
    return response


async def stream(request):
    count = int(request.query_params.get("n", 4))
    delay = float(request.query_params.get("delay", 0.25))
    who = request.query_params.get("who", "you")

    async def generate():
        for i in range(count):
            if i:
                await asyncio.sleep(delay)
            yield f"chunk {i} of {count} for {who}\n"

    return StreamingResponse(generate(), media_type="text/plain")


async def stream_broken(request):
    async def generate():
        yield "first part\n"
        raise RuntimeError("the generator failed after the first part")

    return StreamingResponse(generate(), media_type="text/plain")


async def ticker(request):
    """Tick until the client goes away; record when the stream was stopped."""
    name = request.query_params["id"]

    async def generate():
        sent = 0
        try:
            for sent in range(200):
                yield f"tick {sent}\n"
                await asyncio.sleep(0.05)
        finally:
            TICKERS.append({"id": name, "ticks": sent + 1})

    return StreamingResponse(generate(), media_type="text/plain")


async def tickers(request):
    return JSONResponse(TICKERS)


async def download(request):
    return FileResponse(__file__, media_type="text/x-python", filename="starlette_app.py")


async def whereami(request):
    return JSONResponse({"url": str(request.url), "path": request.url.path, "root_path": request.scope["root_path"],
                         "client": request.client.host, "whoami": str(request.url_for("whoami"))})


async def finish_job(job_id):
    """The background task: runs after the response has been sent, until /jobs/{id}/release is called."""
    JOBS[job_id] = "running"
    try:
        await asyncio.wait_for(RELEASES[job_id].wait(), timeout=10)
        JOBS[job_id] = "done"
    except asyncio.TimeoutError:
        JOBS[job_id] = "timed out"


async def create_job(request):
    job_id = next(JOB_IDS)
    JOBS[job_id] = "queued"
    RELEASES[job_id] = asyncio.Event()
    return JSONResponse({"job": job_id, "state": JOBS[job_id]}, status_code=202,
                        background=BackgroundTask(finish_job, job_id))


async def job(request):
    job_id = request.path_params["job_id"]
    if job_id not in JOBS:
        raise HTTPException(status_code=404)
    return JSONResponse({"job": job_id, "state": JOBS[job_id]})


async def release_job(request):
    RELEASES[request.path_params["job_id"]].set()
    return JSONResponse({"released": request.path_params["job_id"]})


async def watch(request):
    """Answer only once the client has gone away; record that it did."""
    started = time.monotonic()
    while not await request.is_disconnected():
        if time.monotonic() - started > 10:
            return PlainTextResponse("still connected\n")
        await asyncio.sleep(0.02)
    DISCONNECTS.append(request.query_params.get("id"))
    return PlainTextResponse("gone\n")


async def disconnects(request):
    return JSONResponse({"disconnected": DISCONNECTS})


async def state(request):
    return JSONResponse({"started_at": request.app.state.started_at,
                         "startup_token": request.app.state.startup_token,
                         "greeting": request.state.greeting})


async def buy(request):
    raise OutOfStock(request.path_params["item"])


async def teapot(request):
    raise HTTPException(status_code=418, detail="I'm a teapot, not a coffee machine")


async def crash(request):
    raise RuntimeError("starlette-secret-detail: the database password is hunter2")


async def out_of_stock(request, exc):
    return JSONResponse({"error": "out of stock", "item": exc.item}, status_code=409)


async def ws_echo(websocket: WebSocket):
    """Echo text as text and bytes as bytes; "echo.v1" is the subprotocol, if offered. Records the close."""
    subprotocol = "echo.v1" if "echo.v1" in websocket.scope["subprotocols"] else None
    await websocket.accept(subprotocol=subprotocol)
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message["code"], message.get("reason"))
            if message.get("text") is not None:
                await websocket.send_text(message["text"])
            else:
                await websocket.send_bytes(message["bytes"])
    except WebSocketDisconnect as exc:
        WS_CLOSES.append({"id": websocket.query_params.get("id"), "code": exc.code, "reason": exc.reason})


async def ws_closes(request):
    return JSONResponse(WS_CLOSES)


async def ws_room(websocket: WebSocket):
    """A chat room that knows who you are from the session cookie an HTTP login set."""
    await websocket.accept()
    user = websocket.session.get("user", "anonymous")
    await websocket.send_json({"room": websocket.path_params["room"], "user": user,
                               "flavour": websocket.cookies.get("flavour"), "lang": websocket.query_params.get("lang")})
    async for data in websocket.iter_json():
        await websocket.send_json({"from": user, "said": data})


async def ws_members(websocket: WebSocket):
    """Members only: anyone else gets an HTTP 401 of the app's own (the denial response extension)."""
    if websocket.headers.get("authorization") != "Token let-me-in":
        await websocket.send_denial_response(PlainTextResponse("members only\n", status_code=401,
                                                               headers={"WWW-Authenticate": "Token"}))
        return
    await websocket.accept()
    await websocket.send_text("welcome, member")
    await websocket.close(code=4000, reason="that is all")


async def ws_closed(websocket: WebSocket):
    await websocket.close(code=1008)


async def ws_crash(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text("about to crash")
    raise RuntimeError("starlette-secret-detail: the websocket handler failed")


routes = [
    Route("/json", hello_json, methods=["GET"]),
    Route("/json", echo_json, methods=["POST"]),
    Route("/items/{item_id:int}", item),
    Route("/hello/{name}", hello),
    Route("/form", message_form, methods=["GET", "POST"], name="form"),
    Route("/messages/{message_id:int}", message, name="message"),
    Route("/upload", upload, methods=["POST"]),
    Route("/consume", consume, methods=["POST"]),
    Route("/login", login),
    Route("/whoami", whoami, name="whoami"),
    Route("/logout", logout),
    Route("/stream", stream),
    Route("/stream-broken", stream_broken),
    Route("/ticker", ticker),
    Route("/tickers", tickers),
    Route("/download", download),
    Route("/whereami", whereami),
    Route("/jobs", create_job, methods=["POST"]),
    Route("/jobs/{job_id:int}", job),
    Route("/jobs/{job_id:int}/release", release_job, methods=["POST"]),
    Route("/watch", watch),
    Route("/disconnects", disconnects),
    Route("/state", state),
    Route("/buy/{item}", buy),
    Route("/teapot", teapot),
    Route("/crash", crash),
    WebSocketRoute("/ws/echo", ws_echo),
    Route("/ws-closes", ws_closes),
    WebSocketRoute("/ws/rooms/{room}", ws_room),
    WebSocketRoute("/ws/members", ws_members),
    WebSocketRoute("/ws/closed", ws_closed),
    WebSocketRoute("/ws/crash", ws_crash),
]

app = Starlette(
    routes=routes,
    middleware=[Middleware(SessionMiddleware, secret_key="not-a-secret-only-for-tests")],
    exception_handlers={OutOfStock: out_of_stock},
    lifespan=lifespan,
)
