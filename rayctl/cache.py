"""rayctl's per-user cache folders (standard library only)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


class NoCacheFolder(OSError):
    """No folder for a user cache: no override, no $XDG_CACHE_HOME and no home folder (no $HOME, no passwd entry:
    an arbitrary container UID). An OSError, so that every cache's "cannot read or write it" path covers it."""


def user_cache(name: str, override_env: str) -> Path:
    """$`override_env` when set, else $XDG_CACHE_HOME/rayctl/`name`, else ~/.cache/rayctl/`name` (an empty
    XDG_CACHE_HOME counts as unset, as the XDG spec says). NoCacheFolder when there is no home folder either."""
    explicit = os.environ.get(override_env)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "rayctl" / name
    try:
        home = Path.home()
    except RuntimeError as exc:
        raise NoCacheFolder(f"no home folder for rayctl's {name} cache: set ${override_env} or $XDG_CACHE_HOME") \
            from exc
    return home / ".cache" / "rayctl" / name


def write_atomically(path: Path, data: bytes) -> None:
    """`data` into `path` (its folder made first) through a temporary file beside it and a rename: a concurrent
    reader sees the old file or the new one, never half of one, and a failed write leaves no temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False) as tmp:
        try:
            tmp.write(data)
            tmp.close()
            os.replace(tmp.name, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp.name)
            raise
