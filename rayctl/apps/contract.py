"""The args contract of a bundled Serve app: which `args` its `app_builder` accepts, their types and defaults.

One contract per application type, declared in its registry module (`rayctl/apps/<type>.py`) and read by both sides:
rayctl's renderer and validator (which keys exist) and the app itself in `serve_apps/` (`CONTRACT.parse(args)` at
build time), so there is no second hand-kept list of keys or defaults.

Standard library only: this module is imported inside Ray replicas.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

DEVICES: Final = ("gpu", "cpu")


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()
"""Marks an arg without a default: the builder refuses args that lack it."""


@dataclass(frozen=True)
class Arg:
    """One builder argument. `kinds` are the accepted Python types (bool never counts as a number; an int is
    accepted where a float is). `default=None` means optional with no value."""

    name: str
    kinds: tuple[type, ...]
    default: Any = None
    help: str = ""
    minimum: float | None = None
    choices: tuple[Any, ...] | None = None
    item_kind: type | None = None  # for lists: the type of every item

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def describe_type(self) -> str:
        names = "/".join(k.__name__ for k in self.kinds)
        if self.item_kind is not None:
            names += f"[{self.item_kind.__name__}]"
        return names

    def check(self, app: str, value: Any) -> Any:
        """`value` if it fits this arg, else ValueError naming the app, the arg and what it expected."""
        kinds = self.kinds + ((int,) if float in self.kinds and int not in self.kinds else ())
        if isinstance(value, bool) and bool not in kinds:
            raise ValueError(f"{app}: arg {self.name!r} must be {self.describe_type()}, got a boolean")
        if not isinstance(value, kinds):
            raise ValueError(f"{app}: arg {self.name!r} must be {self.describe_type()}, got {type(value).__name__}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{app}: arg {self.name!r} must be a finite number, got {value!r}")
        if self.minimum is not None and isinstance(value, int | float) and value < self.minimum:
            raise ValueError(f"{app}: arg {self.name!r} must be >= {self.minimum:g}, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"{app}: arg {self.name!r} must be one of {list(self.choices)}, got {value!r}")
        if self.item_kind is not None and isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, bool) or not isinstance(item, self.item_kind):
                    raise ValueError(f"{app}: arg {self.name}[{index}] must be {self.item_kind.__name__}, "
                                     f"got {type(item).__name__}")
        return value


def device_arg(default: str) -> Arg:
    """The `device` arg every bundled app accepts: which code path (GPU models or CPU fallbacks) it builds."""
    return Arg("device", (str,), default, "gpu or cpu (the CPU fallback)", choices=DEVICES)


@dataclass(frozen=True)
class Contract:
    """The args of one app type's builder (`app` is the type name used in error messages)."""

    app: str
    args: tuple[Arg, ...]

    def names(self) -> frozenset[str]:
        return frozenset(a.name for a in self.args)

    def __getitem__(self, name: str) -> Arg:
        for arg in self.args:
            if arg.name == name:
                return arg
        raise KeyError(name)

    def parse(self, args: Mapping[str, Any] | None) -> dict[str, Any]:
        """Every arg of the contract (defaults filled in, None for optional ones left out), type-checked.
        ValueError names an unknown key, a missing required one, or a value of the wrong type."""
        given: Mapping[str, Any] = {} if args is None else args
        if not isinstance(given, Mapping):
            raise ValueError(f"{self.app}: args must be a mapping, got {type(given).__name__}")
        unknown = sorted(str(k) for k in given if k not in self.names())
        if unknown:
            allowed = ", ".join(sorted(self.names()))
            raise ValueError(f"{self.app}: unknown arg(s) {', '.join(map(repr, unknown))}; allowed: {allowed}")
        out: dict[str, Any] = {}
        for arg in self.args:
            value = given.get(arg.name)
            if value is None:
                if arg.required:
                    raise ValueError(f"{self.app}: missing required arg {arg.name!r}")
                out[arg.name] = None if arg.default is None else _copy(arg.default)
                continue
            out[arg.name] = arg.check(self.app, value)
        return out


def _copy(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value
