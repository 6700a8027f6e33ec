"""`rayctl run`'s workflow: the spec's serveConfigV2 and Serve env exactly as `rayctl render` embeds them, for the
local Ray adapter (rayctl.localrun)."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rayctl.apps.base import Profile
from rayctl.errors import DependencyError, RayctlError
from rayctl.localrun import LocalTarget
from rayctl.spec.profile import TINY_MODEL_PATH
from rayctl.workflow.files import render_file

DEFAULT_EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "pipeline.yaml"
"""What `rayctl run` runs without a SPEC: the text pipeline (CPU fallbacks, no model download)."""


def target_from_spec(spec_path: str | Path | None, *, profile: Profile, overrides: Sequence[str] = ()) -> LocalTarget:
    """The spec's serveConfigV2, exactly as `rayctl render` embeds it, and its `RAY_SERVE_*` container env
    (e.g. serve.highThroughput's switches). The embedded default example when spec_path is None."""
    path = Path(spec_path) if spec_path is not None else DEFAULT_EXAMPLE
    if spec_path is None and not path.exists():
        raise RayctlError(f"the embedded default example {path} is missing from this rayctl installation")
    # The same render + semantic rules as `rayctl render`: an invalid spec never reaches the local Ray either.
    result = render_file(path, overrides=overrides, profile=profile)
    assert result.spec is not None
    config = copy.deepcopy(dict(result.require_rendered().serve_config))
    return LocalTarget(with_local_tiny_model(config), result.spec.serve_env())


def with_local_tiny_model(serve_config: dict[str, Any]) -> dict[str, Any]:
    """The CPU profile points LLM apps without a `cpuModel` at the tiny model of rayctl's CPU image; on this machine
    that path is absent, so build the same model once into the user cache and point there instead."""
    text = json.dumps(serve_config)
    if TINY_MODEL_PATH not in text or Path(TINY_MODEL_PATH).exists():
        return serve_config
    try:
        from rayctl.tiny_model import ensure_tiny_model
    except ImportError as exc:  # pragma: no cover - the module itself has no heavy imports
        raise DependencyError(f"cannot build the tiny CPU-profile model: {exc}") from exc
    try:
        local = ensure_tiny_model()
    except ImportError as exc:
        raise DependencyError(f"the CPU profile's tiny model needs torch, transformers and tokenizers ({exc})",
                              hint="hack/install-serve-deps.sh, or name a local model in the app's cpuModel") from exc
    except OSError as exc:  # an unwritable cache, or none at all (rayctl.cache.NoCacheFolder: no home folder)
        raise RayctlError(f"cannot build the CPU profile's tiny model: {exc}",
                          hint="set $RAYCTL_TINY_MODEL_CACHE to a writable folder, or name a local model in the "
                               "app's cpuModel") from exc
    updated: dict[str, Any] = json.loads(text.replace(json.dumps(TINY_MODEL_PATH)[1:-1], str(local)))
    return updated
