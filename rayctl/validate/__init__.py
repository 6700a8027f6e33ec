"""Validation before anything reaches a cluster: the KubeRay CRD schema, Ray's Serve schema, semantic rules."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from rayctl.validate.crd import check_against_schema, crd_schema, load_crd
from rayctl.validate.findings import Collector, Finding, ValidationReport
from rayctl.validate.rules import check_rayservice

__all__ = ["Finding", "ValidationReport", "default_crd_dir", "spec_path", "validate_objects"]


def default_crd_dir() -> Path | None:
    """`$RAYCTL_CRD_DIR` if set (a folder with KubeRay's CRD YAML files)."""
    value = os.environ.get("RAYCTL_CRD_DIR")
    return Path(value) if value else None


def _ray_schema_check(config: dict[str, Any], out: Collector) -> bool:
    """Validate with Ray's own ServeDeploySchema; False when ray is not installed."""
    try:
        from pydantic import ValidationError
        from ray.serve.schema import ServeDeploySchema
    except ImportError:
        return False
    try:
        ServeDeploySchema.model_validate(config)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"]).replace(".[", "[")
            out.error(f"spec.serveConfigV2.{loc}", f"Ray's Serve schema: {err['msg']}")
    return True


def _object_name(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind', '?')}/{(obj.get('metadata') or {}).get('name', '?')}"


def validate_objects(
    objects: list[dict[str, Any]],
    *,
    crd_dir: Path | None = None,
    crd_schemas: dict[str, dict[str, Any]] | None = None,
    ray_schema: bool = True,
    source: str = "",
) -> ValidationReport:
    """Validate Kubernetes objects. `crd_schemas` maps "Kind" -> openAPIV3Schema (e.g. read from a cluster);
    otherwise the CRD is read from `crd_dir`. Objects rayctl cannot check are listed in `skipped`."""
    report = ValidationReport()
    for index, obj in enumerate(objects):
        label = f"{source}#{index + 1}" if source and len(objects) > 1 else source
        out = Collector(label)
        api_version = str(obj.get("apiVersion", ""))
        kind = str(obj.get("kind", ""))
        group, _, version = api_version.rpartition("/")
        if group != "ray.io" or kind not in ("RayService", "RayCluster"):
            report.skipped.append(f"{_object_name(obj)} (rayctl only checks ray.io RayService/RayCluster)")
            continue
        schema = (crd_schemas or {}).get(kind)
        if schema is None and crd_dir is not None:
            crd = load_crd(crd_dir, group, kind)
            schema = crd_schema(crd, version) if crd else None
            if crd is not None and schema is None:
                out.error("apiVersion", f"the {kind} CRD does not serve version {version!r}")
        if schema is not None:
            check_against_schema(obj, schema, out)
        elif "CRD schema not checked" not in " ".join(report.notes):
            report.notes.append("CRD schema not checked: pass --crd-dir (KubeRay's CRD folder) or set RAYCTL_CRD_DIR")
        if kind == "RayService":
            config = _serve_config(obj, out)
            check_rayservice(obj, config, out)
            if isinstance(config, dict) and ray_schema and not _ray_schema_check(config, out):
                note = "Ray's Serve schema not checked: ray is not installed (pip install 'ray[serve]')"
                if note not in report.notes:
                    report.notes.append(note)
        report.checked.append(_object_name(obj))
        report.findings.extend(out.findings)
    return report


def _serve_config(rs: dict[str, Any], out: Collector) -> Any:
    raw = (rs.get("spec") or {}).get("serveConfigV2")
    if raw is None:
        out.warning("spec.serveConfigV2", "no serveConfigV2: the RayService runs no Serve applications")
        return None
    if not isinstance(raw, str):
        out.error("spec.serveConfigV2", "must be a string holding YAML (use `serveConfigV2: |`)")
        return None
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1} of the block)" if mark is not None else ""
        out.error("spec.serveConfigV2", f"not valid YAML{where}: {getattr(exc, 'problem', exc)}")
        return None


_SPEC_PATHS = [
    (re.compile(r"^spec\.rayClusterConfig\.workerGroupSpecs\[(\d+)\]"), r"workerGroups[\1]"),
    (re.compile(r"^spec\.rayClusterConfig\.headGroupSpec"), "head"),
    (re.compile(r"^spec\.serveConfigV2\.applications\[(\d+)\]"), r"serve.applications[\1]"),
    (re.compile(r"^metadata\.name$"), "name"),
    (re.compile(r"^spec\.rayClusterConfig\.rayVersion$"), "ray.version"),
]


def spec_path(manifest_path: str) -> str:
    """Point a rendered-manifest path back at the spec section it came from, keeping the manifest detail."""
    for pattern, replacement in _SPEC_PATHS:
        match = pattern.match(manifest_path)
        if match:
            head = match.expand(replacement)
            rest = manifest_path[match.end():]
            return head if not rest else f"{head} (rendered {manifest_path})"
    return manifest_path
