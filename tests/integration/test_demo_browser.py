"""The demo site in a real browser: headless Chromium loads it, runs its script, follows a link, chats.

What only a browser can tell: that the stylesheet was applied, that the
script ran and its fetch of /api/data succeeded, that a click on a link
leads to the right page, that two pages talk to each other through the
chat room's WebSockets, that a file sent through the upload page comes
back with the right hash, that signing in and out works with the
browser's own cookie handling, and that nothing failed on the way (no
console error, no failed load). Skips when Chromium or ChromeDriver is missing;
``scripts/test`` installs both when it runs as root.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from .conftest import Serve
from .webdriver import Browser, chromium, missing_programs

pytestmark = [
    pytest.mark.skipif(bool(missing_programs()),
                       reason=f"browser test needs {' and '.join(missing_programs())} (Debian: chromium, chromium-driver)"),
    pytest.mark.timeout(30),
]

ACCENT = "rgb(31, 111, 139)"  # --accent in heron/demo/static/style.css, the colour of every <h1>


def test_demo_site_renders_runs_its_script_and_follows_a_link(serve: Serve, tmp_path: Path) -> None:
    server = serve(app=None)  # the demo site, as `python3 -m heron` serves it
    with chromium(tmp_path) as browser:
        browser.get(server.url("/"))
        assert browser.text(browser.find("h1")) == "Hello from heron"
        assert browser.script("return getComputedStyle(document.querySelector('h1')).color") == ACCENT

        assert browser.script("return document.body.dataset.jsLoaded") == "yes"
        api_data = browser.find("#api-data")
        shown = browser.wait_for(lambda: "heron" in browser.text(api_data) and browser.text(api_data),
                                 what="/api/data shown on the home page")
        assert '"server": "heron"' in shown
        assert '"path": "/api/data"' in shown

        browser.click(browser.find("nav a[href='/about']"))
        browser.wait_for(lambda: browser.url == server.url("/about"), what="the About link followed")
        assert browser.text(browser.find("h1")) == "About this page"
        assert browser.text(browser.find("nav a[aria-current='page']")) == "About"
        assert browser.script("return document.body.dataset.jsLoaded") == "yes"

        assert_no_console_errors(browser)


def join_chat(browser: Browser, url: str, name: str) -> None:
    browser.get(url)
    browser.type(browser.find("#chat-name"), name)
    browser.click(browser.find("#chat-join button"))
    browser.wait_for(lambda: browser.script("return document.body.dataset.chat") == "open",
                     what=f"{name}'s page connected to the chat room")


def say(browser: Browser, text: str) -> None:
    browser.type(browser.find("#chat-text"), text)
    browser.click(browser.find("#chat-send button"))


def chat_lines(browser: Browser) -> list[str]:
    return [browser.text(item) for item in browser.find_all("#chat-messages li")]


def test_two_pages_talk_to_each_other_through_the_chat_room(serve: Serve, tmp_path: Path) -> None:
    server = serve(app=None)
    (tmp_path / "ada").mkdir()
    (tmp_path / "grace").mkdir()
    with chromium(tmp_path / "ada") as ada, chromium(tmp_path / "grace") as grace:
        join_chat(ada, server.url("/chat"), "Ada")
        join_chat(grace, server.url("/chat"), "Grace")
        ada.wait_for(lambda: "Grace joined." in chat_lines(ada), what="Ada sees Grace join")
        assert ada.text(ada.find("#chat-members")) == "Ada, Grace"

        say(ada, "Hello, <b>Grace</b>!")  # markup in a message is shown as text
        grace.wait_for(lambda: "Ada: Hello, <b>Grace</b>!" in chat_lines(grace), what="Grace gets Ada's message")
        assert grace.find_all("#chat-messages b") and not grace.find_all("#chat-messages b b")
        say(grace, "Hi Ada, ünïcödé works too ✓")
        ada.wait_for(lambda: "Grace: Hi Ada, ünïcödé works too ✓" in chat_lines(ada), what="Ada gets the reply")
        assert chat_lines(ada)[-2:] == ["Ada: Hello, <b>Grace</b>!", "Grace: Hi Ada, ünïcödé works too ✓"]

        grace.get(server.url("/about"))  # Grace leaves the page: her WebSocket closes
        ada.wait_for(lambda: "Grace left." in chat_lines(ada), what="Ada sees Grace leave")
        assert ada.text(ada.find("#chat-members")) == "Ada"

        assert_no_console_errors(ada)
        assert_no_console_errors(grace)


def test_a_file_uploaded_through_the_page_comes_back_with_its_hash(serve: Serve, tmp_path: Path) -> None:
    server = serve(app=None)
    content = os.urandom(3 * 1024 * 1024 + 17)  # past the memory threshold: spooled to disk on the way
    upload = tmp_path / "résumé 2026.bin"
    upload.write_bytes(content)
    small = tmp_path / "note.txt"
    small.write_bytes(b"hello from the browser test\n")
    (tmp_path / "profile").mkdir()
    with chromium(tmp_path / "profile") as browser:
        browser.get(server.url("/upload"))
        browser.type(browser.find("#upload-files"), f"{upload}\n{small}")
        browser.click(browser.find("#upload-form button"))
        browser.wait_for(lambda: browser.script("return document.body.dataset.upload") == "done",
                         timeout=15, what="the upload finished")
        rows = [[browser.text(cell) for cell in browser.find_all(f"tr.upload-file:nth-of-type({i}) td")]
                for i in (2, 3)]
        assert rows == [["résumé 2026.bin", str(len(content)), hashlib.sha256(content).hexdigest()],
                        ["note.txt", "28", hashlib.sha256(b"hello from the browser test\n").hexdigest()]]
        assert browser.script("return document.getElementById('upload-progress').value") == 100
        assert_no_console_errors(browser)


def test_sign_in_count_visits_and_sign_out(serve: Serve, tmp_path: Path) -> None:
    server = serve(app=None)
    with chromium(tmp_path) as browser:
        def shows(selector: str, text: str, what: str) -> None:  # after a form's answer has loaded
            browser.wait_for(lambda: browser.text(browser.find(selector)) == text, what=what)

        browser.get(server.url("/account"))
        shows(".flash", "Sign in first.", "sent to the sign-in page")
        assert browser.url == server.url("/login")
        browser.type(browser.find("input[name=name]"), "Ada")
        browser.type(browser.find("input[name=password]"), "wrong")
        browser.click(browser.find("#login-form button"))
        shows(".flash", "Wrong name or password.", "a wrong password refused")

        browser.type(browser.find("input[name=name]"), "Ada")
        browser.type(browser.find("input[name=password]"), "heron")
        browser.click(browser.find("#login-form button"))
        shows("#account-user", "Ada", "signed in")
        assert browser.url == server.url("/account")
        assert browser.text(browser.find(".flash")) == "Welcome, Ada."
        assert browser.text(browser.find("#account-visits")) == "1"
        browser.get(server.url("/account"))
        assert browser.text(browser.find("#account-visits")) == "2"
        assert not browser.find_all(".flash")  # a flash is shown once
        assert browser.script("return document.cookie") == ""  # HttpOnly: no script can read the session

        browser.click(browser.find("#logout-form button"))
        shows(".flash", "You are signed out.", "signed out")
        browser.get(server.url("/account"))
        shows(".flash", "Sign in first.", "the account page closed again")
        assert_no_console_errors(browser)


def assert_no_console_errors(browser: Browser, expected: str | None = None) -> None:
    """No error in the console, but those whose message holds ``expected`` (a 429 the page provoked on purpose)."""
    errors = [entry for entry in browser.console_log()
              if entry["level"] == "SEVERE" and (expected is None or expected not in entry["message"])]
    assert not errors, "errors in the browser console:\n" + "\n".join(entry["message"] for entry in errors)
    # The check above would pass just as well if the log never reached us: prove it does.
    browser.script("console.error('probe: the console log reaches the test')")
    probe = browser.console_log()
    assert any(entry["level"] == "SEVERE" and "probe:" in entry["message"] for entry in probe), probe


def test_the_caching_page_shows_its_fields_its_304_and_the_rate_limit(serve: Serve, tmp_path: Path) -> None:
    server = serve(app=None)
    with chromium(tmp_path) as browser:
        browser.get(server.url("/caching"))
        browser.wait_for(lambda: browser.script("return document.body.dataset.caching") == "shown",
                         what="the page fetched itself")

        def field(name: str) -> str:
            return browser.text(browser.find(f'[data-field="{name}"]'))

        assert field("content-encoding") in ("gzip", "br", "zstd")  # Chromium accepts all three
        assert {item.strip() for item in field("vary").split(",")} == {"Accept-Encoding", "Cookie"}
        assert field("etag").startswith('"') and "no-cache" in field("cache-control")
        assert browser.text(browser.find("#caching-revalidated")) == "304 Not Modified"

        button = browser.find("#caching-click")
        for _ in range(5):
            browser.click(button)
            browser.wait_for(lambda: browser.text(browser.find("#caching-status")).startswith("Clicked"),
                             what="a click let through")
            browser.script("document.getElementById('caching-status').textContent = ''")
        browser.click(button)
        browser.wait_for(lambda: browser.script("return document.body.dataset.limited") == "yes",
                         what="the sixth click refused")
        assert browser.text(browser.find("#caching-status")).startswith("429 Too Many Requests: wait ")
        assert '"button";r=0' in browser.text(browser.find("#caching-ratelimit"))
        assert_no_console_errors(browser, expected="/caching/click")
