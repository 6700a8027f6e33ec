"""How clients outside the cluster reach the Serve endpoint (KubeRay's `<name>-serve-svc`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rayctl.spec.base import DnsLabel, SpecModel, StringMap


class IngressSettings(SpecModel):
    """An Ingress routing to the Serve Service KubeRay creates (`<name>-serve-svc`, port `serve`)."""

    class_name: str | None = Field(None, description="IngressClass to use (`ingressClassName`), e.g. nginx.")
    host: str | None = Field(
        None,
        pattern=r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        description="Host name the rule matches (default: every host).",
    )
    path: str = Field("/", pattern=r"^/", description="Path prefix routed to Serve.")
    path_type: Literal["Prefix", "Exact", "ImplementationSpecific"] = Field(
        "Prefix", description="How `path` matches (Kubernetes `pathType`)."
    )
    tls_secret_name: DnsLabel | None = Field(
        None, description="Secret with the TLS certificate for `host` (enables TLS on the Ingress)."
    )
    annotations: StringMap = Field(default_factory=dict, description="Annotations on the Ingress (controller options).")


class ExposeSettings(SpecModel):
    """Objects that expose the Serve endpoint beyond the cluster network."""

    ingress: IngressSettings | None = Field(None, description="Render an Ingress for the Serve endpoint.")
