"""kind-config.yaml handling and the kind command lines of `rayctl dev` (pure: dicts and lists of strings)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from rayctl.errors import InputError

DEFAULT_CLUSTER = "rayctl"
# The NodePorts the config's extraPortMappings point at; expose.py puts the Serve and dashboard Services there.
SERVE_NODE_PORT = 30800
DASHBOARD_NODE_PORT = 30265
SERVE_PORT = 8000
DASHBOARD_PORT = 8265
CONFIG_NAME = "kind-config.yaml"


def default_config_path(cwd: Path | None = None) -> Path | None:
    """`./kind-config.yaml`, else the one at the root of the rayctl source tree (None when neither exists)."""
    here = (cwd or Path.cwd()) / CONFIG_NAME
    if here.is_file():
        return here
    repo = Path(__file__).resolve().parents[2] / CONFIG_NAME
    return repo if repo.is_file() else None


def load_config(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read the kind config: {exc}") from exc
    if not isinstance(data, dict) or data.get("kind") != "Cluster":
        raise InputError(f"{path}: not a kind config (expected `kind: Cluster`, apiVersion kind.x-k8s.io/v1alpha4)")
    return data


def prepare_config(
    config: dict[str, Any], *, cluster: str, host_ports: dict[int, int] | None = None
) -> dict[str, Any]:
    """A copy of `config` named `cluster`, with the host side of port mappings moved: {containerPort: hostPort}."""
    out = copy.deepcopy(config)
    out["name"] = cluster
    wanted = dict(host_ports or {})
    for node in out.get("nodes") or []:
        for mapping in node.get("extraPortMappings") or []:
            port = mapping.get("containerPort")
            if port in wanted:
                mapping["hostPort"] = wanted.pop(port)
    if wanted:
        raise InputError(
            f"the kind config maps no node port {sorted(wanted)} to the host",
            hint=f"add extraPortMappings with containerPort {SERVE_NODE_PORT} (Serve) and {DASHBOARD_NODE_PORT} "
            f"(dashboard) to a node of {CONFIG_NAME}",
        )
    return out


def host_endpoint(config: dict[str, Any], node_port: int) -> tuple[str, int] | None:
    """(address, port) on the host that reaches `node_port` of the cluster, from extraPortMappings."""
    for node in config.get("nodes") or []:
        for mapping in node.get("extraPortMappings") or []:
            if mapping.get("containerPort") == node_port and mapping.get("hostPort"):
                address = str(mapping.get("listenAddress") or "127.0.0.1")
                return ("127.0.0.1" if address == "0.0.0.0" else address), int(mapping["hostPort"])
    return None


def parse_docker_port(text: str) -> tuple[str, int] | None:
    """`docker port NODE 30800/tcp` output ("127.0.0.1:8000", maybe one line per address) -> (host, port)."""
    for line in text.splitlines():
        host, sep, port = line.strip().rpartition(":")
        if sep and port.isdigit():
            host = host.strip("[]")
            return ("127.0.0.1" if host in ("0.0.0.0", "::", "") else host), int(port)
    return None


def url(endpoint: tuple[str, int] | None, path: str = "/") -> str | None:
    if endpoint is None:
        return None
    host, port = endpoint
    return f"http://{host}:{port}{path if path.startswith('/') else '/' + path}"


def kube_context(cluster: str) -> str:
    """The kubeconfig context kind writes for `cluster`."""
    return f"kind-{cluster}"


def create_command(
    kind: str, cluster: str, config_path: Path, kubeconfig: str | None, node_image: str | None, wait: str = "5m"
) -> list[str]:
    cmd = [kind, "create", "cluster", "--name", cluster, "--config", str(config_path), "--wait", wait]
    if node_image:
        cmd += ["--image", node_image]
    if kubeconfig:
        cmd += ["--kubeconfig", kubeconfig]
    return cmd


BOOT_RACES = ("failed to reload systemd", "failed to init node with kubeadm", "could not find a log line that matches")
"""What `kind create cluster` prints when its node was not ready in time (systemd still starting, kubeadm too early):
worth one more try, unlike a bad config or a missing image."""


def is_boot_race(stderr: str) -> bool:
    return any(marker in stderr for marker in BOOT_RACES)


def delete_command(kind: str, cluster: str, kubeconfig: str | None) -> list[str]:
    cmd = [kind, "delete", "cluster", "--name", cluster]
    return cmd + (["--kubeconfig", kubeconfig] if kubeconfig else [])


def export_kubeconfig_command(kind: str, cluster: str, kubeconfig: str | None) -> list[str]:
    cmd = [kind, "export", "kubeconfig", "--name", cluster]
    return cmd + (["--kubeconfig", kubeconfig] if kubeconfig else [])


def load_command(kind: str, cluster: str, images: list[str]) -> list[str]:
    return [kind, "load", "docker-image", "--name", cluster, *images]


def isolate_dns(corefile: str) -> str:
    """CoreDNS's Corefile without its upstream `forward` block: names outside the cluster fail at once instead of
    being forwarded node -> Docker's DNS -> the host's resolvers (used where test traffic must stay local)."""
    lines = corefile.splitlines()
    out: list[str] = []
    skipping = 0
    for line in lines:
        stripped = line.strip()
        if skipping:
            skipping += stripped.count("{") - stripped.count("}")
            continue
        if stripped.startswith("forward "):
            depth = stripped.count("{") - stripped.count("}")
            if depth > 0:
                skipping = depth
            continue
        out.append(line)
    return "\n".join(out) + ("\n" if corefile.endswith("\n") else "")
