"""The `websockets` library's own asyncio server, echoing every message on any path
(text as text, binary as binary): the anchor of bench/websocket.py.

    python ws_echo_server.py PORT        (bench/websocket.py runs it under taskset -c 1)

One process on the stdlib asyncio loop, as websockets' docs run it. Its C speedups
(websockets.speedups: unmasking) must import, or this exits: a run without them would
measure the pure-Python fallback. No compression (the client offers none anyway), and
max_size raised from the default 1 MiB so that 1 MiB messages (plus room) are accepted.
Everything else (max_queue, pings every 20 s) is websockets' default.
"""
import asyncio
import sys

from websockets.asyncio.server import serve
from websockets.speedups import apply_mask  # noqa: F401  (fail here without the C speedups)

MAX_SIZE = 16 * 1024 * 1024


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main(port):
    async with serve(echo, "127.0.0.1", port, compression=None, max_size=MAX_SIZE) as server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
