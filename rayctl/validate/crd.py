"""Validate objects against a CRD's openAPIV3Schema, the way the API server would (plus strict unknown fields)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from rayctl.cache import user_cache, write_atomically
from rayctl.errors import InputError
from rayctl.spec.yamlsrc import parse_documents, read_text
from rayctl.validate.findings import Collector

CRD_FILES = {
    ("ray.io", "RayService"): "ray.io_rayservices.yaml",
    ("ray.io", "RayCluster"): "ray.io_rayclusters.yaml",
    ("ray.io", "RayJob"): "ray.io_rayjobs.yaml",
}


_INT_FORMATS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


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
    bounds = _INT_FORMATS.get(str(node.get("format"))) if node.get("type") == "integer" else None
    if bounds is not None:  # the API server decodes into a Go int32/int64: out of range is rejected
        out["minimum"] = max(bounds[0], out.get("minimum", bounds[0]))
        out["maximum"] = min(bounds[1], out.get("maximum", bounds[1]))
        out["format"] = node["format"]
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
    spec = crd.get("spec")
    versions = spec.get("versions") if isinstance(spec, dict) else None
    for entry in versions if isinstance(versions, list) else []:
        if isinstance(entry, dict) and entry.get("name") == version:
            schema = entry.get("schema")
            schema = schema.get("openAPIV3Schema") if isinstance(schema, dict) else None
            return schema if isinstance(schema, dict) else None
    return None


PARSED_FORMAT = 1
"""Bumped when what is cached for a CRD file changes."""


def parsed_crd_cache() -> Path:
    """Parsed CRD files, as JSON keyed by the file's SHA-256: $RAYCTL_PARSED_CRD_CACHE, else
    $XDG_CACHE_HOME/rayctl/parsed-crds, else ~/.cache/rayctl/parsed-crds. Reading KubeRay's 1 MB CRD with the
    bounded, position-keeping parser takes seconds; its JSON, milliseconds."""
    return user_cache("parsed-crds", "RAYCTL_PARSED_CRD_CACHE")


def _cached(key: str) -> dict[str, Any] | None:
    try:
        data = json.loads((parsed_crd_cache() / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) and data.get("kind") == "CustomResourceDefinition" else None


def _remember(key: str, text: str) -> None:
    with contextlib.suppress(OSError):  # a cache: a read-only home only makes the next run slow
        write_atomically(parsed_crd_cache() / f"{key}.json", text.encode("utf-8"))


@lru_cache(maxsize=8)
def _load_crd_file(path: str) -> dict[str, Any]:
    # read like any user file: bounded (size, depth, aliases), UTF-8, one document, errors with file:line; a file
    # read before (the same bytes) comes from the parsed cache
    text, name = read_text(path)
    key = f"{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()}-{PARSED_FORMAT}"
    cached = _cached(key)
    if cached is not None:
        return cached
    docs = parse_documents(text, f"CRD {name}")
    if len(docs) != 1 or not isinstance(docs[0].data, dict) or docs[0].data.get("kind") != "CustomResourceDefinition":
        raise InputError(f"{path} is not a CustomResourceDefinition (one YAML document of kind "
                         "CustomResourceDefinition)", hint="point --crd-dir at KubeRay's CRD folder "
                         "(`rayctl crds pull` fetches it)")
    text = json.dumps(docs[0].data)
    _remember(key, text)
    data: dict[str, Any] = json.loads(text)  # plain JSON types, as the cache returns them
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
    from jsonschema import Draft202012Validator

    return Draft202012Validator(to_json_schema(json.loads(schema_json)))


def _json_path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "<root>"


_SCHEMA_TEXT: dict[int, tuple[dict[str, Any], str]] = {}
"""The cache key of each schema object seen (the object kept, so its id stays its own): a file of 300 RayServices
serialised the 1 MB CRD schema 300 times."""


def check_against_schema(obj: dict[str, Any], schema: dict[str, Any], out: Collector) -> None:
    """Record one finding per schema violation, with the field path."""
    from jsonschema.exceptions import SchemaError, UnknownType

    from rayctl.spec.suggest import did_you_mean

    cached = _SCHEMA_TEXT.get(id(schema))
    if cached is None or cached[0] is not schema:
        if len(_SCHEMA_TEXT) >= 64:  # a handful of CRD versions per process; bounded for long-lived callers
            _SCHEMA_TEXT.clear()
        cached = _SCHEMA_TEXT[id(schema)] = (schema, json.dumps(schema, sort_keys=True))
    text = cached[1]
    try:
        validator = _validator(hash(text), text)
        errors = sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
    except (SchemaError, UnknownType, re.error, TypeError, ValueError, AttributeError, KeyError, RecursionError) as exc:
        raise InputError(f"the CRD's openAPIV3Schema cannot be used to validate ({type(exc).__name__}: "
                         f"{str(exc)[:200]})", hint="point --crd-dir at KubeRay's own CRD files") from exc
    for error in errors:
        path = _json_path(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = list((error.schema.get("properties") or {}).keys())
            extra = [k for k in error.instance if k not in known]
            for key in extra:
                sub = f"{path}.{key}" if path != "<root>" else key
                out.error(sub, f"unknown field {key!r}{did_you_mean(key, known)} (the API server would drop it)")
            continue
        message = error.message
        if error.validator in ("minimum", "maximum") and error.schema.get("format") in _INT_FORMATS:
            low, high = _INT_FORMATS[error.schema["format"]]
            message = f"{error.instance} is out of range for an {error.schema['format']} field ({low}..{high})"
        if len(message) > 300:
            message = message[:300] + "..."
        out.error(path, f"{message} (CRD schema: {error.validator})")
