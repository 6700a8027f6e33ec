"""Compiled templates are cached in the user cache (rayctl.render.render._TemplateCache): a second run loads them
instead of compiling, and a cache that is corrupt, foreign or unwritable never changes what is rendered."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest

from rayctl.workflow import render_file
from tests.conftest import EXAMPLES, RENDERED

render_module = importlib.import_module("rayctl.render.render")  # the package's `render` is the function
SPEC = EXAMPLES / "llama-8b.yaml"  # every template: the RayService, its companions and the dashboards


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[str]]:
    """The names of the templates Jinja compiles from source, in a fresh environment per render."""
    names: list[str] = []
    original = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: str, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        names.append(str(name))
        return original(self, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    monkeypatch.setenv("RAYCTL_TEMPLATE_CACHE", str(tmp_path / "templates"))
    render_module._environment.cache_clear()
    yield names
    render_module._environment.cache_clear()


def _render_fresh() -> str:
    render_module._environment.cache_clear()  # a new process: a new Jinja environment, the cache on disk only
    rendered = render_file(SPEC).rendered
    assert rendered is not None
    return rendered.text


def test_a_second_run_loads_what_the_first_compiled(compiles: list[str], tmp_path: Path) -> None:
    golden = (RENDERED / SPEC.name).read_text()
    assert _render_fresh() == golden
    first = sorted(compiles)
    cached = sorted(p.name for p in (tmp_path / "templates").iterdir())
    assert first and len(cached) == len(set(first)), (first, cached)
    compiles.clear()
    assert _render_fresh() == golden
    assert compiles == [], f"compiled again although cached: {compiles}"


@pytest.mark.parametrize("garbage", [b"", b"j2", b"\x00" * 64, b"not a jinja cache file at all"],
                         ids=["empty", "magic-only", "zeros", "text"])
def test_a_corrupt_cache_file_is_compiled_again(compiles: list[str], tmp_path: Path, garbage: bytes) -> None:
    golden = (RENDERED / SPEC.name).read_text()
    _render_fresh()
    for path in (tmp_path / "templates").iterdir():
        path.write_bytes(garbage)
    compiles.clear()
    assert _render_fresh() == golden
    assert compiles, "nothing compiled: the corrupt files were used"
    compiles.clear()
    assert _render_fresh() == golden and compiles == [], "the compiled templates were not written back"


def test_an_unusable_cache_folder_only_costs_the_compile(compiles: list[str], monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("RAYCTL_TEMPLATE_CACHE", str(blocker / "templates"))  # mkdir fails: NotADirectoryError
    golden = (RENDERED / SPEC.name).read_text()
    assert _render_fresh() == golden and compiles
    read_only = tmp_path / "read-only"
    read_only.mkdir(mode=0o500)
    monkeypatch.setenv("RAYCTL_TEMPLATE_CACHE", str(read_only))
    compiles.clear()
    assert _render_fresh() == golden and compiles
    # root writes anyway: the test then shows only that rendering is unchanged
    assert list(read_only.iterdir()) == [] or os.geteuid() == 0, "wrote into a read-only folder"


def test_no_home_folder_renders_without_a_cache(compiles: list[str], monkeypatch: pytest.MonkeyPatch,
                                                no_home_folder: None) -> None:
    monkeypatch.delenv("RAYCTL_TEMPLATE_CACHE")
    assert _render_fresh() == (RENDERED / SPEC.name).read_text() and compiles
