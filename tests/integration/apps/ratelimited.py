"""A test app with rate limits: one budget for everyone on /limited (20 a minute), /pid limited per client
(1000 a minute); every answer names the worker that gave it (X-Worker).

The limits are made at import, before ``--workers`` forks, so every worker counts in the same table.
"""

from __future__ import annotations

import os

from heron import App, Request, Response
from heron.web.ratelimit import RateLimit, everyone

app = App()
per_client = RateLimit("1000/minute")
app.add_middleware(per_client)


@app.get("/limited")
@RateLimit("20/minute", key=everyone, name="limited")
async def limited(request: Request) -> str:
    return str(os.getpid())


@app.after_request
def worker(request: Request, response: Response) -> Response:
    response.headers.append(("X-Worker", str(os.getpid())))
    return response


@app.get("/pid")
async def pid(request: Request) -> str:
    return str(os.getpid())
