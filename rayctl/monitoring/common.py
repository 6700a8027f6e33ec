"""Small helpers shared by the monitoring builders: object metadata and YAML text for ConfigMap payloads."""

from __future__ import annotations

from typing import Any


def metadata(
    object_name: str, namespace: str | None, labels: dict[str, str], annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    """`metadata` of a namespaced object: name, the namespace when given (else kubectl's context decides, as for
    the RayService), sorted labels and annotations when there are any."""
    meta: dict[str, Any] = {"name": object_name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(sorted(labels.items()))
    if annotations:
        meta["annotations"] = dict(sorted(annotations.items()))
    return meta


def dump_yaml(data: Any) -> str:
    """Block-style YAML in insertion order (for files carried inside ConfigMaps)."""
    import yaml

    return str(yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=1 << 16, allow_unicode=True))
