"""ServerConfig: every server setting once, with its default and help.

The command line is generated from this schema (and from ``Limits`` for the
caps and timeouts), so a setting cannot exist in one place and not the
other. Settings that are not limits live here: where to listen, how many
processes and threads, TLS, logging.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from heron.limits import DEFAULT_LIMITS, Limits


def _setting(default: Any, help: str, group: str, **extra: Any) -> Any:
    return field(default=default, metadata={"help": help, "group": group, **extra})


@dataclass(frozen=True)
class ServerConfig:
    """How to run a server; immutable once built."""

    host: str = _setting("127.0.0.1", "address to listen on (0.0.0.0 or :: for every interface)", "listening")
    port: int = _setting(8080, "TCP port to listen on (0 picks a free one)", "listening")
    backlog: int = _setting(2048, "length of the kernel's queue of connections not yet accepted", "listening")
    workers: int = _setting(1, "processes sharing the listening socket", "processes")
    threads: int = _setting(32, "threads running plain 'def' handlers, per process", "processes")
    thread_backlog: int = _setting(
        64, "calls waiting for a thread before new ones get 503 + Retry-After", "processes")
    loop: str = _setting("auto", "event loop: auto (uvloop if installed), asyncio or uvloop", "processes",
                         choices=("auto", "asyncio", "uvloop"))
    certfile: str | None = _setting(None, "PEM certificate chain: serve HTTPS", "tls")
    keyfile: str | None = _setting(None, "PEM private key (if not inside --certfile)", "tls")
    access_log: bool = _setting(True, "log each response to stderr in Combined Log Format", "logging")
    log_level: str = _setting("info", "level of the error log", "logging",
                              choices=("debug", "info", "warning", "error", "critical"))
    limits: Limits = field(default=DEFAULT_LIMITS, metadata={"group": "limits"})

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0-65535, got {self.port}")
        for name in ("backlog", "workers", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.thread_backlog < 0:
            raise ValueError("thread_backlog must be 0 or more")
        if self.keyfile and not self.certfile:
            raise ValueError("keyfile given without certfile")

    @property
    def scheme(self) -> str:
        return "https" if self.certfile else "http"


def settings() -> list[dataclasses.Field[Any]]:
    """The schema: every field of ServerConfig except the nested limits."""
    return [f for f in dataclasses.fields(ServerConfig) if f.name != "limits"]
