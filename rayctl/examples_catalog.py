"""The example specs shipped with rayctl (manifests/examples/, packaged as rayctl/examples/)."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

from rayctl.errors import InputError
from rayctl.spec.suggest import did_you_mean


def _folder() -> Traversable:
    return files("rayctl") / "examples"


def example_names() -> dict[str, str]:
    """name -> first comment line (its summary)."""
    names = {}
    for entry in sorted(_folder().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            first = entry.read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
            names[entry.name[: -len(".yaml")]] = first.split(": ", 1)[-1]
    return names


def example_text(name: str) -> str:
    names = example_names()
    if name not in names:
        raise InputError(f"no example named {name!r}{did_you_mean(name, names)}; examples: {', '.join(names)}")
    return (_folder() / f"{name}.yaml").read_text(encoding="utf-8")


def example_path(name: str) -> str:
    example_text(name)
    return str(_folder() / f"{name}.yaml")
