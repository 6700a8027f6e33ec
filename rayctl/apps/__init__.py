"""The application-type registry: one module per type in this package (`rayctl/apps/<type>.py`, each exporting
`APP_TYPE`), plus the modules named in `$RAYCTL_APP_MODULES` (comma-separated, for app types kept outside rayctl).

Everything that depends on an application type reads it from here: the spec's `serve.applications[]` union, the
renderer, the validator, `rayctl run`, `rayctl init`, the docs and the A/B router in `serve_apps`.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import typing
from functools import lru_cache
from typing import Any

from pydantic import Field

from rayctl.apps.base import AppBase

APP_MODULES_ENV = "RAYCTL_APP_MODULES"
_NOT_TYPES = frozenset({"base", "contract"})


def _module_names() -> list[str]:
    builtin = [f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__)
               if not m.name.startswith("_") and m.name not in _NOT_TYPES]
    extra = [m.strip() for m in os.environ.get(APP_MODULES_ENV, "").split(",") if m.strip()]
    return builtin + extra


@lru_cache(maxsize=1)
def app_types() -> dict[str, type[AppBase]]:
    """Type name -> spec model class, bundled types first in their documented order."""
    found: dict[str, type[AppBase]] = {}
    for name in _module_names():
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ImportError(f"application type module {name!r} cannot be imported ({exc}); check "
                              f"${APP_MODULES_ENV}") from exc
        cls = getattr(module, "APP_TYPE", None)
        if not (isinstance(cls, type) and issubclass(cls, AppBase) and cls.TYPE):
            raise TypeError(f"application type module {name!r} must define APP_TYPE, an AppBase subclass with TYPE")
        if cls.TYPE in found and found[cls.TYPE] is not cls:
            raise TypeError(f"application type {cls.TYPE!r} is defined twice ({found[cls.TYPE].__module__}, {name})")
        found[cls.TYPE] = cls
    return dict(sorted(found.items(), key=lambda kv: (kv[1].ORDER, kv[0])))


def by_import_path(import_path: str) -> type[AppBase] | None:
    """The bundled type whose builder lives at `import_path` (hand-written serveConfigV2 entries)."""
    for cls in app_types().values():
        if cls.IMPORT_PATH and import_path == cls.IMPORT_PATH:
            return cls
    return None


def ab_variant_types() -> dict[str, str]:
    """Types the A/B router can run as a variant: type name -> import path."""
    return {name: cls.IMPORT_PATH for name, cls in app_types().items() if cls.AB_VARIANT}


def app_union() -> Any:
    """The discriminated union of every registered type (the type of `serve.applications[]`)."""
    members = tuple(app_types().values())
    return typing.Annotated[typing.Union[members], Field(discriminator="type")]  # noqa: UP007


__all__ = ["AppBase", "ab_variant_types", "app_types", "app_union", "by_import_path"]
