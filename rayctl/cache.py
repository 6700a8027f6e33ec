"""rayctl's per-user cache folders (standard library only)."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache(name: str, override_env: str) -> Path:
    """$`override_env` when set, else $XDG_CACHE_HOME/rayctl/`name`, else ~/.cache/rayctl/`name` (an empty
    XDG_CACHE_HOME counts as unset, as the XDG spec says)."""
    explicit = os.environ.get(override_env)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "rayctl" / name
