"""Markdown reference of the spec, generated from the pydantic models (docs/spec.md; `make docs`)."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from rayctl.spec.model import DeploymentSpec
from rayctl.spec.serve import APP_TYPES


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


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
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
    for app in APP_TYPES.values():
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
    for model in _models(DeploymentSpec):
        lines += [f"## {model.__name__}", "", (model.__doc__ or "").strip().splitlines()[0], "",
                  "| key | type | default | description |", "| --- | --- | --- | --- |"]
        for name, field in model.model_fields.items():
            description = (field.description or "").replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{field.alias or name}` | {_type_name(field.annotation)} | {_default(field)} | "
                         f"{description} |")
        lines.append("")
    return "\n".join(lines)
