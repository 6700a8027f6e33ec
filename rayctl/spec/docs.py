"""Markdown reference of the spec, generated from the pydantic models (docs/spec.md; `make docs`)."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from rayctl.apps import app_types
from rayctl.spec.model import DeploymentSpec


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args if a is not type(None))
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    return getattr(annotation, "__name__", str(annotation))


def spec_models(root: type[BaseModel]) -> list[type[BaseModel]]:
    """Every model reachable from `root` and from every registered app type, in first-seen order."""
    seen: list[type[BaseModel]] = []

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in seen:
                seen.append(annotation)
                for field in annotation.model_fields.values():
                    visit(field.annotation)
            return
        for arg in typing.get_args(annotation):
            visit(arg)

    visit(root)
    for app in app_types().values():
        visit(app)
    return seen


def _default(field: Any) -> str:
    if field.default is not PydanticUndefined and field.default is not None:
        return f"`{field.default}`" if not isinstance(field.default, BaseModel) else ""
    if field.default_factory is not None:
        return ""
    return "**required**" if field.is_required() else ""


def spec_reference() -> str:
    lines = ["# rayctl spec reference", "",
             "Generated from the pydantic models by `make docs` (do not edit). `rayctl schema` prints the same as",
             "JSON Schema. Keys are camelCase; unknown keys are errors.", ""]
    for model in spec_models(DeploymentSpec):
        lines += [f"## {model.__name__}", "", (model.__doc__ or "").strip().splitlines()[0], "",
                  "| key | type | default | description |", "| --- | --- | --- | --- |"]
        for name, field in model.model_fields.items():
            description = (field.description or "").replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{field.alias or name}` | {_type_name(field.annotation)} | {_default(field)} | "
                         f"{description} |")
        lines.append("")
    return "\n".join(lines)


def _arg_default(value: Any) -> str:
    from rayctl.apps.contract import REQUIRED

    if value is REQUIRED:
        return "**required**"
    return "" if value is None else f"`{value!r}`".replace("|", "\\|")


def apps_reference() -> str:
    """docs/apps.md: every registered application type, as the registry declares it."""
    from rayctl.apps import app_types

    lines = ["# Application types", "",
             "Generated from the application-type registry (`rayctl/apps/<type>.py`) by `make goldens` (do not "
             "edit). Each type's spec fields are in [spec.md](spec.md); the builder `args` below are what "
             "`serveConfigV2` carries and what the app's `app_builder` accepts (unknown args are errors).", "",
             "| type | import path | main endpoint | deployments | summary |", "| --- | --- | --- | --- | --- |"]
    types = app_types()
    for name, cls in types.items():
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        deployments = ", ".join(f"`{d}`" for d in cls.DEPLOYMENTS) or "—"
        if name == "ab":
            deployments += ", `Variant_<name>` per variant"
        path = f"`{cls.IMPORT_PATH}`" if cls.IMPORT_PATH else "yours (`importPath`)"
        lines.append(f"| `{name}` | {path} | `{cls.ENDPOINT.method} <route>{cls.ENDPOINT.path}` | {deployments} | "
                     f"{summary} |")
    for name, cls in types.items():
        if cls.CONTRACT is None:
            continue
        lines += ["", f"## `{name}` builder args", "", "| arg | type | default | description |",
                  "| --- | --- | --- | --- |"]
        for arg in cls.CONTRACT.args:
            choices = f" (one of {', '.join(map(str, arg.choices))})" if arg.choices else ""
            lines.append(f"| `{arg.name}` | {arg.describe_type()} | {_arg_default(arg.default)} | "
                         f"{arg.help}{choices} |")
    return "\n".join(lines) + "\n"
