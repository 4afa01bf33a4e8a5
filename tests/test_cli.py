"""The command line is generated from ServerConfig and Limits, as flags and HERON_* variables, and validates them."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import heron
from heron.cli import build_parser, config_from_args, env_var
from heron.server.config import GROUPS, ServerConfig, settings, value_type
from heron.limits import Limits, describe

ALL_NAMES = [f.name for f in settings()] + [name for name, *_ in describe()]
ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "cli.md"


def heron_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m heron ARGS`` for a command line that must fail before serving anything.

    Run from the repository root, with no HERON_* variable but those in ``env``.
    """
    clean = {name: value for name, value in os.environ.items() if not name.startswith("HERON_")}
    return subprocess.run([sys.executable, "-m", "heron", *args], capture_output=True, text=True, timeout=30,
                          cwd=ROOT, env={**clean, **(env or {})})


def config_for(argv: list[str], env: dict[str, str] | None = None) -> ServerConfig:
    return config_from_args(build_parser(env or {}).parse_args(argv))


def value_of(config: ServerConfig, name: str) -> Any:
    return getattr(config.limits if name in {f.name for f in dataclasses.fields(Limits)} else config, name)


def other_value(name: str) -> tuple[str, Any]:
    """A valid value for ``name`` that is not its default, as text and as the value it must become."""
    default = value_of(ServerConfig(), name)
    choices = next((f.metadata.get("choices") for f in settings() if f.name == name), None)
    kind = value_type(name)
    if kind is bool:
        return ("off" if default else "on"), not default
    if choices:
        choice = next(c for c in choices if c != default)
        return choice, choice
    if kind is int:
        return str((default or 0) + 3), (default or 0) + 3
    if kind is float:
        return str(default + 0.5), default + 0.5
    return "/srv/x", "/srv/x"


def test_every_setting_and_limit_has_a_flag() -> None:
    help_text = build_parser().format_help()
    for name in ALL_NAMES:
        assert "--" + name.replace("_", "-") in help_text


@pytest.mark.parametrize("name", ALL_NAMES)
def test_every_setting_and_limit_has_an_environment_variable(name: str) -> None:
    text, expected = other_value(name)
    env = {env_var(name): text}
    if name == "keyfile":
        env["HERON_CERTFILE"] = "/srv/cert.pem"
    assert value_of(config_for(["x:app"], env), name) == expected


def test_help_states_the_environment_rule() -> None:
    help_text = " ".join(build_parser().format_help().split())
    assert "HERON_ and the option's name in capitals, - as _" in help_text
    assert "HERON_MAX_BODY_BYTES" in help_text and "HERON_APP" in help_text
    assert "A flag beats its variable, a variable beats the default" in help_text
    assert env_var("max_body_bytes") == "HERON_MAX_BODY_BYTES"


def test_help_names_a_default_taken_from_the_environment() -> None:
    help_text = " ".join(build_parser({"HERON_PORT": "9000"}).format_help().split())
    assert "(default: 9000, from HERON_PORT)" in help_text


def test_help_is_grouped_in_schema_order() -> None:
    help_text = build_parser().format_help()
    headers = [help_text.index(f"\n{group}:\n") for group in GROUPS]
    assert headers == sorted(headers)
    ends = dict(zip(GROUPS, [*headers[1:], len(help_text)]))
    starts = dict(zip(GROUPS, headers))
    placed = [(f.name, f.metadata["group"]) for f in settings()] + [(name, "limits") for name, *_ in describe()]
    for name, group in placed:
        flag = "--" + name.replace("_", "-")
        match = re.search(rf"^  {flag}[ ,\n]", help_text, re.MULTILINE)
        assert match is not None, f"{flag} is not listed"
        position = match.start()
        assert starts[group] < position < ends[group], f"--{name} is not under {group}:"


@pytest.mark.parametrize("name", ALL_NAMES)
def test_the_guide_has_a_row_for_each_option_with_its_variable(name: str) -> None:
    flag = "--" + name.replace("_", "-")
    assert re.search(rf"^\| `{flag}[ `].*\| `{env_var(name)}` \|", GUIDE.read_text(), re.MULTILINE)


def test_the_guides_links_lead_somewhere() -> None:
    for target in re.findall(r"\]\(([^)#]+\.md)", GUIDE.read_text()):
        assert (GUIDE.parent / target).is_file(), target


