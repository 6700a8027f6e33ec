"""The pinned Prometheus / promtool and prometheus-operator CRDs (installed by hack/install-prometheus.sh, which
`make test-monitoring` runs first), and small helpers around them."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

INSTALL = ROOT / "hack" / "install-prometheus.sh"


@dataclass(frozen=True)
class PromTools:
    prometheus: Path
    promtool: Path
    operator_crds: Path
    kuberay_source: Path

    def missing(self) -> list[str]:
        return [str(p) for p in (self.prometheus, self.promtool, self.operator_crds) if not p.exists()]

    def promtool_run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.promtool), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def pinned_tools() -> PromTools:
    """Where the install script puts (or has put) each artefact."""
    out = subprocess.run([str(INSTALL), "--print-paths"], capture_output=True, text=True, check=True).stdout
    paths = {name: Path(path) for name, path in (line.split(" ", 1) for line in out.splitlines() if line)}
    return PromTools(paths["prometheus"], paths["promtool"], paths["prometheus-operator-crds"],
                     paths["kuberay-operator-source"])


def dashboard_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel of a Grafana dashboard, those inside collapsed rows included."""
    panels: list[dict[str, Any]] = list(dashboard["panels"])
    for row in [p for p in panels if p.get("type") == "row"]:
        panels.extend(row.get("panels", []))
    return panels
