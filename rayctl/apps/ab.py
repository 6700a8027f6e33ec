"""`ab`: a weighted, sticky A/B router between variants (serve app: `serve_apps/ab_router.py`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from rayctl.apps.base import SAMPLE_TEXT, BundledApp, Endpoint, SampleRequest, app_type, drop_none
from rayctl.apps.contract import REQUIRED, Arg, Contract, device_arg
from rayctl.spec.base import SpecModel

DEFAULT_STICKY_HEADER = "x-user-id"
DEFAULT_VARIANT_HEADER = "x-ab-variant"
SMOKE_USER = "rayctl-smoke-user"

CONTRACT = Contract("ab", (
    Arg("variants", (list,), REQUIRED, "At least 2 of {name, weight, message?, app?: {type|import_path, args}}."),
    Arg("sticky_header", (str,), DEFAULT_STICKY_HEADER, "Request header whose value pins a user to a variant."),
    Arg("variant_header", (str,), DEFAULT_VARIANT_HEADER, "Response header naming the chosen variant."),
    device_arg("gpu"),
))


class ABVariant(SpecModel):
    """One arm of an A/B test."""

    name: str = Field(pattern=r"^[A-Za-z0-9_]+$", description="Variant name, returned in the variant header.")
    weight: float = Field(ge=0, description="Relative share of traffic.")
    message: str | None = Field(None, description="What this variant answers with (demo variants).")


@app_type(
    order=60, import_path="serve_apps.ab_router:app_builder", deployments=("ABRouter",), contract=CONTRACT,
    endpoint=Endpoint("POST", "/"),
)
class ABApp(BundledApp):
    """An A/B router splitting traffic between variants by weight, sticky per user."""

    type: Literal["ab"] = Field(description="Application type.")
    variants: list[ABVariant] = Field(min_length=2, description="The variants (at least two).")
    sticky_header: str = Field(
        DEFAULT_STICKY_HEADER, description="Request header whose value pins a user to a variant."
    )
    variant_header: str = Field(DEFAULT_VARIANT_HEADER, description="Response header naming the chosen variant.")

    @model_validator(mode="after")
    def _variants(self) -> ABApp:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must be unique, got {names}")
        if sum(v.weight for v in self.variants) <= 0:
            raise ValueError("at least one variant needs a weight above 0")
        return self

    def variant_deployments(self) -> tuple[str, ...]:
        return tuple(variant_deployment(v.name) for v in self.variants)

    @model_validator(mode="after")
    def _known_variant_deployments(self) -> ABApp:
        allowed = set(self.DEPLOYMENTS) | set(self.variant_deployments())
        unknown = sorted(set(self.deployments) - allowed)
        if unknown:
            raise ValueError(f"app type 'ab' has no deployment {unknown[0]!r}; its deployments are: "
                             f"{', '.join(sorted(allowed))}")
        return self

    @classmethod
    def _dynamic_deployments(cls) -> bool:
        return True  # Variant_<name> deployments depend on the variants; checked above

    def serve_args(self, device: str) -> dict[str, Any]:
        return {
            "device": device,
            "variants": [drop_none({"name": v.name, "weight": v.weight, "message": v.message}) for v in self.variants],
            "sticky_header": self.sticky_header,
            "variant_header": self.variant_header,
        }

    def implicit_deployments(self, device: str) -> dict[str, dict[str, Any]]:
        # The weights live in the router's user_config so that a serveConfigV2 edit reweights without a restart.
        return {"ABRouter": {"user_config": {"weights": {v.name: v.weight for v in self.variants}}}}

    @classmethod
    def sample_request(cls, args: dict[str, Any]) -> SampleRequest:
        header = str(args.get("sticky_header") or DEFAULT_STICKY_HEADER)
        return SampleRequest({"text": SAMPLE_TEXT}, {header: SMOKE_USER})

    @classmethod
    def describe_response(cls, args: dict[str, Any], headers: dict[str, str]) -> str:
        header = str(args.get("variant_header") or DEFAULT_VARIANT_HEADER)
        return f" [{header}: {headers.get(header.lower(), '?')}]"

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {"name": "ab", "type": "ab", "variants": [{"name": "a", "weight": 90}, {"name": "b", "weight": 10}]}


def variant_deployment(name: str) -> str:
    """The Serve deployment name of one variant."""
    return f"Variant_{name}"


APP_TYPE = ABApp
