"""A small FastAPI app, written the way FastAPI's documentation writes one (it knows nothing of heron).

tests/integration/test_hosted_apps.py and test_hosted_fastapi.py run it under
``heron path/to/fastapi_app.py:app``. When it shuts down, the lifespan appends
``shutdown <token>`` to $LIFESPAN_SHUTDOWN_FILE if that variable is set.
"""

import asyncio
import hashlib
import os
import threading
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import (BackgroundTasks, Cookie, Depends, FastAPI, Form, Header, HTTPException, Query, Request,
                     UploadFile, WebSocket, WebSocketDisconnect, WebSocketException, status)
from fastapi.responses import (FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse,
                               StreamingResponse)
from pydantic import BaseModel, Field

MESSAGES: list[dict] = []
JOBS: dict[int, str] = {}
RELEASES: dict[int, threading.Event] = {}
DISCONNECTS: list[str] = []
WS_CLOSES: list[dict] = []


@asynccontextmanager
async def lifespan(app: FastAPI):
    token = os.urandom(8).hex()
    yield {"startup_token": token, "inventory": {"apple": 3, "pear": 0}}
    path = os.environ.get("LIFESPAN_SHUTDOWN_FILE")
    if path:
        with open(path, "a") as f:
            f.write(f"shutdown {token}\n")


app = FastAPI(lifespan=lifespan)


class Item(BaseModel):
    name: str = Field(min_length=1)
    price: float = Field(gt=0)
    tags: list[str] = []


class OutOfStock(Exception):
    def __init__(self, item: str):
        super().__init__(item)
        self.item = item


@app.exception_handler(OutOfStock)
async def out_of_stock(request: Request, exc: OutOfStock):
    return JSONResponse({"error": "out of stock", "item": exc.item}, status_code=409)


async def api_key(x_api_key: Annotated[str | None, Header()] = None) -> str:
    if x_api_key != "let-me-in":
        raise HTTPException(status_code=401, detail="bad API key", headers={"WWW-Authenticate": "ApiKey"})
    return x_api_key


@app.api_route("/json", methods=["GET", "HEAD"])
async def hello_json():
    return {"framework": "fastapi", "message": "hello", "numbers": [1, 2, 3]}


@app.post("/json")
async def echo_json(data: dict):
    return {"received": data, "total": sum(data.get("numbers", []))}


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None, tag: Annotated[list[str], Query()] = []):
    return {"item_id": item_id, "q": q, "tags": tag}


@app.post("/items", status_code=201)
async def create_item(item: Item, key: Annotated[str, Depends(api_key)]):
    return {"created": item.model_dump(), "price_with_tax": round(item.price * 1.2, 2)}


@app.get("/hello/{name}")
async def hello(name: str, greeting: str = "hello"):
    return {"name": name, "greeting": greeting, "text": f"{greeting}, {name}!"}


@app.get("/form", response_class=HTMLResponse)
async def message_form(request: Request):
    return f"""<!doctype html>
<form method="post" action="{request.url_for('post_message')}">
  <input name="author"> <textarea name="text"></textarea> <button>Send</button>
</form>"""


@app.post("/form")
async def post_message(request: Request, author: Annotated[str, Form()], text: Annotated[str, Form()]):
    MESSAGES.append({"author": author, "text": text})
    return RedirectResponse(request.url_for("read_message", message_id=len(MESSAGES)), status_code=303)


@app.get("/messages/{message_id}")
async def read_message(message_id: int):
    if not 1 <= message_id <= len(MESSAGES):
        raise HTTPException(status_code=404, detail="no such message")
    return MESSAGES[message_id - 1]


@app.post("/upload")
async def upload(file: UploadFile, note: Annotated[str | None, Form()] = None):
    digest, size = hashlib.sha256(), 0
    while chunk := await file.read(65536):
        digest.update(chunk)
        size += len(chunk)
    return {"filename": file.filename, "content_type": file.content_type, "size": size,
            "sha256": digest.hexdigest(), "note": note}


@app.post("/consume")
async def consume(request: Request):
    digest, size = hashlib.sha256(), 0
    async for chunk in request.stream():
        digest.update(chunk)
        size += len(chunk)
    return {"size": size, "sha256": digest.hexdigest()}


@app.get("/login")
async def login(request: Request, user: str, flavour: str = "plain"):
    response = RedirectResponse(request.url_for("whoami"), status_code=303)
    response.set_cookie("user", user, httponly=True, samesite="lax")
    response.set_cookie("flavour", flavour)
    return response


@app.get("/whoami")
async def whoami(user: Annotated[str | None, Cookie()] = None, flavour: Annotated[str | None, Cookie()] = None):
    if user is None:
        raise HTTPException(status_code=401, detail="who are you?")
    return {"user": user, "flavour": flavour}


@app.get("/logout")
async def logout():
    response = JSONResponse({"user": None})
    response.delete_cookie("user")
    response.delete_cookie("flavour")
    return response


