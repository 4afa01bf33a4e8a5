"""The command line: ``heron [APP] [options]`` (or ``python3 -m heron``).

Options are generated from ``ServerConfig`` and ``Limits``, so ``--help``
lists every setting and every limit with its default, and each one can
also be given as a ``HERON_*`` environment variable (a flag beats its
variable, which beats the default). APP is a heron App, a WSGI app or an
ASGI app (``heron.hosting`` tells which). With no APP heron serves its
demo site. docs/cli.md is the guide.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, NoReturn

from heron.config import GROUPS, ServerConfig, check_value, settings, value_type
from heron.errors import StartupFailed
from heron.limits import Limits, describe
from heron.server.connection import Handler

if TYPE_CHECKING:
    import socket
    import ssl

    from heron.server.lifecycle import Hook

DEMO = "heron.demo:app"
APP_ENV = "HERON_APP"

_SWITCH_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}

_EPILOG = (
    "Every setting and limit can also come from an environment variable: HERON_ and the option's name"
    " in capitals, - as _ (HERON_PORT=8000, HERON_MAX_BODY_BYTES=1048576, HERON_PROXY_HEADERS=1; switches"
    " take 1/true/yes/on or 0/false/no/off), and APP from HERON_APP. A flag beats its variable, a variable"
    " beats the default, and an empty variable counts as unset. Guide: docs/cli.md."
)


def env_var(name: str) -> str:
    """The environment variable of setting or limit ``name``: ``max_body_bytes`` is ``HERON_MAX_BODY_BYTES``."""
    return "HERON_" + name.upper()


def build_parser(environ: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; defaults come from ``environ``'s HERON_* variables (if given), else from the schema."""
    from_env = environment_values(environ or {})
    parser = argparse.ArgumentParser(
        prog="heron",
        usage="%(prog)s [APP] [options]",
        description="Serve a heron App, a WSGI app or an ASGI app over HTTP/1.1. Without APP, serve heron's demo site.",
        epilog=_EPILOG,
    )
    groups = {name: parser.add_argument_group(name, description) for name, description in GROUPS.items()}
    app = groups["app"]
    app.add_argument("app", nargs="?", default=(environ or {}).get(APP_ENV) or None, metavar="APP",
                     help="what to serve: module:attribute or path/to/file.py:attribute (attribute defaults to app)")
    app.add_argument("--static", action="append", default=[], metavar="/PREFIX=DIR",
                     help="serve the files in DIR at /PREFIX, in front of APP (repeatable; docs/static.md);"
                          " with no APP, serve only these files")
    app.add_argument("--static-listing", action="store_true",
                     help="list the entries of --static directories that have no index.html (default: 404)")
    for f in settings():
        _add_option(groups[f.metadata["group"]], f.name, f.default, from_env, f.metadata["help"],
                    choices=f.metadata.get("choices"), metavar=f.metadata.get("metavar"))
    for name, default, unit, on_exceed, _why in describe():
        _add_option(groups["limits"], name, default, from_env, f"{on_exceed} when exceeded",
                    metavar=unit.upper(), unit=unit)
    return parser


def _add_option(group: Any, name: str, default: Any, from_env: Mapping[str, Any], help: str, *,
                choices: Sequence[str] | None = None, metavar: str | None = None, unit: str = "") -> None:
    """One flag: ``--max-body-bytes``, its help ending with the default (or the variable that replaced it)."""
    flag = "--" + name.replace("_", "-")
    kind = value_type(name)
    convert = _text_or_none if default is None and kind is str else kind
    if name in from_env:
        default = from_env[name]
        help += f" (default: {_shown(default, unit)}, from {env_var(name)})"
    elif default not in (None, ""):
        help += f" (default: {_shown(default, unit)})"
    help = help.replace("%", "%%")  # argparse formats help strings
    if kind is bool:
        group.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help)
    else:
        group.add_argument(flag, type=convert, default=default, choices=choices,
                           metavar=metavar, help=help)


def _shown(value: Any, unit: str) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value} {unit}".rstrip()


def _text_or_none(text: str) -> str | None:
    """A text option's value; empty means unset (``--uds ''`` undoes a HERON_UDS)."""
    return text or None


