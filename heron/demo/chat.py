"""The demo site's chat room: one page, and a WebSocket that every open copy of it joins.

Open ``/chat`` in two windows and type in one: the page sends the text over
its WebSocket (``/chat/ws``), and the room sends it on to every page in it,
the sender's included. The server speaks JSON to the pages, one object per
message, whose ``type`` says what happened: ``welcome`` (to a page that
joins: its name, who is here, the last messages), ``joined``, ``left``,
``message`` and ``error``.

A room open to anyone keeps a few limits of its own: at most 100 members
(a handshake beyond that is refused with 503), names of at most 24
characters made unique, messages of at most 500 characters, the last 50
messages kept. Sending to a member never waits: each has an outbox of 32
messages, and one whose browser stops reading is dropped (close 1008)
when its outbox is full, rather than holding up the room or growing the
server's memory.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from typing import Any

from heron.errors import ClientDisconnected
from heron.web import App, Response, WebSocket

MAX_MEMBERS = 100
MAX_NAME = 24
MAX_TEXT = 500
HISTORY = 50
OUTBOX = 32


class Member:
    """One page in the room: its WebSocket, its name, and what waits to be sent to it."""

    def __init__(self, ws: WebSocket, name: str) -> None:
        self.ws = ws
        self.name = name
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(OUTBOX)

    async def deliver(self) -> None:
        """Send the outbox, in order, for as long as the member is here."""
        try:
            while True:
                await self.ws.send_json(await self.outbox.get())
        except ClientDisconnected:  # gone: the handler's loop ends and the room lets it go
            pass


class Room:
    """Who is here, and the last messages; every change is sent to every member."""

    def __init__(self) -> None:
        self.members: dict[str, Member] = {}
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self._ids = itertools.count(1)
        self._dropping: set[asyncio.Task[None]] = set()

    @property
    def full(self) -> bool:
        return len(self.members) >= MAX_MEMBERS

    def join(self, ws: WebSocket, wanted: str) -> Member:
        member = Member(ws, self._unique(clean_name(wanted)))
        self.members[member.name] = member
        self._send(member, {"type": "welcome", "you": member.name, "members": self.names(),
                            "history": list(self.history)})
        self._broadcast({"type": "joined", "name": member.name, "members": self.names()}, but=member)
        return member

    def leave(self, member: Member) -> None:
        if self.members.get(member.name) is member:
            del self.members[member.name]
            self._broadcast({"type": "left", "name": member.name, "members": self.names()})

    def say(self, member: Member, text: str) -> None:
        text = text.strip()
        if not text:
            return
        if len(text) > MAX_TEXT:
            self._send(member, {"type": "error", "text": f"a message is at most {MAX_TEXT} characters"})
            return
        message = {"type": "message", "id": next(self._ids), "from": member.name, "text": text}
        self.history.append(message)
        self._broadcast(message)

    def names(self) -> list[str]:
        return sorted(self.members)

    def _unique(self, name: str) -> str:
        candidates = (name if n == 1 else f"{name[:MAX_NAME - 4]} {n}" for n in itertools.count(1))
        return next(candidate for candidate in candidates if candidate not in self.members)

    def _broadcast(self, event: dict[str, Any], but: Member | None = None) -> None:
        for member in list(self.members.values()):
            if member is not but:
                self._send(member, event)

    def _send(self, member: Member, event: dict[str, Any]) -> None:
        try:
            member.outbox.put_nowait(event)
        except asyncio.QueueFull:  # its browser does not read: let it go, the room goes on
            self.leave(member)
            task = asyncio.ensure_future(member.ws.close(1008, "too slow to keep up with the room"))
            self._dropping.add(task)
            task.add_done_callback(self._dropping.discard)


def clean_name(wanted: str) -> str:
    """A name to show: printable characters only, spaces squeezed, at most MAX_NAME; "guest" if none is left."""
    name = " ".join("".join(c for c in wanted if c.isprintable()).split())[:MAX_NAME]
    return name or "guest"


room = Room()


def add_chat(app: App) -> None:
    """The chat's WebSocket route on ``app`` (the page itself is one of the site's pages)."""

    @app.websocket("/chat/ws", name="chat_socket")
    async def chat_socket(ws: WebSocket) -> Response | None:
        if room.full:
            return Response("the chat room is full, try again later\n", 503)
        await ws.accept()
        member = room.join(ws, ws.request.query.get("name", ""))
        delivery = asyncio.create_task(member.deliver())
        try:
            async for message in ws:
                if isinstance(message, str):
                    room.say(member, message)
        finally:
            delivery.cancel()
            room.leave(member)
        return None
