"""Every generated file (goldens, docs, chart data, dashboards) equals what `make goldens` writes."""

from __future__ import annotations

from hack.generated import ROOT, generated, ray_installed, stale_files
from tests.conftest import IMPORTS_RAY, skip_or_fail


def test_every_generated_file_is_current() -> None:
    stale, orphans = stale_files()
    assert not stale, f"stale: {[str(p.relative_to(ROOT)) for p in stale]}: run `make goldens`"
    assert not orphans, f"nothing generates {[str(p.relative_to(ROOT)) for p in orphans]}: run `make goldens`"


def test_generation_is_deterministic() -> None:
    for path, build in generated().items():
        assert build() == build(), path


@IMPORTS_RAY
def test_rays_dashboards_are_checked_too() -> None:
    """Ray's Serve dashboards are generated from the ray wheel: without it they cannot be checked here (CI has it)."""
    if not ray_installed():
        skip_or_fail("ray is not installed: Ray's dashboards (rayctl/monitoring/dashboards) are not checked")
    assert any(p.name == "serve-llm.json" for p in generated())
