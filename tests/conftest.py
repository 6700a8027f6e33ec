"""Shared test helpers: repo paths, the upstream KubeRay CRDs, and the CI rule that nothing may skip."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "manifests" / "examples"
RENDERED = ROOT / "manifests" / "rendered"
IN_CI = os.environ.get("CI", "").lower() == "true"
# `rayctl crds pull` fills a user cache that `validate` reads; tests must see only the CRDs they pass in.
# Compiled templates too: a run must never read another rayctl's (or another checkout's) cache in ~/.cache. Both
# folders are this process's (one per xdist worker) and removed when its session ends.
TEST_CACHES = {var: os.path.join(os.environ.get("TMPDIR", "/tmp"), f"rayctl-test-{name}-{os.getpid()}")
               for var, name in (("RAYCTL_CRD_CACHE", "crds"), ("RAYCTL_TEMPLATE_CACHE", "templates"))}
os.environ.update(TEST_CACHES)

# Property tests draw all their examples in CI and a quarter of them (at least 10) in a developer's run, so that the
# unit suite stays a few seconds' loop; RAYCTL_PROPERTY_SCALE overrides either (e.g. 4 for a long local hunt).
PROPERTY_SCALE = float(os.environ.get("RAYCTL_PROPERTY_SCALE", "1" if IN_CI else "0.25"))


def examples(count: int) -> int:
    """How many examples a property test with `count` examples in CI draws in this run."""
    return max(10, round(count * PROPERTY_SCALE))

IMPORTS_RAY = pytest.mark.xdist_group("ray")
"""For a unit test that imports Ray: under pytest-xdist (`make test-unit`, `--dist loadgroup`) they all run on one
worker, so Ray's ~2 s import is paid once, not by every worker."""


@pytest.fixture()
def no_home_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """An arbitrary container UID: no $HOME and no passwd entry (Path.home() raises RuntimeError), no
    $XDG_CACHE_HOME. A test unsets the cache's own override variable itself."""

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(no_home))


def skip_or_fail(reason: str) -> None:
    """Skip locally; in CI (CI=true) a missing prerequisite is a failure, never a silent skip."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: prerequisites must be installed by .ci/run)")
    pytest.skip(reason)


def kuberay_crd_dir() -> Path:
    """The upstream KubeRay v1.7.0 CRDs, read from ../shared (never copied into the repo)."""
    return Path(os.environ.get("RAYCTL_KUBERAY_CRDS", ROOT.parent / "shared" / "kuberay" / "crds"))


@pytest.fixture(scope="session")
def crd_dir() -> Path:
    path = kuberay_crd_dir()
    if not (path / "ray.io_rayservices.yaml").exists():
        skip_or_fail(f"KubeRay CRDs not found in {path} (set RAYCTL_KUBERAY_CRDS)")
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests under tests/serve, tests/e2e and tests/kind carry their markers from their folders (-m selects suites).
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "serve" in parts:
            item.add_marker(pytest.mark.serve)
        if "e2e" in parts:
            item.add_marker(pytest.mark.e2e)
        if "kind" in parts:
            item.add_marker(pytest.mark.kind)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if IN_CI and skipped:
        terminalreporter.write_line(f"CI=true: {len(skipped)} test(s) skipped; skips count as failures in CI",
                                    red=True)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for folder in TEST_CACHES.values():
        shutil.rmtree(folder, ignore_errors=True)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if IN_CI and skipped and exitstatus == 0:
        session.exitstatus = 1
