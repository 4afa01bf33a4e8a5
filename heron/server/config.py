"""ServerConfig: every server setting once, with its default and help (server layer).

The command line and its ``HERON_*`` environment variables are generated
from this schema (and from ``Limits`` for the caps and timeouts), so a
setting cannot exist in one place and not the other. Settings that are not
limits live here: where to listen, what the app is, how many processes and
threads, TLS, proxies, logging.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any

from heron.limits import DEFAULT_LIMITS, Limits
from heron.server.proxy import normalize_root_path, parse_trusted_proxies


GROUPS = {
    "app": "what APP is and how it is run",
    "listening": "where connections come in: TCP (--host, --port), a Unix socket (--uds) or an inherited socket (--fd)",
    "processes": "processes, threads and the event loop",
    "tls": "HTTPS",
    "proxy": "behind a reverse proxy",
    "logging": "the error log and the access log, on stderr",
    "limits": "caps and timeouts on what clients control (docs/limits.md)",
}
"""The sections of ``--help`` and docs/cli.md, in order; every setting names one as its group."""


def _setting(default: Any, help: str, group: str, **extra: Any) -> Any:
    """A field with what the command line needs: help, --help group; optionally choices, minimum, maximum, metavar."""
    return field(default=default, metadata={"help": help, "group": group, **extra})


@dataclass(frozen=True)
class ServerConfig:
    """How to run a server; immutable once built."""

    host: str = _setting("127.0.0.1", "address to listen on (0.0.0.0 or :: for every interface)", "listening",
                         metavar="ADDRESS")
    port: int = _setting(8080, "TCP port to listen on (0 picks a free one)", "listening", minimum=0, maximum=65535)
    uds: str | None = _setting(None, "listen on a Unix domain socket at PATH instead of TCP", "listening",
                               metavar="PATH")
    fd: int | None = _setting(None, "listen on the inherited, already bound socket on file descriptor N",
                              "listening", minimum=0, metavar="N")
    backlog: int = _setting(2048, "length of the kernel's queue of connections not yet accepted", "listening",
                            minimum=1, metavar="N")
    interface: str = _setting("auto", "what APP is: auto-detected, a heron App (or handler), a WSGI or an ASGI app",
                              "app", choices=("auto", "heron", "wsgi", "asgi"))
    root_path: str = _setting("", "path prefix the app is mounted at behind a proxy that strips it"
                                  " (SCRIPT_NAME / ASGI root_path)", "app", metavar="PREFIX")
    lifespan: str = _setting("auto", "ASGI lifespan events: auto (if the app supports them), on (required), off",
                             "app", choices=("auto", "on", "off"))
    reload: bool = _setting(False, "restart the server when a watched .py file changes (development)", "app")
    compress: bool = _setting(False, "compress responses clients accept compressed: gzip, and br and zstd where "
                                     "installed (any app, hosted ones too)", "app")
    workers: int = _setting(1, "processes sharing the listening socket", "processes", minimum=1, metavar="N")
    threads: int = _setting(32, "threads running plain 'def' handlers (and WSGI apps), per process", "processes",
                            minimum=1, metavar="N")
    thread_backlog: int = _setting(
        64, "calls waiting for a thread before new ones get 503 + Retry-After", "processes", minimum=0, metavar="N")
    loop: str = _setting("auto", "event loop: auto (uvloop if installed), asyncio or uvloop", "processes",
                         choices=("auto", "asyncio", "uvloop"))
    certfile: str | None = _setting(None, "PEM certificate chain: serve HTTPS", "tls", metavar="PATH")
    keyfile: str | None = _setting(None, "PEM private key (if not inside --certfile)", "tls", metavar="PATH")
    proxy_headers: bool = _setting(
        False, "take the client address and scheme from Forwarded / X-Forwarded-* sent by trusted proxies", "proxy")
    forwarded_allow_ips: str = _setting(
        "127.0.0.1,::1", "comma-separated addresses and CIDR ranges of the proxies trusted by --proxy-headers"
                         " ('*' trusts every peer)", "proxy", metavar="LIST")
    access_log: bool = _setting(True, "log each response to stderr", "logging")
    access_log_format: str = _setting("combined", "access log lines: Combined Log Format, or one JSON object each",
                                      "logging", choices=("combined", "json"))
    log_level: str = _setting("info", "level of the error log", "logging",
                              choices=("debug", "info", "warning", "error", "critical"))
    limits: Limits = field(default=DEFAULT_LIMITS, metadata={"group": "limits"})

    def __post_init__(self) -> None:
        for f in settings():
            check_value(f.name, getattr(self, f.name))
        if self.keyfile and not self.certfile:
            raise ValueError("keyfile given without certfile")
        if self.proxy_headers:
            parse_trusted_proxies(self.forwarded_allow_ips)  # a bad entry is a ValueError naming it
        object.__setattr__(self, "root_path", normalize_root_path(self.root_path))
        if self.uds is not None and self.fd is not None:
            raise ValueError("uds and fd are two ways to listen: give only one")
        if self.reload and self.workers > 1:
            raise ValueError("reload runs a single server process: it cannot be combined with workers > 1")

    @property
    def scheme(self) -> str:
        return "https" if self.certfile else "http"


def settings() -> list[dataclasses.Field[Any]]:
    """The schema: every field of ServerConfig except the nested limits."""
    return [f for f in dataclasses.fields(ServerConfig) if f.name != "limits"]


def check_value(name: str, value: Any) -> None:
    """Raise ``ValueError`` if ``value`` is wrong for setting or limit ``name`` on its own.

    This is the part of validation that needs no other setting, so a
    caller holding one value from one source (an environment variable)
    can name that source in the error. ``None`` is a valid "unset".
    """
    if name in _LIMIT_NAMES:
        Limits(**{name: value})
        return
    if value is None:
        return
    meta = _SETTINGS[name].metadata
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    low, high = meta.get("minimum"), meta.get("maximum")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"at least {low}" if high is None else f"{low}-{high}"
        raise ValueError(f"{name} must be {bounds}, got {value}")


def value_type(name: str) -> type:
    """What setting or limit ``name`` holds: bool, int, float or str (an optional one may also be None)."""
    return _TYPES[name]


def _types() -> dict[str, type]:
    hints = {**typing.get_type_hints(ServerConfig), **typing.get_type_hints(Limits)}
    return {name: next(t for t in typing.get_args(hint) or (hint,) if t is not type(None))
            for name, hint in hints.items() if name != "limits"}


_SETTINGS = {f.name: f for f in settings()}
_LIMIT_NAMES = frozenset(f.name for f in dataclasses.fields(Limits))
_TYPES = _types()
