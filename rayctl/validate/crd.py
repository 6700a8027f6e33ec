"""Validate objects against a CRD's openAPIV3Schema, the way the API server would (plus strict unknown fields)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from rayctl.errors import InputError
from rayctl.validate.findings import Collector

CRD_FILES = {
    ("ray.io", "RayService"): "ray.io_rayservices.yaml",
    ("ray.io", "RayCluster"): "ray.io_rayclusters.yaml",
    ("ray.io", "RayJob"): "ray.io_rayjobs.yaml",
}


def to_json_schema(node: Any) -> Any:
    """Kubernetes structural schema -> JSON Schema. Unknown fields become errors (the API server would silently
    prune them, which hides typos), int-or-string becomes anyOf, k8s-only keywords are dropped."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-") or key in ("description", "format", "nullable", "default", "example"):
            continue
        out[key] = to_json_schema(value)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable"):
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
    if (
        out.get("type") == "object"
        and "properties" in out
        and "additionalProperties" not in out
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def crd_schema(crd: dict[str, Any], version: str) -> dict[str, Any] | None:
    for entry in crd.get("spec", {}).get("versions", []):
        if entry.get("name") == version:
            schema = entry.get("schema", {}).get("openAPIV3Schema")
            return schema if isinstance(schema, dict) else None
    return None


@lru_cache(maxsize=8)
def _load_crd_file(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except OSError as exc:
        raise InputError(f"cannot read CRD {path}: {exc.strerror}") from None
    if not isinstance(data, dict) or data.get("kind") != "CustomResourceDefinition":
        raise InputError(f"{path} is not a CustomResourceDefinition")
    return data


def load_crd(crd_dir: Path, group: str, kind: str) -> dict[str, Any] | None:
    name = CRD_FILES.get((group, kind))
    if name is None:
        return None
    path = crd_dir / name
    if not path.exists():
        raise InputError(f"{path}: no such CRD file", hint="point --crd-dir at a folder with KubeRay's CRD YAML files")
    return _load_crd_file(str(path))


@lru_cache(maxsize=16)
def _validator(schema_key: int, schema_json: str) -> Any:
    import json

    from jsonschema import Draft202012Validator

    return Draft202012Validator(to_json_schema(json.loads(schema_json)))


def _json_path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "<root>"


def check_against_schema(obj: dict[str, Any], schema: dict[str, Any], out: Collector) -> None:
    """Record one finding per schema violation, with the field path."""
    import json

    from rayctl.spec.suggest import did_you_mean

    text = json.dumps(schema, sort_keys=True)
    validator = _validator(hash(text), text)
    for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
        path = _json_path(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = list((error.schema.get("properties") or {}).keys())
            extra = [k for k in error.instance if k not in known]
            for key in extra:
                sub = f"{path}.{key}" if path != "<root>" else key
                out.error(sub, f"unknown field {key!r}{did_you_mean(key, known)} (the API server would drop it)")
            continue
        message = error.message
        if len(message) > 300:
            message = message[:300] + "..."
        out.error(path, f"{message} (CRD schema: {error.validator})")