def environment_values(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings and limits given as HERON_* variables, each converted and checked on its own.

    Checking each value alone lets a bad one be reported with the name of
    the variable it came from (one line, exit status 2), not as a setting
    the user may never have typed.
    """
    values: dict[str, Any] = {}
    for name in [f.name for f in settings()] + [f.name for f in dataclasses.fields(Limits)]:
        var = env_var(name)
        text = environ.get(var, "")
        if not text:
            continue
        try:
            values[name] = _from_text(name, text)
            check_value(name, values[name])
        except ValueError as exc:
            usage_error(f"{var}={text!r}: {exc}")
    return values


def _from_text(name: str, text: str) -> Any:
    kind = value_type(name)
    if kind is bool:
        try:
            return _SWITCH_WORDS[text.strip().lower()]
        except KeyError:
            raise ValueError("expected 1, true, yes, on or 0, false, no, off") from None
    if kind is str:
        return text
    try:
        return kind(text)
    except ValueError:
        raise ValueError("expected an integer" if kind is int else "expected a number") from None


def usage_error(message: str) -> NoReturn:
    """A mistake in how heron was invoked: one line on stderr, exit status 2 (as argparse uses)."""
    print(f"heron: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    """The config the parsed arguments describe; a combination that makes no sense is a usage error."""
    try:
        limits = Limits(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Limits)})
        return ServerConfig(**{f.name: getattr(args, f.name) for f in settings()}, limits=limits)
    except ValueError as exc:
        usage_error(str(exc))


def load_app(spec: str) -> Any:
    """Import ``module:attr`` or ``file.py:attr`` and return the attribute."""
    target, _, attr = spec.partition(":")
    attr = attr or "app"
    path = app_file(spec)
    if path is not None:
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


def app_file(spec: str) -> str | None:
    """The absolute path of the file an APP spec names (``dir/app.py:app``); None for a module name."""
    target = spec.partition(":")[0]
    return os.path.abspath(target) if target.endswith(".py") or os.sep in target else None


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


def adapt_app(app: Any, config: ServerConfig) -> Any:
    """``app`` as the server runs it: a heron App as is, a WSGI or ASGI app behind its adapter."""
    from heron.hosting import adapt, detect_interface

    try:
        interface = detect_interface(app) if config.interface == "auto" else config.interface
    except TypeError as exc:
        raise SystemExit(f"heron: {exc} (docs/cli.md, --interface)") from None
    return adapt(app, interface, lifespan=config.lifespan, workers=config.workers)


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
    """``heron`` and ``python3 -m heron``: parse flags and HERON_* variables, then serve (or supervise)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(os.environ).parse_args(argv)
    config = config_from_args(args)
    configure_logging(config)
    if config.reload:
        _serve_reloading(config, argv, args.app)
        return
    from heron.server.reload import watch_supervisor

    watch_supervisor()
    if args.static:
        app = adapt_app(load_app(args.app), config) if args.app else None
        label = args.app or "static files from " + ", ".join(args.static)
        _serve(with_static_mounts(app, args.static, listing=args.static_listing), config, label)
        return
    _serve(adapt_app(load_app(args.app or DEMO), config), config, args.app or "the demo site")


class _StaticFront:
    """``--static`` mounts answering first, then the app (if any), whose startup/shutdown hooks are kept."""

    def __init__(self, handle: Handler, app: Any) -> None:
        self.handle = handle
        self.startup = getattr(app, "startup", None)
        self.shutdown = getattr(app, "shutdown", None)


def with_static_mounts(app: Any, specs: Sequence[str], *, listing: bool = False) -> Any:
    """``app`` (already adapted, or nothing) behind the ``--static /PREFIX=DIR`` mounts."""
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
    """Serve ``app`` (a heron App, WSGI or ASGI app) until SIGINT/SIGTERM; ``settings`` override ``config``."""
    config = dataclasses.replace(config or ServerConfig(), **settings)
    if config.reload:
        raise ValueError("reload needs the command line (heron module:app --reload): the app is imported anew"
                         " on each change")
    _serve(adapt_app(app, config), config, label)


def _serve(app: Any, config: ServerConfig, label: str) -> None:
    """Serve an adapted app: bind, announce, then run one process or supervise ``config.workers``."""
    from heron.server.listener import describe_address
    from heron.server.workers import run_workers

    handler = as_handler(app)
    hooks = as_hooks(app)
    ssl_context = _tls_context(config)
    with ExitStack() as stack:
        sock = _listen(config, stack)
        print(f"heron: serving {label} on {describe_address(sock, config.scheme)}"
              f" ({config.workers} worker{'s' if config.workers > 1 else ''})", file=sys.stderr, flush=True)
        if config.workers > 1:
            run_workers(config.workers, lambda: _run_worker(handler, hooks, config, sock, ssl_context))
        else:
            _run_worker(handler, hooks, config, sock, ssl_context)


def _tls_context(config: ServerConfig) -> ssl.SSLContext | None:
    """The TLS context ``config`` asks for (None: plain TCP); one line and exit 1 if its files cannot be loaded."""
    from heron.server.tls import make_server_context

    try:
        return make_server_context(config.certfile, config.keyfile) if config.certfile else None
    except OSError as exc:  # ssl.SSLError is an OSError too
        raise SystemExit(f"heron: cannot load the TLS certificate or key: {exc}") from None


def _listen(config: ServerConfig, stack: ExitStack) -> socket.socket:
    """The listening socket ``config`` asks for, closed with ``stack``; one line and exit 1 if it cannot be had."""
    from heron.server.listener import listening, where

    try:
        return stack.enter_context(listening(config))
    except OSError as exc:
        raise SystemExit(f"heron: cannot listen on {where(config)}: {exc.strerror or exc}") from None


def _serve_reloading(config: ServerConfig, argv: Sequence[str], app_spec: str | None) -> None:
    """``--reload``: bind here, and run the server as a child given the socket, anew after each change.

    The child gets this command line back with ``--no-reload`` (beating a
    HERON_RELOAD variable it inherits) and ``--fd``; ``--uds ''`` undoes a
    socket path, which it must not bind again.
    """
    from heron.server.reload import Reloader, outermost

    _tls_context(config)  # bad TLS files end it here, as without --reload, not in a child after a child
    watched = [os.getcwd()]
    path = app_file(app_spec) if app_spec else None
    if path is not None:
        watched.append(os.path.dirname(path))
    with ExitStack() as stack:
        sock = _listen(config, stack)
        command = [sys.executable, "-m", "heron", *argv, "--no-reload", *(["--uds", ""] if config.uds else []),
                   "--fd", str(sock.fileno())]
        Reloader(command, sock, outermost(watched), config.limits.shutdown_timeout).run()
