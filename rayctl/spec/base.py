"""The base every spec model derives from, and the small shared field types."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic.alias_generators import to_camel

from rayctl.helm_json import go_json
from rayctl.quantity import QuantityError, parse_quantity

RAY_VERSION = "2.60.0"
"""The Ray version rayctl is built and tested against; the default for `ray.version`."""
PYTHON_TAG = "py311"
INT32_MAX = 2**31 - 1
"""The largest value of a Kubernetes int32 field (replicas, minReplicas, numOfHosts, idleTimeoutSeconds, ...)."""
SERVE_INT_MAX = 2**31 - 1
"""The bound rayctl puts on Ray Serve's counts (replicas, ongoing requests): far above any cluster, and small
enough that arithmetic on it stays cheap."""


def canonical(value: Any) -> Any:
    """`value` with every mapping's keys in sorted order, lists kept in theirs: specs that differ only in the order
    of a map's keys are the same spec and render the same bytes (Helm's toYaml sorts keys too)."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


class SpecModel(BaseModel):
    """Base for all spec models: camelCase keys, unknown keys rejected, defaults validated."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        # camelCase only: a snake_case key is reported as unknown, with a did-you-mean.
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
        validate_default=True,
        str_strip_whitespace=True,
        # No type coercion: `replicas: "2"` is an error, as the API server would make it (floats take ints).
        strict=True,
        # inf and nan have no JSON form: the API server and Ray would reject (or misread) them
        allow_inf_nan=False,
    )

    @model_validator(mode="after")
    def _canonical_maps(self) -> Self:
        # user maps (labels, env, rayStartParams, runtimeEnv, args, deployments, ...) in canonical key order
        for name in type(self).model_fields:
            value = self.__dict__.get(name)
            if isinstance(value, dict) and value:
                self.__dict__[name] = canonical(value)
        return self

    def dump(self) -> dict[str, Any]:
        """The model as the user would write it: camelCase, defaults omitted."""
        return self.model_dump(by_alias=True, exclude_defaults=True, mode="json")


def _number_to_str(value: Any) -> Any:
    """A number where a quantity belongs is written as Helm's `toJson` writes it: a values file holds float64s only,
    so the chart cannot tell `8.0` from `8` (or `1.10` from `1.1`) and both sides must write "8" (same amount)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return go_json(value)
    return value


def _number_to_label_str(value: Any) -> Any:
    """A number where a string belongs (a label value, a rayStartParam): its text as written, when Helm would read
    the same text (`8`, `0.5`). `1.10`, `2.0`, `007`, `1_000` are refused: rayctl would keep the text, Helm (and
    so the chart) would write `1.1`, `2`, `7`, `1000`, and the two front doors would build different objects."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    written = getattr(value, "yaml_text", None)
    as_json = go_json(value)
    if written is not None and written != as_json:
        raise ValueError(
            f"the number {written} would be read as {as_json} by Helm (values files hold float64s): "
            f'quote it ("{written}") to keep it as written'
        )
    return as_json


def _check_quantity(value: str) -> str:
    try:
        amount = parse_quantity(value)
    except QuantityError as exc:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (examples: 4, 500m, 16Gi)") from exc
    if amount < 0:
        raise ValueError(f"{value!r} is negative: a resource amount is 0 or more")
    return value


QUANTITY_JSON_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$"},
        {"type": "number", "minimum": 0},
    ],
    "description": "A Kubernetes quantity: a number, or a string such as 500m, 4, 16Gi, 1e9.",
}
Quantity = Annotated[
    str, BeforeValidator(_number_to_str), AfterValidator(_check_quantity), WithJsonSchema(QUANTITY_JSON_SCHEMA)
]
"""A Kubernetes resource quantity, e.g. `4`, `500m`, `16Gi`."""

_DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _check_dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_1123_LABEL.match(value):
        raise ValueError(
            f"{value!r} must be a DNS-1123 label: lowercase letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters"
        )
    return value


DnsLabel = Annotated[str, AfterValidator(_check_dns_label)]

StringMap = Annotated[
    dict[str, Annotated[str, BeforeValidator(_number_to_label_str)]],
    WithJsonSchema({"type": "object", "additionalProperties": {"type": ["string", "number"]}}),
]
"""A map of strings; numbers are accepted and turned into strings (Kubernetes labels, rayStartParams)."""


class Toleration(SpecModel):
    """A Kubernetes toleration (same fields as core/v1 Toleration)."""

    key: str | None = Field(None, description="Taint key the toleration applies to; empty matches all keys.")
    operator: Literal["Exists", "Equal"] = Field("Equal", description="`Exists` or `Equal`.")
    value: str | None = Field(None, description="Taint value to match with `Equal`.")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        None, description="Taint effect to match; empty matches all effects."
    )
    toleration_seconds: int | None = Field(
        None, ge=0, le=2**63 - 1, description="For NoExecute: how long the pod stays bound after the taint appears."
    )


class SecretKeyRef(SpecModel):
    """A reference to one key of a Kubernetes Secret (secrets are never written inline in a spec)."""

    name: DnsLabel = Field(description="Name of the Secret, in the RayService's namespace.")
    key: str = Field(description="Key inside the Secret.")


class SecretEnv(SpecModel):
    """An environment variable filled from a Secret in every Ray container (e.g. HF_TOKEN)."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Environment variable name, e.g. HF_TOKEN.")
    secret_name: DnsLabel = Field(description="Name of the Secret holding the value.")
    key: str = Field(description="Key inside the Secret.")
    optional: bool = Field(False, description="Start the pod even when the Secret or key is missing.")
