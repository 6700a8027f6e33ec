"""What every application type is: its spec model plus the facts and builders the rest of rayctl reads.

An application type is one pydantic model class (a subclass of `AppBase`) in its own module `rayctl/apps/<type>.py`.
The `@app_type(...)` decorator gives the class the facts that do not depend on a particular spec (its import path,
deployment names, builder contract, HTTP endpoint; the type name comes from its `type` field), and its methods say
what it computes for a spec: the device it runs on, the Serve `args` it builds, the deployment options rayctl sets
unless the user did, a sample request. The renderer, the validator, `rayctl run`, the docs, `rayctl init` and the
A/B router all read these, never a list of their own.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self, TypeVar

from pydantic import Field, field_validator

from rayctl.apps.contract import Contract
from rayctl.spec.base import SpecModel
from rayctl.spec.deployment import DeploymentOptions, Device
from rayctl.spec.profile import CpuProfileSettings
from rayctl.spec.suggest import did_you_mean

Profile = Literal["cpu", "gpu"] | None
"""`cpu` forces every app onto its CPU fallback, `gpu` onto its GPU path; None lets each app decide."""

SAMPLE_TEXT = (
    "Ray Serve is a scalable model serving library for building online inference APIs. "
    "It lets you compose several models and business logic into one application, written in plain Python. "
    "Teams love how easy it is to scale each part of the pipeline independently on a cluster. "
    "Deployments can batch requests, which improves throughput on GPUs dramatically. "
    "Some users find the configuration surface large at first, but the documentation is excellent. "
    "KubeRay runs these applications on Kubernetes with zero-downtime upgrades."
)
"""A paragraph the text apps answer meaningfully (smoke requests, benchmarks, tests)."""


@dataclass(frozen=True)
class Endpoint:
    """The app's main HTTP endpoint: method and path relative to its route prefix."""

    method: Literal["GET", "POST"]
    path: str = ""


@dataclass(frozen=True)
class SampleRequest:
    """One meaningful request to an app's main endpoint (JSON body or none, extra headers)."""

    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


_ROUTE = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$")


