"""Starting points for `rayctl init`: the example specs shipped with rayctl (manifests/examples/, packaged as
rayctl/examples/) and a minimal spec for every registered application type."""

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


def app_type_names() -> dict[str, str]:
    """Application type -> the first line of its description."""
    from rayctl.apps import app_types

    return {name: (cls.__doc__ or "").strip().splitlines()[0] for name, cls in app_types().items()}


def app_type_text(app_type: str) -> str:
    """A minimal, valid spec with one application of `app_type` and one worker group to run it."""
    from rayctl.apps import app_types
    from rayctl.render import dump_yaml

    types = app_types()
    cls = types.get(app_type)
    if cls is None:
        raise InputError(f"no application type {app_type!r}{did_you_mean(app_type, types)}; "
                         f"types: {', '.join(types)}")
    summary = (cls.__doc__ or "").strip().splitlines()[0]
    application = cls.example()
    group: dict[str, object] = {"name": "cpu", "replicas": 1, "minReplicas": 1, "maxReplicas": 2, "cpu": 4,
                                "memory": "8Gi"}
    if cls.model_validate(application).resolve_device(None) == "gpu":
        group = {"name": "gpu", "replicas": 1, "minReplicas": 1, "maxReplicas": 2, "gpus": 1, "cpu": 8,
                 "memory": "32Gi", "nodeSelector": {"nvidia.com/gpu.present": "true"},
                 "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}
    spec = {
        "name": f"my-{cls.TYPE}".replace("_", "-").lower(),
        "workerGroups": [group],
        "serve": {"applications": [application]},
    }
    header = (f"# {spec['name']}: {summary}\n"
              f"# Every key is in `rayctl schema` and docs/spec.md; next: rayctl validate FILE && rayctl render FILE\n")
    return header + dump_yaml(spec)
