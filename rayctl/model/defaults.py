"""The API server's treatment of an object before anyone reads it: null pruning and the CRD's `default:` values.

Two ways in:

* `apply_schema_defaults(obj, schema)`: with a CRD's openAPIV3Schema at hand (validate has one), do what the API
  server does for a custom resource: drop `null` values of fields that are not `nullable`, then fill every absent
  field that has a `default`, recursively (structural-schema defaulting). Pure; returns a new tree.
* Without a schema, the read-model applies `WORKER_GROUP_DEFAULTS` itself and reads `null` as absent. These are the
  KubeRay v1.7.0 CRD's defaults for `workerGroupSpecs[]` (tests/unit/test_model.py checks them against the CRD
  file, so they cannot drift silently).
"""

from __future__ import annotations

from typing import Any

from rayctl.helm_json import copy_tree

WORKER_GROUP_DEFAULTS: dict[str, int] = {
    "replicas": 0,
    "minReplicas": 0,
    "maxReplicas": 2147483647,
    "numOfHosts": 1,
    "priority": 0,
}

_MAX_DEPTH = 200  # deeper than any real object; beyond it the tree is left as it is (no recursion error)


def apply_schema_defaults(obj: Any, schema: dict[str, Any]) -> Any:
    """`obj` as the API server would store it: nulls pruned and schema defaults filled (a new tree)."""
    return _walk(obj, schema, 0)


def _walk(value: Any, schema: Any, depth: int) -> Any:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        out: dict[Any, Any] = {}
        for key, item in value.items():
            sub = properties.get(key) if isinstance(properties, dict) and isinstance(key, str) else None
            if sub is None and isinstance(extra, dict):
                sub = extra
            if item is None and isinstance(sub, dict) and not sub.get("nullable"):
                continue  # pruned: the API server drops nulls of known, non-nullable fields
            out[key] = _walk(item, sub, depth + 1)
        if isinstance(properties, dict):
            for key, sub in properties.items():
                if key not in out and isinstance(sub, dict) and "default" in sub:
                    out[key] = _walk(copy_tree(sub["default"]), sub, depth + 1)
        return out
    if isinstance(value, list):
        items = schema.get("items")
        return [_walk(item, items, depth + 1) for item in value]
    return value

