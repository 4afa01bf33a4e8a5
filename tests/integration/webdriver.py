"""A minimal W3C WebDriver client: headless Chromium driven over HTTP with ``requests``.

ChromeDriver is a small HTTP server that drives the browser; WebDriver
(https://www.w3.org/TR/webdriver2/) is its JSON protocol: create a session,
navigate, find elements, click, run scripts. The few calls the browser
tests need fit in this module, so there is no Selenium and nothing that
downloads a driver: Debian's ``chromium`` and ``chromium-driver`` packages
provide both programs (``scripts/test`` installs them when it can).

Every wait has a deadline: a stuck browser fails the test, it never hangs it.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
START_TIMEOUT = 10.0
COMMAND_TIMEOUT = 15.0  # seconds for any one WebDriver command, browser start included
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the key of an element reference in W3C WebDriver
_STARTED = re.compile(r"ChromeDriver was started successfully on port (\d+)")

# Chromium as root in a container, on a closed network: no sandbox (it needs
# user namespaces), no GPU, and none of the background traffic (updates,
# sync, QUIC probes) that would only meet refused connections here.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1024,900",
]

T = TypeVar("T")


def missing_programs() -> list[str]:
    """The browser programs that are not installed (empty when the browser tests can run)."""
    return [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]


class WebDriverError(AssertionError):
    """ChromeDriver answered a command with an error."""


@dataclass
class Browser:
    """One WebDriver session: a headless Chromium window."""

    endpoint: str  # http://127.0.0.1:<port>/session/<id>
    http: requests.Session

    def command(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        """Send one WebDriver command; return its ``value``."""
        if payload is None and method == "POST":
            payload = {}
        response = self.http.request(method, self.endpoint + path, json=payload, timeout=COMMAND_TIMEOUT)
        value = response.json()["value"]
        if response.status_code != 200:
            raise WebDriverError(f"{method} {path}: {value.get('error')}: {value.get('message')}")
        return value

    def get(self, url: str) -> None:
        """Navigate to ``url`` and wait until the page has loaded."""
        self.command("POST", "/url", {"url": url})

    @property
    def url(self) -> str:
        return str(self.command("GET", "/url"))

    def find(self, css: str) -> str:
        """The element matching the CSS selector (an element id); WebDriverError if there is none."""
        return str(self.command("POST", "/element", {"using": "css selector", "value": css})[ELEMENT])

    def find_all(self, css: str) -> list[str]:
        found = self.command("POST", "/elements", {"using": "css selector", "value": css})
        return [str(element[ELEMENT]) for element in found]

    def text(self, element: str) -> str:
        return str(self.command("GET", f"/element/{element}/text"))

    def click(self, element: str) -> None:
        self.command("POST", f"/element/{element}/click")

    def type(self, element: str, text: str) -> None:
        """Type ``text`` into the element, key by key, as a user would."""
        self.command("POST", f"/element/{element}/value", {"text": text})

    def script(self, source: str, *args: Any) -> Any:
        """Run ``source`` as the body of a function in the page; ``arguments`` holds ``args``."""
        return self.command("POST", "/execute/sync", {"script": source, "args": list(args)})

    def wait_for(self, probe: Callable[[], T], timeout: float = 5.0, what: str = "condition") -> T:
        """Call ``probe`` until it returns something true; return that, or fail after ``timeout`` s.

        A probe that fails in the browser (an element not there yet, because a
        form's answer is still loading) counts as not true yet."""
        deadline = time.monotonic() + timeout
        error: WebDriverError | None = None
        while True:
            try:
                result = probe()
            except WebDriverError as exc:
                result, error = None, exc  # type: ignore[assignment]
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: still not true after {timeout}s (last error: {error})")
            time.sleep(0.05)

    def console_log(self) -> list[dict[str, Any]]:
        """Console messages and page errors since the last call (ChromeDriver's log endpoint).

        Each entry has ``level`` (``SEVERE`` for errors: an exception, a
        failed load, ``console.error``), ``message`` and ``source``.
        """
        return list(self.command("POST", "/se/log", {"type": "browser"}))

    def screenshot(self, path: Path) -> None:
        """Save what the window shows as a PNG."""
        path.write_bytes(base64.b64decode(self.command("GET", "/screenshot")))


@contextmanager
def chromium(workdir: Path) -> Iterator[Browser]:
    """Start ChromeDriver and a headless Chromium session; stop both on exit.

    ChromeDriver is told ``--port=0`` and reports the port the kernel
    chose, as heron does; its log and the browser's profile stay in
    ``workdir``.
    """
    with _chromedriver(workdir) as base, requests.Session() as http:
        capabilities = {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [*CHROMIUM_ARGS, f"--user-data-dir={workdir / 'profile'}"],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
            "timeouts": {"implicit": 0, "pageLoad": 10_000, "script": 5_000},
        }
        response = http.post(f"{base}/session", json={"capabilities": {"alwaysMatch": capabilities}},
                             timeout=COMMAND_TIMEOUT)
        value = response.json()["value"]
        if response.status_code != 200:
            raise WebDriverError(f"could not start Chromium: {value.get('message')}")
        browser = Browser(f"{base}/session/{value['sessionId']}", http)
        try:
            yield browser
        finally:
            http.delete(browser.endpoint, timeout=COMMAND_TIMEOUT)  # closes the browser


@contextmanager
def _chromedriver(workdir: Path) -> Iterator[str]:
    """Run ChromeDriver on a free loopback port; yield its base URL."""
    stdout_path = workdir / "chromedriver.stdout"
    with stdout_path.open("wb") as stdout:
        proc = subprocess.Popen(
            [CHROMEDRIVER, "--port=0", f"--log-path={workdir / 'chromedriver.log'}"],
            stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: teardown can end the browser with it
        )
    try:
        yield _wait_started(proc, stdout_path)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        finally:
            _kill_group(proc.pid)  # a browser left behind by a session that did not close
            proc.wait(5)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _wait_started(proc: subprocess.Popen[bytes], stdout_path: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        output = stdout_path.read_text("utf-8", errors="replace")
        match = _STARTED.search(output)
        if match:
            return f"http://127.0.0.1:{match.group(1)}"
        if proc.poll() is not None:
            raise WebDriverError(f"chromedriver exited with {proc.returncode}:\n{output}")
        if time.monotonic() > deadline:
            raise WebDriverError(f"chromedriver did not start within {START_TIMEOUT}s:\n{output}")
        time.sleep(0.02)
