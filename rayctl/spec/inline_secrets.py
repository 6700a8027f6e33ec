"""Literal secrets in a spec: every value that would land in the rendered manifest in plain text although its name
(HF_TOKEN, REDIS_PASSWORD, AWS_SECRET_ACCESS_KEY, redis-password, api_key) or its text (a password in a URL, an
`hf_...` token) says it is a secret. Each is an error naming the field and the fix (a Secret reference);
`allowInlineSecrets` lists the ones the user means (a test fixture, a value that only looks like a secret).

Names are judged in the free-form parts of a spec, where the keys are the user's (ray.env, rayStartParams,
runtimeEnv and its env_vars, args, engineKwargs, userConfig, ...); text is judged in every string.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from rayctl.secrets import literal_value, secret_in_text, secret_name
from rayctl.spec.yamlsrc import PathKey, format_path


@dataclass(frozen=True)
class InlineSecret:
    path: PathKey
    what: str  # "a secret-looking name" | "credentials in a URL" | "an access token"

    @property
    def label(self) -> str:
        return format_path(self.path)


class InlineSecretsError(ValueError):
    """Raised by the spec's validator; `rayctl.spec.errors` turns each secret into its own located issue."""

    def __init__(self, found: list[InlineSecret]) -> None:
        self.found = found
        super().__init__("; ".join(f"{s.label}: {message(s)}" for s in found))


_SECRET_REFERENCES = frozenset({"SecretEnv", "SecretKeyRef"})
"""Models that name a Secret (never hold one): not judged."""


REDIS_FIX = ("keep the Redis password in a Secret: gcsFaultTolerance.redisPasswordSecret: {name: redis, key: "
             "password} (and no password in redisAddress)")
URL_FIX = ("drop the credentials from the URL and give them through ray.secretEnv (e.g. HF_TOKEN, "
           "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), read from a Secret")
ENV_FIX = ("put it in a Secret and reference it: ray.secretEnv: [{{name: {env}, secretName: <secret>, key: <key>}}] "
           "(kubectl create secret generic <secret> --from-literal=<key>=...); every Ray container and the Serve "
           "replicas then read ${env}")
APP_READS = "; have the application read that variable instead"
MESSAGE = ("{what} would be written into the RayService in plain text (readable with `kubectl get -o yaml`, in etcd "
           "and in CI logs): {fix}; if it is not a secret, list {label} in allowInlineSecrets")
WHAT_NAME = "a literal value for a secret-looking name"
"""The message parts (the Helm chart's _validate.tpl words its `fail` with the same ones, from files/defaults.json)."""


def _fix(secret: InlineSecret) -> str:
    path = secret.path
    top = path[0] if path else ""
    name = str(path[-1]) if path else ""
    if top == "gcsFaultTolerance" or "redis" in name.lower():
        return REDIS_FIX
    if secret.what == "credentials in a URL":
        return URL_FIX
    env = name if name.replace("_", "").isalnum() and name.upper() == name else "THE_VAR"
    return ENV_FIX.format(env=env) + ("" if top == "ray" or "env_vars" in path else APP_READS)


def message(secret: InlineSecret) -> str:
    what = WHAT_NAME if secret.what == "name" else secret.what
    return MESSAGE.format(what=what, fix=_fix(secret), label=repr(secret.label))


def chart_messages() -> dict[str, str]:
    """The message parts, for the Helm chart (files/defaults.json)."""
    return {"redisFix": REDIS_FIX, "urlFix": URL_FIX, "envFix": ENV_FIX.replace("{{", "{").replace("}}", "}"),
            "appReads": APP_READS, "message": MESSAGE, "whatName": WHAT_NAME}


def _free_form(node: Any, path: PathKey, out: list[InlineSecret]) -> None:
    """A free-form value: keys are the user's names, so a secret name with a literal value counts."""
    todo: list[tuple[Any, PathKey]] = [(node, path)]
    while todo:
        current, where = todo.pop()
        if isinstance(current, dict):
            env_name = current.get("name") if isinstance(current.get("name"), str) else None
            for key, value in current.items():
                child = (*where, str(key))
                named = env_name if key == "value" and env_name is not None else str(key)
                if isinstance(value, str | int | float) and not isinstance(value, bool) and secret_name(named) \
                        and literal_value(str(value)):
                    out.append(InlineSecret(child, "name"))
                else:
                    todo.append((value, child))
        elif isinstance(current, list):
            todo.extend((item, (*where, index)) for index, item in enumerate(current))
        elif isinstance(current, str):
            found = secret_in_text(current)
            if found is not None:
                out.append(InlineSecret(where, found))


def _is_free_form(annotation: Any) -> bool:
    """dict[str, Any] / dict[str, str] (StringMap) fields, possibly Optional or Annotated."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_free_form(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_free_form(a) for a in typing.get_args(annotation) if a is not type(None))
    if origin is dict:
        value_type = typing.get_args(annotation)[1]
        return not (isinstance(value_type, type) and issubclass(value_type, BaseModel))
    return False


def _model(model: BaseModel, path: PathKey, out: list[InlineSecret]) -> None:
    if type(model).__name__ in _SECRET_REFERENCES:
        return
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if value is None:
            continue
        where = (*path, field.alias or name)
        if _is_free_form(field.annotation) and isinstance(value, dict):
            _free_form(value, where, out)
        else:
            _value(value, where, out)


def _value(value: Any, path: PathKey, out: list[InlineSecret]) -> None:
    if isinstance(value, BaseModel):
        _model(value, path, out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _value(item, (*path, index), out)
    elif isinstance(value, dict):
        for key, item in value.items():
            _value(item, (*path, str(key)), out)
    elif isinstance(value, str):
        found = secret_in_text(value)
        if found is not None:
            out.append(InlineSecret(path, found))


def find_inline_secrets(spec: BaseModel, allowed: typing.Collection[str] = ()) -> list[InlineSecret]:
    """Every literal secret in `spec` whose path (as messages print it) is not in `allowed`."""
    found: list[InlineSecret] = []
    _model(spec, (), found)
    return [s for s in found if s.label not in allowed]


def unused_allowances(spec: BaseModel, allowed: typing.Collection[str]) -> list[str]:
    """Entries of `allowed` that name no secret-looking value (a typo would otherwise allow nothing, silently)."""
    found = {s.label for s in find_inline_secrets(spec)}
    return [entry for entry in allowed if entry not in found]