def test_flags_reach_the_config() -> None:
    config = config_for(["x:app", "--port", "9000", "--workers", "3", "--no-access-log",
                         "--max-body-bytes", "1000", "--header-timeout", "2.5"])
    assert (config.port, config.workers, config.access_log) == (9000, 3, False)
    assert config.limits == Limits(max_body_bytes=1000, header_timeout=2.5)


def test_a_flag_beats_its_variable_which_beats_the_default() -> None:
    env = {"HERON_PORT": "9000", "HERON_MAX_BODY_BYTES": "500"}
    assert config_for(["x:app"], env).port == 9000
    assert config_for(["x:app", "--port", "9001"], env).port == 9001
    assert config_for(["x:app"], env).limits.max_body_bytes == 500
    assert config_for(["x:app"]).port == 8080


def test_app_can_come_from_heron_app() -> None:
    assert build_parser({"HERON_APP": "site:app"}).parse_args([]).app == "site:app"
    assert build_parser({"HERON_APP": "site:app"}).parse_args(["other:app"]).app == "other:app"


def test_an_empty_variable_counts_as_unset() -> None:
    assert config_for(["x:app"], {"HERON_PORT": "", "HERON_UDS": "", "HERON_ACCESS_LOG": ""}) == ServerConfig()


def test_an_empty_path_flag_undoes_its_variable() -> None:
    assert config_for(["x:app", "--uds", ""], {"HERON_UDS": "/run/app.sock"}).uds is None


@pytest.mark.parametrize(("text", "value"), [("1", True), ("true", True), ("Yes", True), ("ON", True),
                                             ("0", False), ("false", False), ("no", False), ("Off", False)])
def test_switch_variables_take_the_usual_words(text: str, value: bool) -> None:
    assert config_for(["x:app"], {"HERON_PROXY_HEADERS": text}).proxy_headers is value


@pytest.mark.parametrize(("variable", "text"), [("HERON_PORT", "eighty"), ("HERON_PORT", "70000"),
                                                ("HERON_PROXY_HEADERS", "maybe"), ("HERON_LOOP", "tokio"),
                                                ("HERON_MAX_BODY_BYTES", "0"), ("HERON_HEADER_TIMEOUT", "nan"),
                                                ("HERON_WORKERS", "1.5")])
def test_a_bad_variable_is_one_line_naming_it(variable: str, text: str) -> None:
    result = heron_cli("examples/echo.py:app", env={variable: text})
    assert result.returncode == 2
    assert result.stderr.startswith(f"heron: {variable}={text!r}: ")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("flags", [["--max-body-bytes", "0"], ["--header-timeout", "-1"], ["--workers", "0"],
                                   ["--port", "70000"], ["--fd", "-1"]])
def test_invalid_settings_are_refused_with_a_message(flags: list[str]) -> None:
    result = heron_cli("examples/echo.py:app", *flags)
    assert result.returncode == 2
    assert "heron:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("flags", "message"), [
    (["--reload", "--workers", "2"], "reload runs a single server process"),
    (["--uds", "/tmp/never.sock", "--fd", "3"], "uds and fd are two ways to listen"),
    (["--keyfile", "key.pem"], "keyfile given without certfile"),
])
def test_settings_that_contradict_each_other_are_refused(flags: list[str], message: str) -> None:
    result = heron_cli("examples/echo.py:app", *flags)
    assert result.returncode == 2
    assert result.stderr.startswith(f"heron: {message}") and result.stderr.count("\n") == 1


def test_reload_with_workers_from_the_environment_is_refused_too() -> None:
    result = heron_cli("examples/echo.py:app", "--reload", env={"HERON_WORKERS": "4"})
    assert result.returncode == 2 and "reload runs a single server process" in result.stderr


def test_something_that_is_not_an_app_is_refused_in_one_line() -> None:
    result = heron_cli("examples/echo.py:ALL_METHODS")
    assert result.returncode == 1
    assert re.fullmatch(r"heron: \['\*'\] is not an app: .*\(docs/cli.md, --interface\)\n", result.stderr)


def test_serve_from_python_refuses_reload() -> None:
    with pytest.raises(ValueError, match="reload needs the command line"):
        heron.serve(heron.App(), reload=True)


def test_config_defaults_are_safe() -> None:
    config = ServerConfig()
    assert config.host == "127.0.0.1"
    assert config.port == 8080
    assert config.scheme == "http"
    assert (config.uds, config.fd, config.reload, config.proxy_headers) == (None, None, False, False)
