"""Raw ASGI app (no framework) for uvicorn (h11 and httptools).

Copied unchanged in behaviour from the team's shared bench harness
(../shared/bench/apps/asgi_app.py).

GET  /plaintext      -> 'Hello, World!' text/plain
GET  /json           -> {"message":"Hello, World!"} application/json
GET  /user/{name}    -> 'Hello, {name}!' text/plain
GET  /static/{file}  -> file from fixtures/static, read per request
POST /echo           -> request body, application/octet-stream
WS   /ws             -> every message echoed, text as text, binary as binary
                        (the ASGI websocket scope; bench/websocket.py loads it)
"""
from common import PLAINTEXT, json_body, user_body, static_path, read_file

H_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
H_JSON = [(b"content-type", b"application/json")]
H_BIN = [(b"content-type", b"application/octet-stream")]


async def _respond(send, status, headers, body):
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": headers + [(b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive):
    chunks = []
    more = True
    while more:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            break
        chunks.append(msg.get("body", b""))
        more = msg.get("more_body", False)
    return b"".join(chunks)


async def _ws_echo(receive, send):
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    while True:
        msg = await receive()
        if msg["type"] != "websocket.receive":
            return  # websocket.disconnect
        if msg.get("text") is not None:
            await send({"type": "websocket.send", "text": msg["text"]})
        else:
            await send({"type": "websocket.send", "bytes": msg["bytes"]})


async def app(scope, receive, send):
    t = scope["type"]
    if t == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if t == "websocket":
        if scope["path"] == "/ws":
            return await _ws_echo(receive, send)
        return await send({"type": "websocket.close"})  # before accept: a 403
    if t != "http":
        return
    path = scope["path"]
    method = scope["method"]
    if method == "GET":
        if path == "/plaintext":
            return await _respond(send, 200, H_TEXT, PLAINTEXT)
        if path == "/json":
            return await _respond(send, 200, H_JSON, json_body())
        if path.startswith("/user/"):
            name = path[6:]
            if name and "/" not in name:
                return await _respond(send, 200, H_TEXT, user_body(name))
        elif path.startswith("/static/"):
            p = static_path(path[8:])
            if p is not None:
                return await _respond(send, 200, H_BIN, read_file(p))
    elif method == "POST" and path == "/echo":
        body = await _read_body(receive)
        return await _respond(send, 200, H_BIN, body)
    return await _respond(send, 404, H_TEXT, b"Not Found")
