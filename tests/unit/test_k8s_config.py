"""kubectl conventions of rayctl.k8s.connect: --kubeconfig, $KUBECONFIG, --context, -n, the context's namespace,
in-cluster config. connect() does not talk to the server, so no cluster is needed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rayctl.errors import ClusterError
from rayctl.k8s import cluster as cluster_mod
from rayctl.k8s.cluster import Target, connect


def kubeconfig(path: Path, *, ns_a: str | None = "team-a") -> Path:
    ctx_a: dict[str, str] = {"cluster": "c", "user": "u"}
    if ns_a:
        ctx_a["namespace"] = ns_a
    data = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "c", "cluster": {"server": "https://10.1.2.3:6443", "insecure-skip-tls-verify": True}},
            {"name": "d", "cluster": {"server": "https://10.9.9.9:6443", "insecure-skip-tls-verify": True}},
        ],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [
            {"name": "a", "context": ctx_a},
            {"name": "b", "context": {"cluster": "d", "user": "u", "namespace": "team-b"}},
        ],
        "current-context": "a",
    }
    path.write_text(yaml.safe_dump(data))
    return path


def test_namespace_resolution(tmp_path: Path) -> None:
    kc = str(kubeconfig(tmp_path / "kc"))
    assert connect(Target(kubeconfig=kc)).namespace == "team-a"  # the context's namespace
    assert connect(Target(kubeconfig=kc), default_namespace="spec-ns").namespace == "spec-ns"  # the spec's
    assert connect(Target(kubeconfig=kc, namespace="flag"), default_namespace="spec-ns").namespace == "flag"
    c = connect(Target(kubeconfig=kc, context="b"))
    assert c.namespace == "team-b" and c.server == "https://10.9.9.9:6443"
    kc2 = str(kubeconfig(tmp_path / "kc2", ns_a=None))
    assert connect(Target(kubeconfig=kc2)).namespace == "default"


def test_kubeconfig_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kc = kubeconfig(tmp_path / "kc")
    monkeypatch.setenv("KUBECONFIG", str(kc))
    assert connect(Target()).server == "https://10.1.2.3:6443"


def test_unknown_context_and_missing_file(tmp_path: Path) -> None:
    kc = str(kubeconfig(tmp_path / "kc"))
    with pytest.raises(ClusterError) as info:
        connect(Target(kubeconfig=kc, context="nope"))
    assert "nope" in info.value.message and "\n" not in info.value.message
    with pytest.raises(ClusterError) as info:
        connect(Target(kubeconfig=str(tmp_path / "missing")))
    assert info.value.message == f"kubeconfig {tmp_path / 'missing'} does not exist"


def test_no_config_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ClusterError) as info:
        connect(Target())
    assert "no Kubernetes configuration" in info.value.message
    assert "--kubeconfig" in (info.value.hint or "")


def test_in_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kubernetes.config import incluster_config

    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("tok")
    (sa / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    (sa / "namespace").write_text("pod-ns\n")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setattr(cluster_mod, "SA_NAMESPACE_FILE", str(sa / "namespace"))
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(sa / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(sa / "ca.crt"))
    c = connect(Target())
    assert c.server == "https://10.96.0.1:443"
    assert c.namespace == "pod-ns"
    assert connect(Target(namespace="x")).namespace == "x"
