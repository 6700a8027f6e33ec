"""The typed deployment spec: the single source of truth for the CLI, the renderer, the Helm schema and docs."""

from rayctl.spec.base import RAY_VERSION
from rayctl.spec.errors import SpecError, SpecIssue
from rayctl.spec.loader import load_spec, load_spec_text, spec_from_doc
from rayctl.spec.model import DeploymentSpec

__all__ = ["RAY_VERSION", "DeploymentSpec", "SpecError", "SpecIssue", "load_spec", "load_spec_text", "spec_from_doc"]