class AppBase(SpecModel):
    """Fields every Serve application has."""

    # Set by @app_type (below), never by hand: one declaration per type, checked when its module is imported.
    TYPE: ClassVar[str] = ""
    ORDER: ClassVar[int] = 1000
    """Position in docs, schema and `rayctl init --list` (bundled types first, in a fixed order)."""
    IMPORT_PATH: ClassVar[str] = ""
    DEPLOYMENTS: ClassVar[tuple[str, ...]] = ()
    CONTRACT: ClassVar[Contract | None] = None
    ENDPOINT: ClassVar[Endpoint] = Endpoint("GET")
    USES_ACCELERATOR: ClassVar[bool] = False
    """Its `device: gpu` path needs a GPU (a local run without one stops with the fix)."""
    AB_VARIANT: ClassVar[bool] = False
    """Its ingress answers `handle_json(payload)`, so the A/B router can run it as a variant."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Application name, unique in the spec.")
    route_prefix: str | None = Field(
        None, description="HTTP route prefix, e.g. /chat (default: /<name>); unique across applications."
    )
    runtime_env: dict[str, Any] | None = Field(
        None, description="Ray runtime_env for the application (pip, env_vars, working_dir, ...)."
    )

    @field_validator("route_prefix")
    @classmethod
    def _route(cls, value: str | None) -> str | None:
        if value is not None and not _ROUTE.match(value):
            raise ValueError(f"route prefix {value!r} must start with '/' and be a URL path")
        if value is not None and len(value) > 1 and value.endswith("/"):
            raise ValueError(f"route prefix {value!r} must not end with '/'")
        return value

    def effective_route(self) -> str:
        return self.route_prefix or f"/{self.name}"

    # ---- what the renderer asks of every application type

    def import_path(self) -> str:
        return self.IMPORT_PATH

    def resolve_device(self, profile: Profile) -> str:
        """The code path the app is built for: the profile wins (cpu strips every GPU ask)."""
        return "cpu" if profile == "cpu" else "gpu"

    def serve_args(self, device: str) -> dict[str, Any] | None:
        """The `args` of the application in serveConfigV2 (None: no args key)."""
        return None

    def explicit_deployments(self) -> dict[str, DeploymentOptions]:
        """Serve options the user set per deployment."""
        return {}

    def implicit_deployments(self, device: str) -> dict[str, dict[str, Any]]:
        """Serve options rayctl sets for a deployment unless the user set them (Ray's snake_case keys)."""
        return {}

    def for_cpu(self, settings: CpuProfileSettings) -> Self:
        """This application under the CPU profile (models swapped for small ones, context capped). Devices and
        GPU asks are the renderer's business (`resolve_device("cpu")`), not this hook's."""
        return self

    @classmethod
    def sample_request(cls, args: dict[str, Any]) -> SampleRequest:
        """A request the app answers meaningfully, given its rendered `args` (smoke tests, `rayctl run --smoke`)."""
        return SampleRequest()

    @classmethod
    def describe_response(cls, args: dict[str, Any], headers: dict[str, str]) -> str:
        """A note on a response worth printing after a smoke request (e.g. which A/B variant answered)."""
        return ""

    @classmethod
    def example(cls) -> dict[str, Any]:
        """A minimal, valid application entry of this type for a new spec (`rayctl init --app-type`)."""
        return {"name": cls.TYPE, "type": cls.TYPE}


class BundledApp(AppBase):
    """Fields of the apps rayctl ships in `serve_apps`."""

    device: Device = Field(
        "auto",
        description="gpu or cpu (CPU fallback); auto picks gpu when a deployment of the app asks for GPUs.",
    )
    deployments: dict[str, DeploymentOptions] = Field(
        default_factory=dict, description="Serve options per deployment, keyed by deployment name."
    )

    @field_validator("deployments")
    @classmethod
    def _known_deployments(cls, value: dict[str, DeploymentOptions]) -> dict[str, DeploymentOptions]:
        unknown = sorted(set(value) - set(cls.DEPLOYMENTS))
        if unknown and not cls._dynamic_deployments():
            name = unknown[0]
            raise ValueError(
                f"app type {cls.TYPE!r} has no deployment {name!r}{did_you_mean(name, cls.DEPLOYMENTS)}; "
                f"its deployments are: {', '.join(cls.DEPLOYMENTS) or '(none: use `deployment`)'}"
            )
        return value

    @classmethod
    def _dynamic_deployments(cls) -> bool:
        return False

    def wants_gpu(self) -> bool:
        """What `device: auto` resolves to without a profile: the app's own placement asks for GPUs."""
        return any(o.asks_for_gpus() for o in self.deployments.values())

    def resolve_device(self, profile: Profile) -> str:
        """The profile wins, then the app's own `device`, then what its placement asks for. (A hand-written
        serveConfigV2 without `device` gets the contract's default instead: the app cannot see the placement.)"""
        if profile == "cpu":
            return "cpu"
        if self.device != "auto":
            return self.device
        if profile == "gpu":
            return "gpu"
        return "gpu" if self.wants_gpu() else "cpu"

    def explicit_deployments(self) -> dict[str, DeploymentOptions]:
        return dict(self.deployments)


AppT = TypeVar("AppT", bound=AppBase)


def app_type(
    *,
    order: int = 1000,
    import_path: str = "",
    deployments: tuple[str, ...] = (),
    contract: Contract | None = None,
    endpoint: Endpoint = Endpoint("GET"),
    uses_accelerator: bool = False,
    ab_variant: bool = False,
) -> Callable[[type[AppT]], type[AppT]]:
    """Declares an application type's fixed facts (see `AppBase`'s class attributes for each; the default `order`
    puts a type kept outside rayctl after the bundled ones). The type name is the one value of the class's
    `type: Literal[...]` field, so it is written once; a contract for another type, or a `type` field that is not a
    one-value Literal, is a TypeError when the module is imported."""

    def declare(cls: type[AppT]) -> type[AppT]:
        field_info = cls.model_fields.get("type")
        names = typing.get_args(field_info.annotation) if field_info is not None else ()
        if len(names) != 1 or not isinstance(names[0], str):
            raise TypeError(f"{cls.__qualname__} needs a field `type: Literal[\"<type name>\"]`")
        if contract is not None and contract.app != names[0]:
            raise TypeError(f"{cls.__qualname__} is type {names[0]!r} but its contract is for {contract.app!r}")
        cls.TYPE = names[0]
        cls.ORDER = order
        cls.IMPORT_PATH = import_path
        cls.DEPLOYMENTS = deployments
        cls.CONTRACT = contract
        cls.ENDPOINT = endpoint
        cls.USES_ACCELERATOR = uses_accelerator
        cls.AB_VARIANT = ab_variant
        return cls

    return declare


def drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
