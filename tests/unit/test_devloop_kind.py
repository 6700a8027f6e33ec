"""rayctl.devloop.kind / expose / tools / operator: the pure parts of `rayctl dev`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rayctl.devloop import expose, kind, operator, tools
from rayctl.errors import DependencyError, InputError
from tests.conftest import ROOT

CONFIG = ROOT / "kind-config.yaml"


def test_repo_kind_config_matches_the_dev_loop() -> None:
    config = kind.load_config(CONFIG)
    roles = [n["role"] for n in config["nodes"]]
    assert roles == ["control-plane", "worker"]
    assert config["networking"]["apiServerAddress"] == "127.0.0.1"
    assert kind.host_endpoint(config, kind.SERVE_NODE_PORT) == ("127.0.0.1", 8000)
    assert kind.host_endpoint(config, kind.DASHBOARD_NODE_PORT) == ("127.0.0.1", 8265)
    patches = "\n".join(config["kubeadmConfigPatches"])
    assert "failCgroupV1: false" in patches
    # the CPU pool label the examples' node pools use (docs/contracts.md)
    assert all(n.get("labels", {}).get("rayctl.dev/pool") == "cpu" for n in config["nodes"])
    assert "rayctl.dev/pool: cpu" in (ROOT / "docs" / "contracts.md").read_text()


def test_prepare_config_moves_host_ports_and_names_the_cluster() -> None:
    config = kind.load_config(CONFIG)
    out = kind.prepare_config(config, cluster="t1", host_ports={kind.SERVE_NODE_PORT: 18000})
    assert out["name"] == "t1"
    assert kind.host_endpoint(out, kind.SERVE_NODE_PORT) == ("127.0.0.1", 18000)
    assert kind.host_endpoint(out, kind.DASHBOARD_NODE_PORT) == ("127.0.0.1", 8265)
    assert kind.host_endpoint(config, kind.SERVE_NODE_PORT) == ("127.0.0.1", 8000), "input mutated"


def test_prepare_config_refuses_an_unmapped_node_port() -> None:
    with pytest.raises(InputError, match="30800"):
        kind.prepare_config({"kind": "Cluster", "nodes": [{"role": "control-plane"}]}, cluster="x",
                            host_ports={kind.SERVE_NODE_PORT: 1})


@pytest.mark.parametrize(
    ("text", "problem"),
    [("kind: Pod\n", "not a kind config"), ("a: [\n", "cannot read")],
)
def test_load_config_errors(tmp_path: Path, text: str, problem: str) -> None:
    p = tmp_path / "k.yaml"
    p.write_text(text)
    with pytest.raises(InputError, match=problem):
        kind.load_config(p)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8000\n", ("127.0.0.1", 8000)),
        ("0.0.0.0:18000\n[::]:18000\n", ("127.0.0.1", 18000)),
        ("", None),
        ("Error: No public port '30800/tcp' published\n", None),
    ],
)
def test_parse_docker_port(text: str, expected: tuple[str, int] | None) -> None:
    assert kind.parse_docker_port(text) == expected


@pytest.mark.parametrize(
    ("endpoint", "path", "expected"),
    [
        (("127.0.0.1", 8000), "/hello", "http://127.0.0.1:8000/hello"),
        (("h", 1), "x", "http://h:1/x"),
        (None, "/", None),
    ],
)
def test_url(endpoint: Any, path: str, expected: str | None) -> None:
    assert kind.url(endpoint, path) == expected


COREFILE = """.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
"""


def test_isolate_dns_drops_only_the_forward_block() -> None:
    out = kind.isolate_dns(COREFILE)
    assert "forward" not in out and "max_concurrent" not in out
    for kept in ("kubernetes cluster.local", "fallthrough", "cache 30", "loadbalance", "health {"):
        assert kept in out
    assert out.count("{") == out.count("}")
    assert kind.isolate_dns(out) == out
    assert "forward" not in kind.isolate_dns(".:53 {\n    forward . 8.8.8.8\n    cache\n}\n")


@pytest.mark.parametrize(
    ("cmd", "expected"),
    [
        (kind.create_command("kind", "c", Path("/k.yaml"), "/kc", "node:1"),
         ["kind", "create", "cluster", "--name", "c", "--config", "/k.yaml", "--wait", "5m", "--image", "node:1",
          "--kubeconfig", "/kc"]),
        (kind.create_command("kind", "c", Path("/k.yaml"), None, None),
         ["kind", "create", "cluster", "--name", "c", "--config", "/k.yaml", "--wait", "5m"]),
        (kind.delete_command("kind", "c", None), ["kind", "delete", "cluster", "--name", "c"]),
        (kind.load_command("kind", "c", ["a:1", "b:2"]), ["kind", "load", "docker-image", "--name", "c", "a:1", "b:2"]),
        (kind.export_kubeconfig_command("kind", "c", "/kc"), ["kind", "export", "kubeconfig", "--name", "c",
                                                                "--kubeconfig", "/kc"]),
    ],
)
def test_commands(cmd: list[str], expected: list[str]) -> None:
    assert cmd == expected
    assert kind.kube_context("c") == "kind-c"


def _rs() -> dict[str, Any]:
    return {"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": "hello"},
            "spec": {"rayClusterConfig": {"headGroupSpec": {"template": {"spec": {"containers": [{}]}}}}}}


def test_serve_node_port_and_dashboard_service() -> None:
    rs = expose.with_head_label(expose.with_serve_node_port(_rs()))
    svc = rs["spec"]["serveService"]
    assert svc["metadata"]["name"] == "hello-serve-svc"
    assert svc["spec"]["type"] == "NodePort"
    assert svc["spec"]["ports"] == [{"name": "serve", "port": 8000, "targetPort": 8000, "nodePort": 30800,
                                     "protocol": "TCP"}]
    labels = rs["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["metadata"]["labels"]
    dash = expose.dashboard_service("hello", "ns")
    assert dash["metadata"] == {"name": "hello-dashboard-dev", "namespace": "ns",
                                "labels": {"app.kubernetes.io/managed-by": "rayctl", "rayctl.dev/dev-for": "hello"}}
    # the dashboard Service selects exactly the head pods the label goes on
    assert {k: v for k, v in dash["spec"]["selector"].items() if k != "ray.io/node-type"}.items() <= labels.items()
    assert dash["spec"]["ports"][0]["nodePort"] == kind.DASHBOARD_NODE_PORT
    assert "serveService" not in _rs()["spec"]


def test_expose_rejects_non_rayservice() -> None:
    with pytest.raises(InputError):
        expose.with_serve_node_port({"kind": "RayCluster", "spec": {}})


@pytest.mark.parametrize(
    ("present", "env", "missing"),
    [
        ({"docker", "kind", "kubectl"}, {}, []),
        ({"docker", "kubectl"}, {}, ["kind"]),
        (set(), {}, ["docker", "kind", "kubectl"]),
        ({"docker", "kubectl", "/opt/kind"}, {"RAYCTL_KIND": "/opt/kind"}, []),
        ({"docker", "kind", "kubectl"}, {"RAYCTL_KIND": "/nope/kind"}, ["kind"]),
    ],
)
def test_find_tools(present: set[str], env: dict[str, str], missing: list[str]) -> None:
    def which(name: str) -> str | None:
        return (name if name.startswith("/") else f"/usr/bin/{name}") if name in present else None

    names = ["docker", "kind", "kubectl"]
    if not missing:
        found = tools.find_tools(names, which=which, env=env)
        assert set(found) == set(names)
        if env:
            assert found["kind"] == "/opt/kind"
        return
    with pytest.raises(DependencyError) as info:
        tools.find_tools(names, which=which, env=env)
    assert info.value.exit_code == 8
    text = str(info.value)
    for name in missing:
        assert f"{name} (" in text and tools.TOOLS[name].install.split()[0] in text
    for name in set(names) - set(missing):
        assert f"\n  {name} (" not in text


def _operator_source(tmp_path: Path) -> Path:
    rbac, manager = tmp_path / "config" / "rbac", tmp_path / "config" / "manager"
    rbac.mkdir(parents=True)
    manager.mkdir(parents=True)
    docs = {
        "service_account.yaml": {"apiVersion": "v1", "kind": "ServiceAccount",
                                 "metadata": {"name": "kuberay-operator"}},
        "role.yaml": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                      "metadata": {"name": "kuberay-operator"}, "rules": []},
        "role_binding.yaml": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                              "metadata": {"name": "kuberay-operator"},
                              "subjects": [{"kind": "ServiceAccount", "name": "kuberay-operator"}]},
        "leader_election_role.yaml": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                                      "metadata": {"name": "le"}},
        "leader_election_role_binding.yaml": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                                              "metadata": {"name": "le"},
                                              "subjects": [{"kind": "ServiceAccount", "name": "kuberay-operator"}]},
    }
    for f, d in docs.items():
        (rbac / f).write_text(yaml.safe_dump(d))
    (manager / "manager.yaml").write_text(yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "kuberay-operator", "namespace": "system"},
        "spec": {"template": {"spec": {"containers": [{
            "name": "kuberay-operator", "image": "kuberay/operator",
            "resources": {"limits": {"cpu": "100m", "memory": "512Mi"}, "requests": {"cpu": "100m"}}}]}}},
    }))
    return tmp_path


def test_offline_operator_manifests(tmp_path: Path) -> None:
    docs = operator.offline_manifests(_operator_source(tmp_path), "rayctl.local/kuberay-operator:v1.6.2")
    kinds = [d["kind"] for d in docs]
    assert kinds == ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
                     "Deployment"]
    by_kind = {d["kind"]: d for d in docs}
    for k in ("ServiceAccount", "Role", "RoleBinding", "Deployment"):
        assert by_kind[k]["metadata"]["namespace"] == operator.NAMESPACE
    for k in ("ClusterRole", "ClusterRoleBinding", "Namespace"):
        assert "namespace" not in by_kind[k]["metadata"]
    assert by_kind["ClusterRoleBinding"]["subjects"][0]["namespace"] == operator.NAMESPACE
    c = by_kind["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "rayctl.local/kuberay-operator:v1.6.2" and c["imagePullPolicy"] == "IfNotPresent"
    assert c["resources"] == {"limits": {"memory": "512Mi"}, "requests": {"cpu": "100m"}}


def test_offline_operator_manifests_name_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"(?s)role\.yaml.*--operator-source"):
        operator.offline_manifests(tmp_path, "img")


def test_crd_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--crd-dir"):
        operator.crd_files(tmp_path)
    (tmp_path / "ray.io_rayservices.yaml").write_text("x")
    (tmp_path / "ray.io_rayclusters.yaml").write_text("x")
    assert [p.name for p in operator.crd_files(tmp_path)] == ["ray.io_rayclusters.yaml", "ray.io_rayservices.yaml"]


def test_helm_command() -> None:
    cmd = operator.helm_command("helm", kubeconfig="/kc", context="kind-x")
    assert cmd[:5] == ["helm", "upgrade", "--install", "kuberay-operator", "kuberay-operator"]
    assert cmd[cmd.index("--version") + 1] == "1.7.0"
    assert cmd[cmd.index("--repo") + 1] == "https://ray-project.github.io/kuberay-helm/"
    assert cmd[-4:] == ["--kubeconfig", "/kc", "--kube-context", "kind-x"]


def _svc(ns: str, name: str, node_port: int | None, *, dev_for: str | None = None,
         owner: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"namespace": ns, "name": name, "labels": {}}
    if dev_for:
        meta["labels"][expose.DEV_FOR_LABEL] = dev_for
    if owner:
        meta["ownerReferences"] = [{"kind": "RayService", "name": owner}]
    ports = [{"port": 8000}] if node_port is None else [{"port": 8000, "nodePort": node_port}]
    return {"metadata": meta, "spec": {"ports": ports}}


@pytest.mark.parametrize(
    ("services", "stale", "blockers"),
    [
        ([], [], []),
        # our own Services (a re-run) hold the ports: nothing to do
        ([_svc("default", "hello-serve-svc", 30800, owner="hello"),
          _svc("default", "hello-dashboard-dev", 30265, dev_for="hello")], [], []),
        # another spec's dashboard Service: ours to delete
        ([_svc("default", "ab-dashboard-dev", 30265, dev_for="ab")], ["default/ab-dashboard-dev"], []),
        # another RayService's Serve Service: a blocker, named with its owner
        ([_svc("default", "ab-serve-svc", 30800, owner="ab")], [], ["default/ab-serve-svc RayService/ab"]),
        # same name in another namespace is not ours; Services without the node ports are ignored
        ([_svc("other", "hello-serve-svc", 30800), _svc("default", "x", 31000), _svc("default", "y", None)],
         [], ["other/hello-serve-svc None"]),
    ],
)
def test_port_holders(services: list[dict[str, Any]], stale: list[str], blockers: list[str]) -> None:
    got_stale, got_blockers = expose.port_holders(services, "hello", "default")
    assert [f"{h.namespace}/{h.service}" for h in got_stale] == stale
    assert [f"{h.namespace}/{h.service} {h.owner}" for h in got_blockers] == blockers
