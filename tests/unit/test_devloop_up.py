"""rayctl.devloop.up and `rayctl dev`: the orchestration against a fake runner (no docker, no kind)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rayctl.devloop import code, up
from rayctl.devloop.apply import Applied
from tests.conftest import ROOT, kuberay_crd_dir


class FakeRunner(up.Runner):
    """Answers the commands `DevLoop` runs from a table; records every call."""

    def __init__(self, clusters: list[str], kubectl_json: dict[str, Any] | None = None,
                 create_failures: list[str] | None = None) -> None:
        super().__init__(log=lambda _: None)
        self.clusters = clusters
        self.create_failures = list(create_failures or [])  # stderr of each failing `kind create cluster`, in order
        self.kubectl_json = kubectl_json or {}
        self.calls: list[list[str]] = []
        self.stdin: list[str] = []

    def run(self, cmd: Sequence[str], *, input_text: str | None = None, check: bool = True,
            timeout: float = 900) -> subprocess.CompletedProcess[str]:
        cmd = list(cmd)
        self.calls.append(cmd)
        if input_text is not None:
            self.stdin.append(input_text)
        name = Path(cmd[0]).name
        out = ""
        if name == "kind" and cmd[1:3] == ["get", "clusters"]:
            out = "\n".join(self.clusters)
        elif name == "kind" and cmd[1:3] == ["create", "cluster"] and self.create_failures:
            return subprocess.CompletedProcess(cmd, 1, "", self.create_failures.pop(0))
        elif name == "kind" and cmd[1:3] == ["get", "nodes"]:
            out = "rayctl-control-plane\nrayctl-worker\n"
        elif name == "docker" and cmd[1] == "port":
            out = "127.0.0.1:18000\n" if cmd[3] == "30800/tcp" else "127.0.0.1:18265\n"
        elif name == "kubectl" and "-o" in cmd and cmd[cmd.index("-o") + 1] == "json":
            kind = cmd[cmd.index("get") + 1]
            out = json.dumps(self.kubectl_json.get(kind, {"items": []}))
        return subprocess.CompletedProcess(cmd, 0, out, "")

    def tool_calls(self, tool: str) -> list[list[str]]:
        return [c[1:] for c in self.calls if Path(c[0]).name == tool]


@pytest.fixture
def tools_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for t in ("docker", "kind", "kubectl", "helm"):
        p = tmp_path / t
        p.write_text("#!/bin/sh\nexit 0\n")
        p.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))


@pytest.mark.parametrize(
    ("overrides", "images", "expected"),
    [
        ([], [], []),
        ([], ["r:1", "x:2"], ["cpuProfile.image=r:1"]),
        (["ray.image=mine:1"], ["r:1"], ["ray.image=mine:1"]),
        (["cpuProfile.image=mine:1"], ["r:1"], ["cpuProfile.image=mine:1"]),
        (["head.cpu=1"], ["r:1"], ["head.cpu=1", "cpuProfile.image=r:1"]),
    ],
)
def test_image_overrides(overrides: list[str], images: list[str], expected: list[str]) -> None:
    assert up.image_overrides(overrides, images) == expected


def test_dev_transform_orders_configmap_first_and_edits_the_rayservice() -> None:
    from rayctl.render import render
    from rayctl.spec import load_spec

    rendered = render(load_spec(ROOT / "manifests" / "examples" / "hello.yaml"), profile="cpu")
    bundle = code.bundle_code(ROOT / "serve_apps")
    objects = up.dev_transform(bundle)(rendered.objects, "dev")
    assert [o["kind"] for o in objects] == ["ConfigMap", "RayService", "Service"]
    cm, rs, svc = objects
    assert cm["metadata"]["name"] == bundle.configmap_name("hello") and cm["metadata"]["namespace"] == "dev"
    head = rs["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]
    assert {"name": code.CODE_VOLUME, "configMap": {"name": cm["metadata"]["name"]}} in head["spec"]["volumes"]
    assert rs["spec"]["serveService"]["spec"]["type"] == "NodePort"
    assert svc["metadata"]["name"] == "hello-dashboard-dev"
    assert [o["kind"] for o in up.dev_transform(None)(rendered.objects, "dev")] == ["RayService", "Service"]


def _opts(**kw: Any) -> up.UpOptions:
    base: dict[str, Any] = dict(operator_image="op:1", operator_source=None,
                                crd_dir=kuberay_crd_dir(), images=["ray:1"], kubeconfig="/kc")
    base.update(kw)
    return up.UpOptions(**base)


def test_up_reuses_an_existing_cluster_and_installs_offline(tools_on_path: None, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    src = Path(__file__).parent / "test_devloop_kind.py"  # any file: offline_manifests is patched below
    monkeypatch.setattr(up.operator, "offline_manifests",
                        lambda source, image: [{"kind": "Deployment", "image": image}])
    monkeypatch.setattr(up.operator, "crd_files", lambda d: [Path("/crds/a.yaml"), Path("/crds/b.yaml")])
    monkeypatch.setattr(up.operator, "load_crds", lambda files: [{"kind": "CustomResourceDefinition",
                                                                 "metadata": {"name": f.name}} for f in files])
    runner = FakeRunner(clusters=["rayctl"])
    loop = up.DevLoop(_opts(operator_source=src.parent, isolated=False), log=lambda _: None, runner=runner)
    result = loop.up()
    assert result.created is False and result.name is None
    kind_calls = runner.tool_calls("kind")
    assert ["get", "clusters"] in kind_calls
    assert not any(c[:2] == ["create", "cluster"] for c in kind_calls)
    assert ["export", "kubeconfig", "--name", "rayctl", "--kubeconfig", "/kc"] in kind_calls
    assert ["load", "docker-image", "--name", "rayctl", "op:1", "ray:1"] in kind_calls
    kubectl = runner.tool_calls("kubectl")
    assert all(c[:4] == ["--context", "kind-rayctl", "--kubeconfig", "/kc"] for c in kubectl)
    verbs = [c[4:] for c in kubectl]
    applies = [v for v in verbs if v[:4] == ["apply", "--server-side", "--force-conflicts", "-f"]]
    assert len(applies) == 2  # the stamped CRDs, then the operator's manifests (no live stamps to match)
    crds = [json.loads(line) for line in runner.stdin[0].splitlines()]
    assert [d["metadata"]["name"] for d in crds] == ["a.yaml", "b.yaml"]
    assert {d["metadata"]["annotations"][up.operator.STAMP] for d in crds} == {up.operator.stamp_of(crds)}
    assert ["-n", "kuberay-system", "rollout", "status", "deployment/kuberay-operator", "--timeout=600s"] in verbs
    assert not runner.tool_calls("helm")


def test_up_creates_the_cluster_isolated_and_applies_the_spec(tools_on_path: None,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(up.operator, "offline_manifests", lambda source, image: [])
    monkeypatch.setattr(up.operator, "crd_files", lambda d: [Path("/crds/a.yaml")])
    monkeypatch.setattr(up.operator, "load_crds", lambda files: [])
    corefile = ".:53 {\n    forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }\n    cache 30\n}\n"
    old_cm = {"metadata": {"name": "hello-code-000000000000"}}
    old_dashboard = {"metadata": {"namespace": "default", "name": "ab-dashboard-dev",
                                  "labels": {"rayctl.dev/dev-for": "ab"}},
                     "spec": {"ports": [{"port": 8265, "nodePort": 30265}]}}
    runner = FakeRunner(clusters=[], kubectl_json={
        "configmap": {"metadata": {"name": "coredns"}, "data": {"Corefile": corefile}},
        "configmaps": {"items": [old_cm]},
        "rayclusters": {"items": []},
        "services": {"items": [old_dashboard]},
    })
    seen: dict[str, Any] = {}

    def fake_apply(spec: Path, overrides: list[str], **kw: Any) -> Applied:
        from rayctl.render import render
        from rayctl.spec import load_spec

        seen.update(spec=spec, overrides=overrides, **kw)
        objects = kw["transform"](render(load_spec(spec, overrides), profile="cpu").objects, "default")
        seen["kinds"] = [o["kind"] for o in objects]
        kw["before_apply"](objects, "default")
        return Applied(name="hello", namespace="default", routes=["/hello"], lines=[])

    opts = _opts(spec=ROOT / "manifests/examples/hello.yaml", overrides=["head.cpu=500m"], operator_source=ROOT,
                 code_dir=ROOT / "serve_apps", isolated=True, serve_port=18000)
    result = up.DevLoop(opts, log=lambda _: None, runner=runner).up(apply=fake_apply)
    assert result.created is True
    create = next(c for c in runner.tool_calls("kind") if c[:2] == ["create", "cluster"])
    assert create[create.index("--name") + 1] == "rayctl" and "--image" not in create
    coredns_apply = next(c for c in runner.calls if "apply" in c and "-f" in c and c[-1] == "-")
    assert coredns_apply  # the isolated Corefile went back to the cluster
    assert seen["overrides"] == ["head.cpu=500m", "cpuProfile.image=ray:1"]
    assert seen["crd_dir"] == opts.crd_dir and seen["wait"] is None
    assert seen["context"] == "kind-rayctl" and seen["kubeconfig"] == "/kc"
    assert result.urls == ["http://127.0.0.1:18000/hello"] and result.dashboard == "http://127.0.0.1:18265/"
    assert seen["kinds"] == ["ConfigMap", "RayService", "Service"]
    deleted = [c[c.index("delete") + 1:] for c in runner.tool_calls("kubectl") if "delete" in c]
    # the other spec's dashboard Service gave the node port back; the old code ConfigMap was pruned
    assert deleted == [["service", "ab-dashboard-dev", "--ignore-not-found"],
                       ["configmap", "hello-code-000000000000", "--ignore-not-found"]]
    assert set(result.timings) == {"tools", "cluster", "configure", "load-images", "operator", "apply+ready"}


def test_a_live_rayservice_on_the_serve_port_is_refused_with_the_fix(tools_on_path: None) -> None:
    other = {"metadata": {"namespace": "default", "name": "ab-serve-svc",
                          "ownerReferences": [{"kind": "RayService", "name": "ab"}]},
             "spec": {"ports": [{"port": 8000, "nodePort": 30800}]}}

    class Live(FakeRunner):
        def run(self, cmd: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[str]:
            if "rayservice" in cmd:  # `get rayservice ab`: it still exists
                return subprocess.CompletedProcess(list(cmd), 0, "rayservice.ray.io/ab\n", "")
            return super().run(cmd, **kw)

    loop = up.DevLoop(_opts(), log=lambda _: None, runner=Live(clusters=["rayctl"],
                                                                kubectl_json={"services": {"items": [other]}}))
    loop.tools = {"kubectl": "kubectl"}
    with pytest.raises(up.ClusterError) as info:
        loop.release_node_ports("hello", "default")
    assert "30800" in str(info.value) and "rayctl delete ab -n default" in str(info.value)


@pytest.mark.parametrize(
    ("stderr", "transient"),
    [("Error from server (Timeout): Timeout: request did not complete", True),
     ("The connection to the server 127.0.0.1:4242 was refused - did you specify the right host or port?", False),
     ("dial tcp 127.0.0.1:4242: connect: connection refused", True),
     ('Error from server (NotFound): rayservices.ray.io "x" not found', False)],
)
def test_transient_kubectl_errors(stderr: str, transient: bool) -> None:
    assert up.is_transient(stderr) is transient


def test_kubectl_retries_transient_errors_only(tools_on_path: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(up.time, "sleep", lambda s: None)

    class Flaky(FakeRunner):
        def __init__(self, errors: list[str]) -> None:
            super().__init__(clusters=[])
            self.errors = errors

        def run(self, cmd: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[str]:
            self.calls.append(list(cmd))
            if self.errors:
                return subprocess.CompletedProcess(list(cmd), 1, "", self.errors.pop(0))
            return subprocess.CompletedProcess(list(cmd), 0, "ok", "")

    flaky = Flaky(["Error from server (Timeout): Timeout", "etcdserver: request timed out"])
    loop = up.DevLoop(_opts(), log=lambda _: None, runner=flaky)
    loop.tools = {"kubectl": "kubectl"}
    assert loop.kubectl("get", "nodes").stdout == "ok" and len(flaky.calls) == 3
    hard = Flaky(['Error from server (Forbidden): nodes is forbidden'])
    loop = up.DevLoop(_opts(), log=lambda _: None, runner=hard)
    loop.tools = {"kubectl": "kubectl"}
    with pytest.raises(up.ClusterError, match="Forbidden"):
        loop.kubectl("get", "nodes")
    assert len(hard.calls) == 1


def test_unchanged_operator_is_not_applied_again(tools_on_path: None, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = [{"kind": "Deployment", "metadata": {"name": "kuberay-operator"}}]
    crds = [{"kind": "CustomResourceDefinition", "metadata": {"name": "rayservices.ray.io"}}]
    monkeypatch.setattr(up.operator, "offline_manifests", lambda source, image: docs)
    monkeypatch.setattr(up.operator, "crd_files", lambda d: [Path("/crds/a.yaml")])
    monkeypatch.setattr(up.operator, "load_crds", lambda files: crds)

    class Stamped(FakeRunner):
        def run(self, cmd: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[str]:
            if any(str(c).startswith("jsonpath={.metadata.annotations.rayctl\\.dev/content-sha256}") for c in cmd):
                live = crds if "crd" in cmd else docs
                self.calls.append(list(cmd))
                return subprocess.CompletedProcess(list(cmd), 0, up.operator.stamp_of(live), "")
            return super().run(cmd, **kw)

    runner = Stamped(clusters=["rayctl"])
    up.DevLoop(_opts(operator_source=ROOT), log=lambda _: None, runner=runner).up()
    assert not [c for c in runner.tool_calls("kubectl") if "apply" in c]


def test_down_is_idempotent(tools_on_path: None) -> None:
    runner = FakeRunner(clusters=[])
    assert up.DevLoop(up.UpOptions(), log=lambda _: None, runner=runner).down() is False
    runner = FakeRunner(clusters=["rayctl"])
    assert up.DevLoop(up.UpOptions(), log=lambda _: None, runner=runner).down() is True
    assert ["delete", "cluster", "--name", "rayctl"] in runner.tool_calls("kind")


def test_cli_missing_tools_exit_8(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from rayctl.cli import dev_cmd  # noqa: F401  (registers `dev`)
    from rayctl.cli.app import app

    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    result = CliRunner().invoke(app, ["dev", "up", "--operator-image", "op:1"])
    assert result.exit_code != 0
    assert isinstance(result.exception, up.DependencyError) and result.exception.exit_code == 8
    msg = str(result.exception)
    for tool in ("docker", "kind", "kubectl"):
        assert f"{tool} (" in msg
    assert "helm" not in msg  # not needed with --operator-image


def test_main_exit_code_for_missing_tools(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    from rayctl.cli import main

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "argv", ["rayctl", "dev", "up"])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 8


# ---- apply_cpu_profile: the workflow road (render with the CPU profile -> dev edits -> validate -> SSA)


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> Any:
    from rayctl.k8s.cluster import Cluster
    from rayctl.workflow import cluster as wf_cluster
    from tests.unit.test_k8s_cluster import FakeApiServer

    class Reads:
        """kr8s reads answered from the fake server's stored objects."""

        def get(self, cls: Any, *names: str, namespace: str | None = None, **kw: Any) -> list[dict[str, Any]]:
            kind = getattr(cls, "kind", None)
            return [o for o in server.objects.values() if o["metadata"]["name"] in names
                    and (kind is None or o.get("kind") == kind) and o["metadata"].get("namespace") == namespace]

    server = FakeApiServer()
    server.namespaces.add("default")
    monkeypatch.setattr(wf_cluster, "connect", lambda target, default_namespace=None: Cluster(
        api_client=server, namespace=target.namespace or default_namespace or "default", server="https://fake",
        kr8s_factory=Reads))
    return server


