"""The typed deployment spec: the single source of truth for the CLI, the renderer, the Helm schema and docs.

The names below load lazily: the application types (`rayctl.apps`) build on `rayctl.spec.base`, and the root model
builds on them, so importing this package must not import the root model eagerly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rayctl.spec.base import RAY_VERSION
    from rayctl.spec.errors import SpecError, SpecIssue
    from rayctl.spec.loader import load_spec, load_spec_text, spec_from_doc
    from rayctl.spec.model import DeploymentSpec

_EXPORTS = {
    "RAY_VERSION": "rayctl.spec.base",
    "SpecError": "rayctl.spec.errors",
    "SpecIssue": "rayctl.spec.errors",
    "load_spec": "rayctl.spec.loader",
    "load_spec_text": "rayctl.spec.loader",
    "spec_from_doc": "rayctl.spec.loader",
    "DeploymentSpec": "rayctl.spec.model",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = ["RAY_VERSION", "DeploymentSpec", "SpecError", "SpecIssue", "load_spec", "load_spec_text", "spec_from_doc"]
