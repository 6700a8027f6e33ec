"""Installing the KubeRay operator into the dev cluster: the Helm chart (default), or offline manifests.

Offline (`--operator-image`): the CRDs from a directory (`--crd-dir`, `$RAYCTL_CRD_DIR`), and the operator's own
RBAC and Deployment from its Go module source (`config/rbac`, `config/manager/manager.yaml` of
github.com/ray-project/kuberay/ray-operator at the pinned version), namespaced and pointed at the local image.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

from rayctl.errors import InputError

CHART = "kuberay-operator"
CHART_REPO = "https://ray-project.github.io/kuberay-helm/"
CHART_VERSION = "1.7.0"
NAMESPACE = "kuberay-system"
RELEASE = "kuberay-operator"
DEPLOYMENT = "kuberay-operator"
MODULE = "github.com/ray-project/kuberay/ray-operator"
MODULE_VERSION = "v1.6.2"  # the newest release whose source the Go proxy serves (hack/controlplane/README.md)
RBAC_FILES = (
    "service_account.yaml",
    "role.yaml",
    "role_binding.yaml",
    "leader_election_role.yaml",
    "leader_election_role_binding.yaml",
)
NAMESPACED_KINDS = frozenset({"ServiceAccount", "Role", "RoleBinding", "Deployment"})


def helm_command(
    helm: str, *, version: str = CHART_VERSION, kubeconfig: str | None, context: str | None, timeout: str = "5m"
) -> list[str]:
    cmd = [
        helm, "upgrade", "--install", RELEASE, CHART, "--repo", CHART_REPO, "--version", version,
        "--namespace", NAMESPACE, "--create-namespace", "--wait", "--timeout", timeout,
    ]  # fmt: skip
    if kubeconfig:
        cmd += ["--kubeconfig", kubeconfig]
    if context:
        cmd += ["--kube-context", context]
    return cmd


def _load_all(path: Path) -> list[dict[str, Any]]:
    import yaml

    try:
        return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read operator manifest: {exc}") from exc


def offline_manifests(source: Path, image: str, namespace: str = NAMESPACE) -> list[dict[str, Any]]:
    """Namespace, RBAC and Deployment of the operator from its module source dir, running `image`."""
    rbac, manager = source / "config" / "rbac", source / "config" / "manager" / "manager.yaml"
    missing = [str(p) for p in [*(rbac / f for f in RBAC_FILES), manager] if not p.is_file()]
    if missing:
        raise InputError(
            f"KubeRay operator source incomplete: missing {', '.join(missing)}",
            hint=f"pass --operator-source DIR (the {MODULE}@{MODULE_VERSION} module: "
            f"`go mod download -json {MODULE}@{MODULE_VERSION}` prints its Dir)",
        )
    docs: list[dict[str, Any]] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}]
    for f in RBAC_FILES:
        docs.extend(_load_all(rbac / f))
    deployments = [d for d in _load_all(manager) if d.get("kind") == "Deployment"]
    if len(deployments) != 1:
        raise InputError(f"{manager}: expected one Deployment, found {len(deployments)}")
    docs.append(_operator_deployment(deployments[0], image))
    out = []
    for doc in docs:
        d = copy.deepcopy(doc)
        meta = d.setdefault("metadata", {})
        if d.get("kind") in NAMESPACED_KINDS:
            meta["namespace"] = namespace
        for subject in d.get("subjects") or []:
            if subject.get("kind") == "ServiceAccount":
                subject["namespace"] = namespace
        meta.setdefault("labels", {}).update(
            {"app.kubernetes.io/name": "kuberay", "app.kubernetes.io/component": "kuberay-operator"}
        )
        out.append(d)
    return out


def _operator_deployment(deployment: dict[str, Any], image: str) -> dict[str, Any]:
    d = copy.deepcopy(deployment)
    d["metadata"]["name"] = DEPLOYMENT
    containers = d["spec"]["template"]["spec"]["containers"]
    c = next((c for c in containers if c.get("name") == "kuberay-operator"), containers[0])
    c["image"] = image
    c["imagePullPolicy"] = "IfNotPresent"  # a loaded, non-latest tag is never pulled
    # No CPU limit: on a laptop (or a busy CI machine) a 100m quota makes every reconcile crawl.
    limits = (c.get("resources") or {}).get("limits") or {}
    limits.pop("cpu", None)
    return d


STAMP = "rayctl.dev/content-sha256"


def stamp_of(docs: list[dict[str, Any]]) -> str:
    """A digest of manifests as applied (without their stamps): equal stamps = nothing to apply."""
    clean = []
    for d in docs:
        c = copy.deepcopy(d)
        meta = c.get("metadata") or {}
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(STAMP, None)
            if not annotations:
                del meta["annotations"]
        clean.append(c)
    return hashlib.sha256(json.dumps(clean, sort_keys=True).encode()).hexdigest()[:32]


def stamped(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of `docs`, each annotated with the stamp of the whole set (so one object answers "is it current?")."""
    stamp = stamp_of(docs)
    out = copy.deepcopy(docs)
    for d in out:
        d.setdefault("metadata", {}).setdefault("annotations", {})[STAMP] = stamp
    return out


def load_crds(files: list[Path]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for f in files:
        docs.extend(d for d in _load_all(f) if d.get("kind") == "CustomResourceDefinition")
    return docs


def crd_files(crd_dir: Path) -> list[Path]:
    files = sorted(p for p in crd_dir.glob("*.yaml") if p.is_file())
    if not any(p.name == "ray.io_rayservices.yaml" for p in files):
        raise InputError(
            f"{crd_dir}: no KubeRay CRDs (ray.io_rayservices.yaml) found",
            hint="pass --crd-dir (or set $RAYCTL_CRD_DIR) to a folder with KubeRay's CRD YAML files",
        )
    return files