def test_apply_cpu_profile_takes_the_workflow_road(fake_server: Any) -> None:
    from rayctl.devloop.apply import apply_cpu_profile

    bundle = code.bundle_code(ROOT / "serve_apps")
    order: list[str] = []
    waited: list[tuple[str, float]] = []
    applied = apply_cpu_profile(
        ROOT / "manifests/examples/llama-70b-tp4.yaml", ["cpuProfile.image=rayctl.local/ray-cpu:2.60.0-deps-0123abcd"],
        transform=up.dev_transform(bundle), before_apply=lambda objs, ns: order.append(f"before {len(objs)} {ns}"),
        kubeconfig=None, context=None, namespace="default", crd_dir=kuberay_crd_dir(),
        wait=lambda cluster, name, timeout: waited.append((name, timeout)), timeout_s=60, on_line=order.append,
    )  # fmt: skip
    assert applied.namespace == "default" and waited == [(applied.name, 60)]
    patched = [path for method, path, _ in fake_server.calls if method == "PATCH"]
    assert [p.split("/")[-2] for p in patched] == ["configmaps", "rayservices", "services"]
    order = [line for line in order if "Serve schema not checked: ray is not installed" not in line]  # env-core
    assert order[0] == "before 3 default" and len(order) == 4, order  # no warnings; one line per applied object
    rs = next(o for p, o in fake_server.objects.items() if "/rayservices/" in p)
    text = json.dumps(rs)
    # the GPU example on its CPU profile: no accelerators, the CPU image everywhere, the code mounted
    assert "nvidia.com/gpu" not in text and "rayproject/ray-llm" not in text
    assert "rayctl.local/ray-cpu:2.60.0-deps-0123abcd" in text
    head = rs["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]
    assert {"name": code.CODE_VOLUME, "configMap": {"name": bundle.configmap_name(applied.name)}} in head["volumes"]


def test_apply_cpu_profile_checks_the_dev_edits_before_sending_anything(fake_server: Any) -> None:
    from rayctl.devloop.apply import apply_cpu_profile
    from rayctl.workflow import InvalidError

    def broken(objects: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
        for o in objects:
            if o["kind"] == "RayService":
                o["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["replicas"] = "many"
        return objects

    with pytest.raises(InvalidError):
        apply_cpu_profile(ROOT / "manifests/examples/hello.yaml", [], transform=broken, kubeconfig=None,
                          context=None, namespace="default", crd_dir=kuberay_crd_dir(),
                          timeout_s=60, on_line=lambda _: None)
    assert not [c for c in fake_server.calls if c[0] == "PATCH"]


@pytest.mark.parametrize(
    ("change", "rollout", "new_cluster"),
    [
        ([], "none", False),
        (["serve.applications[0].summarySentences=3"], "in_place", False),  # serveConfigV2 only
        (["ray.env.RAYCTL_REVISION=2"], "new_cluster", True),  # the Ray containers' env: rayClusterConfig
    ],
)
def test_dev_diff_sees_the_dev_edits_as_unchanged_and_predicts_the_rollout(
    fake_server: Any, change: list[str], rollout: str, new_cluster: bool
) -> None:
    from rayctl.devloop.apply import apply_cpu_profile, diff_cpu_profile

    spec, sets = ROOT / "manifests/examples/pipeline.yaml", ["cpuProfile.image=rayctl.local/ray-cpu:2.60.0-deps-0"]
    transform = up.dev_transform(code.bundle_code(ROOT / "serve_apps"))
    common: dict[str, Any] = dict(kubeconfig=None, context=None, namespace="default", crd_dir=kuberay_crd_dir())
    apply_cpu_profile(spec, sets, transform=transform, timeout_s=1, on_line=lambda _: None, **common)
    report = diff_cpu_profile(spec, sets + change, transform=transform, **common)
    assert report.plan is not None
    assert (report.plan.rollout, report.plan.new_cluster, report.changed) == (rollout, new_cluster, bool(change))
    # the code ConfigMap and the NodePort Services are the same objects again: never part of the change
    assert [o.kind for o in report.objects if o.diff] == (["RayService"] if change else [])


def test_cli_dev_diff_passes_the_dev_objects_and_exits_1_on_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    from rayctl.cli import dev_cmd  # noqa: F401  (registers `dev`)
    from rayctl.cli.app import app
    from rayctl.devloop import apply as dev_apply
    from rayctl.plan import Plan
    from rayctl.render import render
    from rayctl.spec import load_spec
    from rayctl.workflow.cluster import DiffReport, ObjectDiff

    seen: dict[str, Any] = {}

    def fake_diff(spec: Path, overrides: list[str], **kw: Any) -> DiffReport:
        seen.update(spec=spec, overrides=overrides, **kw)
        rendered = render(load_spec(spec), profile="cpu")
        seen["kinds"] = [o["kind"] for o in kw["transform"](rendered.objects, "default")]
        plan = Plan(name="hello", namespace="default", exists=True, changed=True, rollout="new_cluster",
                    new_cluster=True)
        return DiffReport(objects=[ObjectDiff("rayservice/hello", "RayService", "hello", {}, {}, "-a\n+b\n")],
                          plan=plan)

    monkeypatch.setattr(dev_apply, "diff_cpu_profile", fake_diff)
    result = CliRunner().invoke(app, ["dev", "diff", str(ROOT / "manifests/examples/hello.yaml"), "--image", "r:1",
                                      "--set", "ray.env.X=1", "--code", str(ROOT / "serve_apps"), "-o", "json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["plan"]["rollout"] == "new_cluster" and data["objects"][0]["changed"] is True
    assert seen["overrides"] == ["ray.env.X=1", "cpuProfile.image=r:1"] and seen["context"] == "kind-rayctl"
    assert seen["kinds"] == ["ConfigMap", "RayService", "Service"]  # the same objects dev up applies


@pytest.mark.parametrize(("failures", "creates", "error"), [
    (["ERROR: failed to create cluster: failed to init node with kubeadm: ... failed to reload systemd"], 2, None),
    (["ERROR: failed to create cluster: failed to reload systemd", "ERROR: failed to reload systemd"], 2,
     "failed to reload systemd"),
    (["ERROR: failed to create cluster: image not present locally"], 1, "image not present locally"),
], ids=["boot-race-retried-once", "second-race-reported", "other-errors-not-retried"])
def test_kind_create_retries_its_node_boot_race_once(tools_on_path: None, failures: list[str], creates: int,
                                                     error: str | None) -> None:
    from rayctl.errors import ClusterError

    runner = FakeRunner(clusters=[], create_failures=failures)
    loop = up.DevLoop(_opts(), log=lambda _: None, runner=runner)
    loop.tools = {"kind": "kind", "kubectl": "kubectl", "docker": "docker", "helm": "helm"}
    if error is None:
        assert loop.ensure_cluster() is True
    else:
        with pytest.raises(ClusterError, match=error):
            loop.ensure_cluster()
    assert sum(c[:2] == ["create", "cluster"] for c in runner.tool_calls("kind")) == creates
