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
from typing import Any, NoReturn

from heron.errors import ServeError, StartupFailed
from heron.limits import Limits, describe
from heron.server.config import GROUPS, ServerConfig, check_value, settings, value_type
from heron.server.workers import EXIT_STARTUP_FAILED
from heron.web.static import StaticFiles
from heron.web.staticfront import StaticFront

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
    """``heron`` and ``python3 -m heron``: parse flags and HERON_* variables, then serve (or supervise).

    What ``heron.serving`` raises becomes one line on stderr and an exit
    status: 1 when serving cannot start, 3 when the app's startup failed.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(os.environ).parse_args(argv)
    config = config_from_args(args)
    configure_logging(config)
    try:
        if config.reload:
            _serve_reloading(config, argv, args.app)
        else:
            _serve(config, args)
    except ServeError as exc:
        raise SystemExit(f"heron: {exc}") from None
    except StartupFailed as exc:
        message = str(exc).replace("\n", " ")
        print(f"heron: startup failed: {message}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_STARTUP_FAILED) from None


def _serve(config: ServerConfig, args: argparse.Namespace) -> None:
    """Serve APP (the demo site without one), behind the ``--static`` mounts if there are any."""
    from heron.server.reload import watch_supervisor
    from heron.serving import serve_app, servable

    watch_supervisor()
    if not args.static:
        serve_app(servable(load_app(args.app or DEMO), config), config, args.app or "the demo site")
        return
    app = servable(load_app(args.app), config) if args.app else None
    label = args.app or "static files from " + ", ".join(args.static)
    serve_app(StaticFront(static_mounts(args.static, listing=args.static_listing), app), config, label)


def static_mounts(specs: Sequence[str], *, listing: bool = False) -> list[StaticFiles]:
    """The ``--static /PREFIX=DIR`` mounts; ``ServeError`` for a spec that is not one."""
    mounts = []
    for spec in specs:
        prefix, sep, directory = spec.partition("=")
        if not sep or not prefix.startswith("/") or not directory:
            raise ServeError(f"--static {spec!r}: expected /PREFIX=DIR, e.g. --static /assets=./public")
        try:
            mounts.append(StaticFiles(directory, prefix, listing=listing))
        except ValueError as exc:
            raise ServeError(f"--static {spec!r}: {exc}") from None
    return mounts


def _serve_reloading(config: ServerConfig, argv: Sequence[str], app_spec: str | None) -> None:
    """``--reload``: bind here, and run the server as a child given the socket, anew after each change.

    The child gets this command line back with ``--no-reload`` (beating a
    HERON_RELOAD variable it inherits) and ``--fd``; ``--uds ''`` undoes a
    socket path, which it must not bind again.
    """
    from heron.server.reload import Reloader, outermost
    from heron.serving import listen, tls_context

    tls_context(config)  # bad TLS files end it here, as without --reload, not in a child after a child
    watched = [os.getcwd()]
    path = app_file(app_spec) if app_spec else None
    if path is not None:
        watched.append(os.path.dirname(path))
    with ExitStack() as stack:
        sock = listen(config, stack)
        command = [sys.executable, "-m", "heron", *argv, "--no-reload", *(["--uds", ""] if config.uds else []),
                   "--fd", str(sock.fileno())]
        Reloader(command, sock, outermost(watched), config.limits.shutdown_timeout).run()
