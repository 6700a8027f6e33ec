"""The base every spec model derives from, and the small shared field types."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from rayctl.spec.quantity import is_quantity

RAY_VERSION = "2.60.0"
"""The Ray version rayctl is built and tested against; the default for `ray.version`."""
PYTHON_TAG = "py311"


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
    )

    def dump(self) -> dict[str, Any]:
        """The model as the user would write it: camelCase, defaults omitted."""
        return self.model_dump(by_alias=True, exclude_defaults=True, mode="json")


def _number_to_str(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


def _check_quantity(value: str) -> str:
    if not is_quantity(value):
        raise ValueError(f"{value!r} is not a Kubernetes quantity (examples: 4, 500m, 16Gi)")
    return value


Quantity = Annotated[str, BeforeValidator(_number_to_str), AfterValidator(_check_quantity)]
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

StringMap = Annotated[dict[str, str], BeforeValidator(lambda v: {k: _number_to_str(x) for k, x in v.items()}
                                                      if isinstance(v, dict) else v)]
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
        None, ge=0, description="For NoExecute: how long the pod stays bound after the taint appears."
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