@app.get("/stream")
async def stream(n: int = 4, delay: float = 0.25, who: str = "you"):
    async def generate():
        for i in range(n):
            if i:
                await asyncio.sleep(delay)
            yield f"chunk {i} of {n} for {who}\n"

    return StreamingResponse(generate(), media_type="text/plain")


def finish_job(job_id: int):
    """The background task, a plain function (FastAPI runs it in its thread pool) once the response is sent.

    It works until /jobs/{id}/release is called.
    """
    JOBS[job_id] = "running"
    released = RELEASES[job_id].wait(timeout=10)
    JOBS[job_id] = "done" if released else "timed out"


@app.post("/jobs", status_code=202)
async def create_job(background_tasks: BackgroundTasks):
    job_id = len(JOBS) + 1
    JOBS[job_id] = "queued"
    RELEASES[job_id] = threading.Event()
    background_tasks.add_task(finish_job, job_id)
    return {"job": job_id, "state": JOBS[job_id]}


@app.get("/jobs/{job_id}")
async def read_job(job_id: int):
    if job_id not in JOBS:
        raise HTTPException(status_code=404)
    return {"job": job_id, "state": JOBS[job_id]}


@app.post("/jobs/{job_id}/release")
async def release_job(job_id: int):
    RELEASES[job_id].set()
    return {"released": job_id}


@app.get("/watch")
async def watch(request: Request, id: str):
    """Answer only once the client has gone away; record that it did."""
    for _ in range(500):
        if await request.is_disconnected():
            DISCONNECTS.append(id)
            return {"gone": id}
        await asyncio.sleep(0.02)
    return {"still connected": id}


@app.get("/disconnects")
async def disconnects():
    return {"disconnected": DISCONNECTS}


@app.get("/state")
async def state(request: Request):
    return {"startup_token": request.state.startup_token, "inventory": request.state.inventory}


@app.get("/buy/{fruit}")
async def buy(request: Request, fruit: str):
    inventory = request.state.inventory
    if fruit not in inventory:
        raise HTTPException(status_code=404, detail=f"we never sell {fruit}")
    if inventory[fruit] == 0:
        raise OutOfStock(fruit)
    inventory[fruit] -= 1
    return {"bought": fruit, "left": inventory[fruit]}


@app.get("/download")
async def download():
    return FileResponse(__file__, media_type="text/x-python", filename="fastapi_app.py")


@app.get("/whereami")
async def whereami(request: Request):
    return {"url": str(request.url), "path": request.url.path, "root_path": request.scope["root_path"],
            "client": request.client.host, "whoami": str(request.url_for("whoami"))}


@app.get("/crash")
async def crash():
    raise RuntimeError("fastapi-secret-detail: the database password is hunter2")


@app.get("/sync")
def sync_endpoint(n: int = 3):
    """A plain def endpoint: FastAPI runs it in its thread pool."""
    return {"squares": [i * i for i in range(n)]}


@app.websocket("/ws/echo")
async def ws_echo(websocket: WebSocket, id: str | None = None):
    """Echo text as text and bytes as bytes; "echo.v1" is the subprotocol, if offered. Records the close."""
    await websocket.accept(subprotocol="echo.v1" if "echo.v1" in websocket.scope["subprotocols"] else None)
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
        WS_CLOSES.append({"id": id, "code": exc.code, "reason": exc.reason})


@app.get("/ws-closes")
async def ws_closes():
    return WS_CLOSES


async def get_cookie_or_token(websocket: WebSocket, user: Annotated[str | None, Cookie()] = None,
                              token: Annotated[str | None, Query()] = None):
    if user is None and token is None:
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION)
    return user or f"token {token}"


@app.websocket("/ws/rooms/{room}")
async def ws_room(websocket: WebSocket, room: str, who: Annotated[str, Depends(get_cookie_or_token)],
                  lang: str | None = None):
    """A chat room for logged-in users (the login cookie) or a token in the query; anyone else gets 403."""
    await websocket.accept()
    await websocket.send_json({"room": room, "user": who, "flavour": websocket.cookies.get("flavour"), "lang": lang})
    try:
        while True:
            data = await websocket.receive_json()
            await websocket.send_json({"from": who, "said": data})
    except WebSocketDisconnect:
        pass


@app.websocket("/ws/members")
async def ws_members(websocket: WebSocket, authorization: Annotated[str | None, Header()] = None):
    """Members only: anyone else gets an HTTP 401 of the app's own (the denial response extension)."""
    if authorization != "Token let-me-in":
        await websocket.send_denial_response(PlainTextResponse("members only\n", status_code=401,
                                                               headers={"WWW-Authenticate": "Token"}))
        return
    await websocket.accept()
    await websocket.send_text("welcome, member")
    await websocket.close(code=4000, reason="that is all")


@app.websocket("/ws/closed")
async def ws_closed(websocket: WebSocket):
    await websocket.close(code=status.WS_1008_POLICY_VIOLATION)


@app.websocket("/ws/crash")
async def ws_crash(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text("about to crash")
    raise RuntimeError("fastapi-secret-detail: the websocket handler failed")
