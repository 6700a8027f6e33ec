"""Pure helpers over server-side apply's managedFields (fieldsV1 sets): who owns what, and projecting an
object onto
the fields one manager owns (so `rayctl diff` shows only what rayctl manages)."""

from __future__ import annotations

import copy
import json
from typing import Any

Obj = dict[str, Any]
FieldSet = dict[str, Any]


def manager_fields(obj: Obj | None, manager: str, operation: str | None = "Apply") -> FieldSet:
    """The union of fieldsV1 sets `manager` owns on `obj` (for every apiVersion/subresource-less entry)."""
    out: FieldSet = {}
    for entry in ((obj or {}).get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") != manager or entry.get("subresource"):
            continue
        if operation is not None and entry.get("operation") != operation:
            continue
        out = merge_fieldsets(out, entry.get("fieldsV1") or {})
    return out


def merge_fieldsets(a: FieldSet, b: FieldSet) -> FieldSet:
    out = copy.deepcopy(a)
    for k, v in b.items():
        if k in out and isinstance(out[k], dict) and isinstance(v, dict):
            out[k] = merge_fieldsets(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _item_matches(item: Any, key: str) -> bool:
    if key.startswith("k:"):
        try:
            want = json.loads(key[2:])
        except ValueError:
            return False
        return isinstance(item, dict) and all(item.get(k) == v for k, v in want.items())
    if key.startswith("v:"):
        try:
            return bool(item == json.loads(key[2:]))
        except ValueError:
            return False
    return False


def project(value: Any, fields: FieldSet) -> Any:
    """Keep only the parts of `value` covered by the fieldsV1 set `fields`."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in fields.items():
            if not key.startswith("f:"):
                continue
            name = key[2:]
            if name not in value:
                continue
            if isinstance(sub, dict) and any(k != "." for k in sub):
                out[name] = project(value[name], sub)
            else:
                out[name] = copy.deepcopy(value[name])
        return out
    if isinstance(value, list):
        items: list[Any] = []
        for item in value:
            for key, sub in fields.items():
                if _item_matches(item, key):
                    if isinstance(sub, dict) and any(k != "." for k in sub):
                        items.append(project(item, sub))
                    else:
                        items.append(copy.deepcopy(item))
                    break
        return items
    return copy.deepcopy(value)


def owners(obj: Obj | None) -> list[tuple[str, str, str]]:
    """(manager, operation, top-level fields) for each managedFields entry, e.g. for `rayctl status -o
    yaml`."""
    out = []
    for entry in ((obj or {}).get("metadata") or {}).get("managedFields") or []:
        top = sorted(k[2:] for k in (entry.get("fieldsV1") or {}) if k.startswith("f:"))
        out.append((str(entry.get("manager", "?")), str(entry.get("operation", "?")), ",".join(top)))
    return out


def strip_server_fields(obj: Obj | None) -> Obj | None:
    """The object without status and server bookkeeping metadata (managedFields, resourceVersion, uid,
    ...)."""
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for key in (
        "managedFields",
        "resourceVersion",
        "generation",
        "uid",
        "creationTimestamp",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "ownerReferences",
        "finalizers",
    ):
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    if "annotations" in meta and not annotations:
        meta.pop("annotations")
    return out
