"""Turn pydantic's validation errors into messages a user can act on: file:line, field path, did-you-mean."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from rayctl.errors import InputError, shorten
from rayctl.secrets import REDACTED, redact_text, secret_value
from rayctl.spec.base import INT32_MAX
from rayctl.spec.inline_secrets import InlineSecretsError
from rayctl.spec.inline_secrets import message as inline_secret_message
from rayctl.spec.suggest import did_you_mean
from rayctl.spec.yamlsrc import PathKey, SourceDoc, format_path

MAX_SHOWN = 25
"""Problems an error message lists (a file with 300 wrong keys gets the first 25 and a count)."""


@dataclass(frozen=True)
class SpecIssue:
    """One problem in a spec file."""

    where: str  # file:line:col
    path: str  # field path, e.g. serve.applications[0].routePrefix
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.path}: {self.message}"


class SpecError(InputError):
    """The spec failed validation; carries every issue found."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = issues
        count = len(issues)
        lines = "\n".join(f"  {issue}" for issue in issues[:MAX_SHOWN])
        if count > MAX_SHOWN:
            lines += f"\n  ... and {count - MAX_SHOWN} more (fix these first)"
        super().__init__(f"the spec is invalid ({count} problem{'s' if count != 1 else ''}):\n{lines}")


def _unwrap(annotation: Any, data: Any) -> Any:
    """Find the model class an annotation resolves to for this piece of data (None when not a model)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0], data)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        if isinstance(data, dict) and len(models) > 1 and "type" in data:
            for m in models:
                field = m.model_fields.get("type")
                if field is not None and data["type"] in typing.get_args(field.annotation):
                    return m
        for m in members:
            found = _unwrap(m, data)
            if found is not None:
                return found
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _field_by_alias(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in (field.alias, name):
            return field.annotation
    return None


def _container_item(annotation: Any) -> Any:
    """For list[X] / dict[str, X] (possibly Optional/Annotated) return X."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _container_item(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        for member in typing.get_args(annotation):
            item = _container_item(member)
            if item is not None:
                return item
        return None
    if origin is list:
        return typing.get_args(annotation)[0]
    if origin is dict:
        return typing.get_args(annotation)[1]
    return None


def _model_at(root: type[BaseModel], data: Any, path: PathKey) -> type[BaseModel] | None:
    """The model class that validates the mapping at `path` (for did-you-mean candidates)."""
    model: type[BaseModel] | None = root
    annotation: Any = root
    node = data
    for part in path:
        if model is not None and isinstance(part, str):
            annotation = _field_by_alias(model, part)
        else:
            annotation = _container_item(annotation)
        node = _get(node, part) if isinstance(node, dict | list) and _has(node, part) else None
        model = _unwrap(annotation, node) if annotation is not None else None
        if annotation is None:
            return None
    return model


def _get(node: Any, part: str | int) -> Any:
    return node[part]


def _has(node: dict[Any, Any] | list[Any], part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(part, int) and 0 <= part < len(node)


def _data_path(data: Any, loc: tuple[str | int, ...]) -> PathKey:
    """Drop pydantic's union tags (e.g. the 'llm' in applications.0.llm.model) by walking the real data."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict | list) and _has(node, part):
            out.append(part)
            node = _get(node, part)
        elif isinstance(node, dict) and node.get("type") == part:
            continue  # discriminated-union tag
        elif isinstance(part, str) and part.startswith(("function-", "literal[", "int", "str", "float")):
            continue  # pydantic's union member labels
        else:
            out.append(part)
            node = None
    return tuple(out)


_SERVE_OPTION_KEYS = {
    "numReplicas", "autoscaling", "maxOngoingRequests", "maxQueuedRequests", "rayActorOptions",
    "placementGroupBundles", "placementGroupStrategy", "maxReplicasPerNode", "userConfig",
    "healthCheckPeriodS", "healthCheckTimeoutS", "gracefulShutdownTimeoutS", "gracefulShutdownWaitLoopS",
    "num_replicas", "autoscaling_config", "max_ongoing_requests", "ray_actor_options", "user_config",
}


def _message(err: ErrorDetails, root: type[BaseModel], data: Any, path: PathKey) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(path[-1])
        model = _model_at(root, data, path[:-1])
        candidates = [f.alias or n for n, f in model.model_fields.items()] if model else []
        msg = f"unknown key {shorten(key)!r}{did_you_mean(key, candidates)}"
        if key in _SERVE_OPTION_KEYS and model is not None and "deployment" in model.model_fields:
            msg += "; the model server's Serve options go under `deployment`"
        elif key in _SERVE_OPTION_KEYS and model is not None and "deployments" in model.model_fields:
            msg += "; per-deployment Serve options go under deployments.<DeploymentName>"
        elif model is not None and candidates and "did you mean" not in msg:
            msg += f"; allowed keys here: {', '.join(sorted(candidates))}"
        return msg
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx") or {}
        tag = str(ctx.get("tag", ""))
        expected = str(ctx.get("expected_tags", ""))
        return f"unknown application type {tag!r}{did_you_mean(tag, expected.replace(chr(39), '').split(', '))}; " \
               f"expected one of {expected}"
    if kind == "union_tag_not_found":
        from rayctl.apps import app_types

        return f"an application needs a 'type' (one of: {', '.join(app_types())})"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    got = err.get("input")
    if isinstance(got, str | int | float) and not isinstance(got, bool):
        # a value the message repeats: shortened, and never a secret (`(got 'hunter2hunter2')`)
        shown = _shown(got, path)
        msg = msg.replace(repr(got), shown)
        if isinstance(got, str) and len(got) > 80:
            msg = msg.replace(got, shown)
        msg = redact_text(msg)
    if kind not in ("value_error", "assertion_error") and not isinstance(got, dict | list) and got is not None:
        msg += f" (got {_shown(got, path)})"
    limit = (err.get("ctx") or {}).get("le")
    if kind == "less_than_equal" and limit == INT32_MAX:
        msg += "; Kubernetes stores this field as a 32-bit integer"
    return msg


def _shown(value: Any, path: PathKey) -> str:
    """How a message names a value: <redacted> when it is (or is under the name of) a secret, else its repr,
    shortened."""
    name = str(path[-1]) if path and isinstance(path[-1], str) else None
    if secret_value(name, value if not isinstance(value, int | float) or isinstance(value, bool) else str(value)):
        return REDACTED
    return repr(shorten(value)) if isinstance(value, str) else shorten(repr(value))


def to_spec_error(exc: ValidationError, root: type[BaseModel], doc: SourceDoc) -> SpecError:
    issues = []
    for err in exc.errors(include_url=False):
        secrets = (err.get("ctx") or {}).get("error")
        if isinstance(secrets, InlineSecretsError):
            for secret in secrets.found:
                issues.append(SpecIssue(doc.where(secret.path), secret.label, inline_secret_message(secret)))
            continue
        path = _data_path(doc.data, tuple(err["loc"]))
        shown = tuple(shorten(p) if isinstance(p, str) else p for p in path)
        issues.append(SpecIssue(doc.where(path), format_path(shown), _message(err, root, doc.data, path)))
    issues.sort(key=lambda i: _line_of(i.where))
    return SpecError(issues)


def _line_of(where: str) -> tuple[int, int]:
    parts = where.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return int(parts[1]), int(parts[2])
    return (0, 0)
