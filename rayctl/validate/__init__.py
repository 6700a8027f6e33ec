"""Validation before anything reaches a cluster: the KubeRay CRD schema, Ray's Serve schema, semantic rules."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from rayctl.model import apply_schema_defaults, parse_rayservice
from rayctl.validate.crd import check_against_schema, crd_schema, load_crd
from rayctl.validate.findings import Collector, Finding, ValidationReport
from rayctl.validate.rules import check_rayservice

__all__ = ["Finding", "ValidationReport", "default_crd_dir", "spec_path", "validate_objects"]


def default_crd_dir() -> Path | None:
    """`$RAYCTL_CRD_DIR` if set (a folder with KubeRay's CRD YAML files)."""
    value = os.environ.get("RAYCTL_CRD_DIR")
    return Path(value) if value else None


def _minor(version: str) -> tuple[int, int] | None:
    match = re.match(r"^v?(\d+)\.(\d+)", version.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def _installed_ray() -> str | None:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover
        return None
    try:
        return version("ray")
    except PackageNotFoundError:
        return None


_RAY_SCHEMA_FINDINGS: dict[str, list[tuple[str, str]]] = {}
"""Ray's schema findings per serveConfigV2 text: the objects of a file (300 copies of one RayService) often share
their Serve config, and Ray's validation is the slowest check."""


_CACHED_CONFIGS = 256
"""At most this many Serve configs' findings are kept (a file repeats a few configs, not thousands)."""

_KEYED_NODES = 50_000
"""Configs larger than this (counted with shared aliases expanded) are not cached: their key would cost more than
the check, and an alias bomb's key would never finish."""


def _config_key(config: dict[str, Any]) -> str | None:
    todo: list[Any] = [config]
    seen = 0
    while todo:
        node = todo.pop()
        seen += 1
        if seen > _KEYED_NODES:
            return None
        if isinstance(node, dict):
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    try:
        return json.dumps(config, sort_keys=True, default=repr)
    except (TypeError, ValueError, RecursionError):
        return None


def _ray_schema_check(config: dict[str, Any], out: Collector) -> bool:
    """Validate with Ray's own ServeDeploySchema; False when ray is not installed."""
    key = _config_key(config)
    if key is not None and key in _RAY_SCHEMA_FINDINGS:
        for path, message in _RAY_SCHEMA_FINDINGS[key]:
            out.error(path, message)
        return True
    found = Collector(out.source)
    if not _ray_schema_findings(config, found):
        return False
    if key is not None:
        if len(_RAY_SCHEMA_FINDINGS) >= _CACHED_CONFIGS:  # a long-lived caller (a test run, a server) stays bounded
            _RAY_SCHEMA_FINDINGS.clear()
        _RAY_SCHEMA_FINDINGS[key] = [(f.path, f.message) for f in found.findings]
    out.findings.extend(found.findings)
    return True


def _ray_schema_findings(config: dict[str, Any], out: Collector) -> bool:
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
    except (AttributeError, TypeError, KeyError, IndexError) as exc:
        # Ray's own validators assume some shapes (a deployment that is a string crashes one with AttributeError):
        # such input is malformed, and the rules name the field; never a crash of rayctl.
        out.error("spec.serveConfigV2", f"Ray's Serve schema cannot read it ({type(exc).__name__}): fix the "
                                        "malformed applications/deployments named in the other errors")
    return True


def _object_name(obj: object) -> str:
    if not isinstance(obj, dict):
        return f"(a {type(obj).__name__}, not an object)"
    if "kind" not in obj and "apiVersion" not in obj:
        return "(an object without apiVersion and kind)"
    meta = obj.get("metadata")
    name = meta.get("name", "?") if isinstance(meta, dict) else "?"
    return f"{obj.get('kind', '?')}/{name}"


def _not_reported(findings: list[Finding], reported: list[Finding]) -> list[Finding]:
    """`findings` less those the CRD check already reported: at the same path, or under a field whose whole value
    has the wrong type. One message per wrong field."""
    paths = {f.path for f in reported}
    wrong_type = {f.path for f in reported if f.message.endswith("(CRD schema: type)")}

    def covered(path: str) -> bool:
        return path in paths or any(path.startswith((p + ".", p + "[")) for p in wrong_type)

    return [f for f in findings if not covered(f.path)]


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
        if not isinstance(obj, dict):
            report.skipped.append(f"{_object_name(obj)} (rayctl only checks ray.io RayService/RayCluster)")
            continue
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
            obj = apply_schema_defaults(obj, schema)  # what the API server stores: nulls pruned, defaults filled
            check_against_schema(obj, schema, out)
        elif "CRD schema not checked" not in " ".join(report.notes):
            report.notes.append("CRD schema not checked: pass --crd-dir (KubeRay's CRD folder) or set RAYCTL_CRD_DIR")
        if kind == "RayService":
            model, model_findings = parse_rayservice(obj, source=label)
            out.findings.extend(_not_reported(model_findings, out.findings))
            rules = Collector(label)
            check_rayservice(model, rules)
            # a field already reported as unreadable reads as its default: what a rule says about it is moot
            unreadable = {f.path for f in out.findings if f.severity == "error"}
            out.findings.extend(f for f in rules.findings if f.path not in unreadable)
            config = model.spec.serve_config.value
            installed = _installed_ray() if isinstance(config, dict) and ray_schema else None
            pinned = _minor(model.cluster.ray_version)
            note = None
            if isinstance(config, dict) and ray_schema:
                if installed and pinned and _minor(installed) != pinned:
                    # Ray's schema changes between releases (fields come and go): judge an older or newer
                    # config only by the version-aware rules, never by the installed Ray's schema
                    note = (f"Ray's Serve schema not checked for {_object_name(obj)}: it pins rayVersion "
                            f"{model.cluster.ray_version} and the installed ray is {installed}")
                elif not _ray_schema_check(config, out):
                    note = "Ray's Serve schema not checked: ray is not installed (pip install 'ray[serve]')"
            if note and note not in report.notes:
                report.notes.append(note)
        report.checked.append(_object_name(obj))
        report.findings.extend(out.findings)
    return report


_SPEC_PATHS = [
    (re.compile(r"^spec\.rayClusterConfig\.workerGroupSpecs\[(\d+)\]"), r"workerGroups[\1]"),
    (re.compile(r"^spec\.rayClusterConfig\.headGroupSpec"), "head"),
    (re.compile(r"^spec\.serveConfigV2\.applications\[(\d+)\]"), r"serve.applications[\1]"),
    (re.compile(r"^metadata\.name$"), "name"),
    (re.compile(r"^metadata\.labels"), "labels"),
    (re.compile(r"^spec\.serveConfigV2\.http_options\.port$"), "serve.httpPort"),
    (re.compile(r"^spec\.serveConfigV2\.applications$"), "serve.applications"),
    (re.compile(r"^spec\.upgradeStrategy"), "upgradeStrategy"),
    (re.compile(r"^spec\.rayClusterConfig\.gcsFaultToleranceOptions"), "gcsFaultTolerance"),
    (re.compile(r"^spec\.rayClusterConfig\.(enableInTreeAutoscaling|autoscalerOptions)"), "autoscaling"),
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
