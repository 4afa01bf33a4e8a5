"""The command line: ``python3 -m heron [module:app] [options]``.

Options are generated from ``ServerConfig`` and ``Limits``, so ``--help``
lists every setting and every limit with its default. With no app
argument heron serves its demo site.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from heron.config import ServerConfig, settings
from heron.errors import StartupFailed
from heron.limits import Limits, describe
from heron.server.connection import Handler

if TYPE_CHECKING:
    import socket
    import ssl

    from heron.server.lifecycle import Hook

DEMO = "heron.demo:app"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heron",
        description="Serve a heron app over HTTP/1.1. Without APP, serve heron's demo site.",
    )
    parser.add_argument("app", nargs="?", default=None, metavar="APP",
                        help="what to serve: module:attribute or path/to/file.py:attribute (attribute defaults to app)")
    parser.add_argument("--static", action="append", default=[], metavar="/PREFIX=DIR",
                        help="serve the files in DIR at /PREFIX, in front of APP (repeatable; docs/static.md);"
                             " with no APP, serve only these files")
    parser.add_argument("--static-listing", action="store_true",
                        help="list the entries of --static directories that have no index.html (default: 404)")
    groups: dict[str, Any] = {}
    for f in settings():
        group_name = f.metadata["group"]
        group = groups.get(group_name) or groups.setdefault(group_name, parser.add_argument_group(group_name))
        flag = "--" + f.name.replace("_", "-")
        if isinstance(f.default, bool):
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default,
                               help=f.metadata["help"] + " (default: %(default)s)")
        else:
            kind = int if isinstance(f.default, int) else str
            group.add_argument(flag, type=kind, default=f.default, choices=f.metadata.get("choices"),
                               help=f.metadata["help"] + " (default: %(default)s)")
    limits = parser.add_argument_group("limits", "caps and timeouts on what clients control (docs/limits.md)")
    for name, default, unit, on_exceed, _why in describe():
        limits.add_argument("--" + name.replace("_", "-"), type=type(default), default=default, metavar=unit.upper(),
                            help=f"{on_exceed} when exceeded (default: %(default)s {unit})")
    return parser


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    limits = Limits(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Limits)})
    return ServerConfig(**{f.name: getattr(args, f.name) for f in settings()}, limits=limits)


def load_app(spec: str) -> Any:
    """Import ``module:attr`` or ``file.py:attr`` and return the attribute."""
    target, _, attr = spec.partition(":")
    attr = attr or "app"
    if target.endswith(".py") or os.sep in target:
        path = os.path.abspath(target)
        if not os.path.isfile(path):
            raise SystemExit(f"heron: cannot load {target!r}: no such file")
        name = os.path.splitext(os.path.basename(path))[0]
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise SystemExit(f"heron: cannot load {target!r}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        sys.path.insert(0, os.path.dirname(path))
        module_spec.loader.exec_module(module)
    else:
        sys.path.insert(0, os.getcwd())
        module = _import_module(target)
    try:
        obj = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise SystemExit(f"heron: {target!r} has no attribute {attr!r}") from None
    return obj


def _import_module(name: str) -> Any:
    """Import ``name``; a one-line error if it (or a package above it) does not exist.

    A module missing *inside* the app is the app's own error, and keeps its
    traceback, which says where the import was.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if name == missing or name.startswith(missing + "."):
            raise SystemExit(f"heron: cannot load {name!r}: no module named {missing!r}") from None
        raise


def as_handler(app: Any) -> Handler:
    """The server-facing callable for an app: a heron App, or ``async def handler(request)``."""
    handle = getattr(app, "handle", None)
    if callable(handle):
        return handle  # type: ignore[no-any-return]
    if callable(app):
        return app  # type: ignore[no-any-return]
    raise SystemExit(f"heron: {app!r} is not an app")


def as_hooks(app: Any) -> tuple[Hook | None, Hook | None]:
    """The app's ``startup`` and ``shutdown`` coroutine functions, if it has them (a heron App does)."""
    startup, shutdown = getattr(app, "startup", None), getattr(app, "shutdown", None)
    return (startup if callable(startup) else None), (shutdown if callable(shutdown) else None)


