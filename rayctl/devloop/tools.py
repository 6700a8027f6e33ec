"""The external tools `rayctl dev` drives, found on PATH (or `$RAYCTL_<TOOL>`), with an actionable message each."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from rayctl.errors import DependencyError


@dataclass(frozen=True)
class Tool:
    name: str
    purpose: str
    install: str

    @property
    def env_var(self) -> str:
        return f"RAYCTL_{self.name.upper()}"


TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool("docker", "runs the kind nodes", "install Docker (Debian: apt-get install docker.io) and start it"),
        Tool("kind", "creates the local cluster", "go install sigs.k8s.io/kind@v0.33.0 (or hack/kind/binaries.sh)"),
        Tool("kubectl", "talks to the cluster", "https://kubernetes.io/docs/tasks/tools/ (or hack/kind/binaries.sh)"),
        Tool(
            "helm",
            "installs the KubeRay operator chart",
            "see https://helm.sh/docs/intro/install/, or pass --operator-image to install the operator from manifests",
        ),
    )
}


def find_tools(
    names: Iterable[str],
    *,
    which: Callable[[str], str | None] = shutil.which,
    env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """name -> executable path for each of `names`; DependencyError (exit 8) listing every missing tool."""
    env = os.environ if env is None else env
    found: dict[str, str] = {}
    missing: list[str] = []
    for name in names:
        tool = TOOLS[name]
        override = env.get(tool.env_var)
        path = which(override) if override else which(name)
        if path:
            found[name] = path
        elif override:
            missing.append(f"{name} ({tool.purpose}): ${tool.env_var}={override} is not an executable; {tool.install}")
        else:
            missing.append(f"{name} ({tool.purpose}) not found on PATH: {tool.install}")
    if missing:
        raise DependencyError(
            "rayctl dev needs tools that are missing:\n  " + "\n  ".join(missing),
            hint="install them (or point $RAYCTL_<TOOL> at the binary) and rerun; rayctl dev up is re-runnable",
        )
    return found
