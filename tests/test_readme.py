"""The README's framework example runs and does what it says."""

from __future__ import annotations

import pathlib
import re

import pytest

from heron.testing import TestClient

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def test_readme_framework_example_works(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    match = re.search(r"## The framework in one screen\n\n```python\n(.*?)```", README.read_text(), re.S)
    assert match is not None, "the README lost its framework example"
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "a.txt").write_text("hi\n")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(match.group(1), "README.md", "exec"), namespace)
    with TestClient(namespace["app"]) as client:
        assert client.get("/items/5").json() == {"id": 5, "url": "/items/5"}
        assert (client.get("/items/500").status, client.get("/items/500").json()) == (404, {"error": "no such item"})
        assert client.post("/items", json={"a": 1}).status == 201
        assert client.post("/items", body="{", headers={"Content-Type": "application/json"}).status == 400
        assert client.get("/static/a.txt").text == "hi\n"
        cors = client.get("/items/1", headers={"Origin": "https://app.example"})
        assert cors.headers["access-control-allow-origin"] == "https://app.example"