def _run_worker(handler: Handler, hooks: tuple[Hook | None, Hook | None], config: ServerConfig,
                sock: socket.socket, ssl_context: ssl.SSLContext | None) -> None:
    """One worker process: serve, or say in one line why the app's startup failed and exit with its code."""
    from heron.server.lifecycle import run_in_process
    from heron.server.workers import EXIT_STARTUP_FAILED

    try:
        run_in_process(handler, config, sock, ssl_context, startup=hooks[0], shutdown=hooks[1])
    except StartupFailed as exc:
        message = str(exc).replace("\n", " ")
        print(f"heron: startup failed: {message}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_STARTUP_FAILED) from None


def configure_logging(config: ServerConfig) -> None:
    errors = logging.getLogger("heron.error")
    errors.setLevel(config.log_level.upper())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] %(levelname)s %(message)s"))
    errors.addHandler(handler)
    errors.propagate = False
    access = logging.getLogger("heron.access")
    access.setLevel(logging.INFO if config.access_log else logging.CRITICAL)
    access_handler = logging.StreamHandler(sys.stderr)
    access_handler.setFormatter(logging.Formatter("%(message)s"))
    access.addHandler(access_handler)
    access.propagate = False


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        raise SystemExit(f"heron: {exc}") from None
    configure_logging(config)
    if args.static:
        app = load_app(args.app) if args.app else None
        label = args.app or "static files from " + ", ".join(args.static)
        serve(with_static_mounts(app, args.static, listing=args.static_listing), config, label=label)
        return
    serve(load_app(args.app or DEMO), config, label=args.app or "the demo site")


class _StaticFront:
    """``--static`` mounts answering first, then the app (if any), whose startup/shutdown hooks are kept."""

    def __init__(self, handle: Handler, app: Any) -> None:
        self.handle = handle
        self.startup = getattr(app, "startup", None)
        self.shutdown = getattr(app, "shutdown", None)


def with_static_mounts(app: Any, specs: Sequence[str], *, listing: bool = False) -> Any:
    """``app`` (or nothing) behind the ``--static /PREFIX=DIR`` mounts."""
    from heron.web.static import StaticFiles, with_static

    mounts = []
    for spec in specs:
        prefix, sep, directory = spec.partition("=")
        if not sep or not prefix.startswith("/") or not directory:
            raise SystemExit(f"heron: --static {spec!r}: expected /PREFIX=DIR, e.g. --static /assets=./public")
        try:
            mounts.append(StaticFiles(directory, prefix, listing=listing))
        except ValueError as exc:
            raise SystemExit(f"heron: --static {spec!r}: {exc}") from None
    return _StaticFront(with_static(mounts, as_handler(app) if app is not None else None), app)


def serve(app: Any, config: ServerConfig | None = None, *, label: str = "app", **settings: Any) -> None:
    """Serve ``app`` until SIGINT/SIGTERM; ``settings`` override fields of ``config``."""
    from heron.server.listener import bind_tcp, describe_address
    from heron.server.tls import make_server_context
    from heron.server.workers import run_workers

    config = dataclasses.replace(config or ServerConfig(), **settings)
    handler = as_handler(app)
    hooks = as_hooks(app)
    try:
        ssl_context = make_server_context(config.certfile, config.keyfile) if config.certfile else None
    except OSError as exc:  # ssl.SSLError is an OSError too
        raise SystemExit(f"heron: cannot load the TLS certificate or key: {exc}") from None
    try:
        sock = bind_tcp(config.host, config.port, config.backlog)
    except OSError as exc:
        raise SystemExit(f"heron: cannot listen on {config.host}:{config.port}: {exc.strerror or exc}") from None
    print(f"heron: serving {label} on {describe_address(sock, config.scheme)}"
          f" ({config.workers} worker{'s' if config.workers > 1 else ''})", file=sys.stderr, flush=True)
    try:
        if config.workers > 1:
            run_workers(config.workers, lambda: _run_worker(handler, hooks, config, sock, ssl_context))
        else:
            _run_worker(handler, hooks, config, sock, ssl_context)
    finally:
        sock.close()
