"""`rayctl dev up` / `rayctl dev down`: a kind cluster with the KubeRay operator and a spec on its CPU profile.

Every step is idempotent, so `dev up` is re-runnable: an existing cluster is reused, the operator and the spec are
(server-side) applied again, images already on the nodes are not reloaded. External tools run through `Runner`
(subprocess, progress and failures on stderr); everything else is the pure helpers of this package.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rayctl.devloop import code, expose, kind, operator
from rayctl.devloop.apply import Wait
from rayctl.devloop.tools import find_tools
from rayctl.errors import ClusterError, DependencyError, InputError, WaitTimeoutError

Obj = dict[str, Any]


class Runner:
    """Runs the external tools; `log` gets progress lines (stderr in the CLI)."""

    def __init__(self, log: Callable[[str], None], env: dict[str, str] | None = None) -> None:
        self.log = log
        self.env = env

    def run(
        self, cmd: Sequence[str], *, input_text: str | None = None, check: bool = True, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        try:
            proc = subprocess.run(
                list(cmd), input=input_text, capture_output=True, text=True, timeout=timeout, env=self.env, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise WaitTimeoutError(f"`{_short(cmd)}` did not finish within {timeout:g}s") from exc
        except OSError as exc:
            raise DependencyError(f"cannot run `{_short(cmd)}`: {exc}") from exc
        if check and proc.returncode != 0:
            raise failed(proc)
        return proc


def failed(proc: subprocess.CompletedProcess[str]) -> ClusterError:
    """The error for a tool that exited non-zero: its command line and the last 12 lines it printed."""
    tail = "\n    ".join((proc.stderr or proc.stdout).strip().splitlines()[-12:])
    return ClusterError(f"`{_short(proc.args)}` failed (exit {proc.returncode}):\n    {tail}")


def _short(cmd: Sequence[str]) -> str:
    text = " ".join(Path(cmd[0]).name if i == 0 else c for i, c in enumerate(cmd))
    return text if len(text) < 200 else text[:197] + "..."


@dataclass
class UpOptions:
    spec: Path | None = None
    overrides: list[str] = field(default_factory=list)
    cluster: str = kind.DEFAULT_CLUSTER
    kind_config: Path | None = None
    node_image: str | None = None
    operator_image: str | None = None  # offline install from manifests (else the Helm chart)
    operator_source: Path | None = None  # the operator's Go module source (config/rbac, config/manager)
    crd_dir: Path | None = None
    chart_version: str = operator.CHART_VERSION
    images: list[str] = field(default_factory=list)  # loaded into the nodes; the first is the Ray image
    code_dir: Path | None = None
    namespace: str | None = None
    kubeconfig: str | None = None
    serve_port: int = kind.SERVE_PORT
    dashboard_port: int = kind.DASHBOARD_PORT
    isolated: bool = False  # no upstream DNS in the cluster (test traffic stays on the machine)
    timeout_s: float = 600.0


@dataclass
class UpResult:
    cluster: str
    context: str
    kubeconfig: str | None
    created: bool
    name: str | None = None
    namespace: str | None = None
    urls: list[str] = field(default_factory=list)
    dashboard: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


def required_tools(opts: UpOptions) -> list[str]:
    return ["docker", "kind", "kubectl"] + ([] if opts.operator_image else ["helm"])


IMAGE_FIELDS = ("cpuProfile.image", "ray.image")
"""The spec fields that name the image of every Ray pod under the CPU profile (rayctl.profiles)."""


def image_overrides(overrides: Sequence[str], images: Sequence[str]) -> list[str]:
    """`--image` becomes the CPU profile's image (`cpuProfile.image`) unless an override already names one."""
    if not images or any(o.split("=", 1)[0].strip() in IMAGE_FIELDS for o in overrides):
        return list(overrides)
    return [*overrides, f"cpuProfile.image={images[0]}"]


def dev_transform(
    bundle: code.CodeBundle | None, mount_path: str = code.DEFAULT_MOUNT_PATH
) -> Callable[[list[Obj], str], list[Obj]]:
    """The edits `dev up` makes to the rendered objects: code ConfigMap + mount, NodePort Serve and dashboard."""

    def transform(objects: list[Obj], namespace: str) -> list[Obj]:
        out: list[Obj] = []
        extra: list[Obj] = []
        for obj in objects:
            if obj.get("kind") == "RayService":
                name = str(obj["metadata"]["name"])
                if bundle is not None:
                    cm = bundle.configmap(name, namespace)
                    extra.insert(0, cm)
                    obj = code.with_code_configmap(obj, cm["metadata"]["name"], mount_path)
                obj = expose.with_head_label(expose.with_serve_node_port(obj))
                extra.append(expose.dashboard_service(name, namespace))
            out.append(obj)
        configmaps = [o for o in extra if o["kind"] == "ConfigMap"]
        services = [o for o in extra if o["kind"] != "ConfigMap"]
        return configmaps + out + services  # the ConfigMap exists before any pod mounts it

    return transform


class DevLoop:
    def __init__(self, opts: UpOptions, log: Callable[[str], None], runner: Runner | None = None,
                 wait: Wait | None = None) -> None:
        """`wait(cluster, name, timeout_s)` waits for the applied RayService to be Ready (the CLI passes the one
        `rayctl apply --wait` uses); None: do not wait."""
        self.opts = opts
        self.log = log
        self.wait = wait
        self.run = (runner or Runner(log)).run
        self.context = kind.kube_context(opts.cluster)
        self.tools: dict[str, str] = {}

    # ---- kubectl -------------------------------------------------------------------------------------------
    def kubectl(
        self, *args: str, input_text: str | None = None, check: bool = True, attempts: int = 3
    ) -> subprocess.CompletedProcess[str]:
        """kubectl against the dev cluster; every call here is idempotent, so a transient API-server failure (a
        busy laptop or CI machine: timeouts, a restarting apiserver) is retried."""
        cmd = [self.tools["kubectl"], "--context", self.context]
        if self.opts.kubeconfig:
            cmd += ["--kubeconfig", self.opts.kubeconfig]
        for attempt in range(1, attempts + 1):
            proc = self.run([*cmd, *args], input_text=input_text, check=False)
            if proc.returncode == 0 or attempt == attempts or not is_transient(proc.stderr):
                break
            self.log(f"kubectl {args[0]}: transient API error, retrying ({attempt}/{attempts - 1})")
            time.sleep(5 * attempt)
        if check and proc.returncode != 0:
            raise failed(proc)
        return proc

    # ---- steps ---------------------------------------------------------------------------------------------
    def check_tools(self) -> None:
        self.tools = find_tools(required_tools(self.opts))
        info = self.run([self.tools["docker"], "info", "--format", "{{.ServerVersion}}"], check=False, timeout=60)
        if info.returncode != 0:
            raise DependencyError(
                "docker is installed but its daemon is not reachable: "
                + (info.stderr.strip().splitlines() or ["?"])[-1],
                hint="start Docker (or set DOCKER_HOST); hack/kind/dockerd.sh start runs a private one",
            )

    def cluster_exists(self) -> bool:
        out = self.run([self.tools["kind"], "get", "clusters"]).stdout.split()
        return self.opts.cluster in out

    def ensure_cluster(self) -> bool:
        """Create the cluster unless it exists; True when it was created."""
        if self.cluster_exists():
            self.log(f"kind cluster {self.opts.cluster} exists: reusing it")
            self.run(kind.export_kubeconfig_command(self.tools["kind"], self.opts.cluster, self.opts.kubeconfig))
            return False
        path = self.opts.kind_config or kind.default_config_path()
        if path is None:
            raise InputError("no kind config: pass --kind-config (the repository has kind-config.yaml at its root)")
        config = kind.prepare_config(
            kind.load_config(path),
            cluster=self.opts.cluster,
            host_ports={kind.SERVE_NODE_PORT: self.opts.serve_port, kind.DASHBOARD_NODE_PORT: self.opts.dashboard_port},
        )
        import yaml

        with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="rayctl-kind-", delete=False) as f:
            yaml.safe_dump(config, f, sort_keys=False)
        try:
            self.log(f"creating kind cluster {self.opts.cluster} from {path}"
                     + (f" (node image {self.opts.node_image})" if self.opts.node_image else ""))
            command = kind.create_command(self.tools["kind"], self.opts.cluster, Path(f.name), self.opts.kubeconfig,
                                          self.opts.node_image)
            proc = self.run(command, timeout=900, check=False)
            if proc.returncode != 0 and kind.is_boot_race(proc.stderr):
                # kind deletes a cluster that failed to boot; on a loaded machine its node's systemd can lose the
                # race with kubeadm once: a second try usually wins
                self.log("kind create cluster: the node booted too slowly for kubeadm, retrying once")
                proc = self.run(command, timeout=900, check=False)
            if proc.returncode != 0:
                raise failed(proc)
        finally:
            os.unlink(f.name)
        return True

    def configure_cluster(self) -> None:
        # A laptop's kind nodes share its cores: let the control-plane node run Ray pods too.
        self.kubectl("taint", "nodes", "--all", "node-role.kubernetes.io/control-plane:NoSchedule-", check=False)
        if self.opts.isolated:
            cm = json.loads(self.kubectl("-n", "kube-system", "get", "configmap", "coredns", "-o", "json").stdout)
            corefile = cm.get("data", {}).get("Corefile", "")
            isolated = kind.isolate_dns(corefile)
            if isolated != corefile:
                cm["data"]["Corefile"] = isolated
                for k in ("resourceVersion", "uid", "creationTimestamp", "managedFields"):
                    cm["metadata"].pop(k, None)
                self.kubectl("apply", "-f", "-", input_text=json.dumps(cm))
                self.kubectl("-n", "kube-system", "rollout", "restart", "deployment/coredns")
                self.log("CoreDNS: upstream forwarding removed (cluster names only)")
            self.kubectl("-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=180s")

    def load_images(self) -> None:
        images = ([self.opts.operator_image] if self.opts.operator_image else []) + self.opts.images
        if images:
            self.log(f"loading {' '.join(images)} into the nodes (skipped where already present)")
            self.run(kind.load_command(self.tools["kind"], self.opts.cluster, images), timeout=1800)

    def install_operator(self) -> None:
        if self.opts.operator_image:
            crd_dir = self.opts.crd_dir or _env_path("RAYCTL_CRD_DIR")
            if crd_dir is None:
                raise InputError("--operator-image needs the KubeRay CRDs: pass --crd-dir or set $RAYCTL_CRD_DIR")
            crds = operator.stamped(operator.load_crds(operator.crd_files(crd_dir)))
            if self._stamp_of("crd", "rayservices.ray.io") == operator.stamp_of(crds):
                self.log(f"KubeRay CRDs from {crd_dir}: unchanged")
            else:
                self.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-",
                             input_text="\n".join(json.dumps(d) for d in crds))
            source = self.opts.operator_source or operator_source_dir(self.run)
            docs = operator.stamped(operator.offline_manifests(source, self.opts.operator_image))
            deployment = f"deployment/{operator.DEPLOYMENT}"
            if self._stamp_of(deployment, namespace=operator.NAMESPACE) == operator.stamp_of(docs):
                self.log(f"KubeRay operator {self.opts.operator_image}: unchanged")
            else:
                self.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-",
                             input_text="\n".join(json.dumps(d) for d in docs))
                self.log(f"KubeRay operator {self.opts.operator_image} applied from {source}")
        else:
            self.log(f"installing the KubeRay operator chart {operator.CHART} {self.opts.chart_version} with helm")
            self.run(operator.helm_command(self.tools["helm"], version=self.opts.chart_version,
                                           kubeconfig=self.opts.kubeconfig, context=self.context), timeout=900)
        self.kubectl("-n", operator.NAMESPACE, "rollout", "status", f"deployment/{operator.DEPLOYMENT}",
                     f"--timeout={int(self.opts.timeout_s)}s")

    def _stamp_of(self, *ref: str, namespace: str | None = None) -> str | None:
        """The content stamp (operator.STAMP annotation) of a live object, None when it is missing."""
        ns = ["-n", namespace] if namespace else []
        key = operator.STAMP.replace(".", "\\.")  # jsonpath: dots in a key are escaped, slashes are not
        proc = self.kubectl(*ns, "get", *ref, "--ignore-not-found", "-o", f"jsonpath={{.metadata.annotations.{key}}}",
                            check=False)
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def release_node_ports(self, name: str, namespace: str, wait_s: float = 120) -> None:
        """Free the dev node ports for RayService `namespace/name`: delete the dashboard Service an earlier `dev up`
        made for another RayService; wait for a deleted RayService's Serve Service to be garbage-collected; refuse
        (with the command to run) when another live RayService still holds the Serve port."""
        deadline = time.monotonic() + wait_s
        while True:
            items = json.loads(self.kubectl("get", "services", "-A", "-o", "json").stdout).get("items", [])
            stale, blockers = expose.port_holders(items, name, namespace)
            for h in stale:
                self.kubectl("-n", h.namespace, "delete", "service", h.service, "--ignore-not-found")
                self.log(f"released node port {h.node_port}: deleted service {h.namespace}/{h.service}")
            live = [h for h in blockers if h.owner is None or self._rayservice_exists(h.namespace, h.owner)]
            if not live and not blockers:
                return
            if live or time.monotonic() > deadline:
                h = (live or blockers)[0]
                what = f"service {h.namespace}/{h.service}" + (f" of {h.owner}" if h.owner else "")
                fix = (f"rayctl delete {h.owner.split('/', 1)[1]} -n {h.namespace}" if h.owner
                       else f"kubectl delete service {h.service} -n {h.namespace}")
                raise ClusterError(
                    f"node port {h.node_port} (published on the host by kind-config.yaml) is taken by {what}",
                    hint=f"a dev cluster publishes one RayService on the host ports: `{fix}` first",
                )
            time.sleep(3)  # the RayService is gone; its Services follow (garbage collection)

    def _rayservice_exists(self, namespace: str, owner: str) -> bool:
        proc = self.kubectl("-n", namespace, "get", "rayservice", owner.split("/", 1)[1], "--ignore-not-found",
                            "-o", "name", check=False)
        return bool(proc.stdout.strip())

    def prune_code_configmaps(self, name: str, namespace: str, keep: str | None) -> None:
        """Delete this service's old code ConfigMaps that no RayCluster mounts any more."""
        cms = json.loads(self.kubectl("-n", namespace, "get", "configmaps", "-l", f"{code.LABEL_CODE_FOR}={name}",
                                      "-o", "json").stdout).get("items", [])
        clusters = json.loads(self.kubectl("-n", namespace, "get", "rayclusters", "-o", "json").stdout)
        used = {keep} | _configmaps_in(clusters)
        for cm in cms:
            cm_name = cm["metadata"]["name"]
            if cm_name not in used:
                self.kubectl("-n", namespace, "delete", "configmap", cm_name, "--ignore-not-found")
                self.log(f"deleted old code ConfigMap {cm_name}")

    def host_endpoint(self, node_port: int) -> tuple[str, int] | None:
        """Where the host reaches `node_port`: asks Docker for the node containers' published ports (so a reused
        cluster reports the ports it was created with)."""
        nodes = self.run([self.tools["kind"], "get", "nodes", "--name", self.opts.cluster]).stdout.split()
        for node in nodes:
            proc = self.run([self.tools["docker"], "port", node, f"{node_port}/tcp"], check=False)
            endpoint = kind.parse_docker_port(proc.stdout) if proc.returncode == 0 else None
            if endpoint is not None:
                return endpoint
        return None

    # ---- the commands --------------------------------------------------------------------------------------
    def up(self, apply: Callable[..., Any] | None = None) -> UpResult:
        timings: dict[str, float] = {}

        def step(label: str, fn: Callable[[], Any]) -> Any:
            t0 = time.monotonic()
            value = fn()
            timings[label] = round(time.monotonic() - t0, 1)
            return value

        step("tools", self.check_tools)
        created = step("cluster", self.ensure_cluster)
        step("configure", self.configure_cluster)
        step("load-images", self.load_images)
        step("operator", self.install_operator)
        result = UpResult(self.opts.cluster, self.context, self.opts.kubeconfig, created, timings=timings)
        spec = self.opts.spec
        if spec is None:
            return result
        from rayctl.devloop.apply import apply_cpu_profile

        bundle = code.bundle_code(self.opts.code_dir) if self.opts.code_dir else None
        if bundle is not None:
            self.log(f"code: {bundle.package} ({len(bundle.files)} files, {len(bundle.data) / 1024:.0f} KiB zipped) "
                     f"-> ConfigMap, on PYTHONPATH at {code.zip_pythonpath(code.DEFAULT_MOUNT_PATH)}")
        def before_apply(objects: list[Obj], namespace: str) -> None:
            for obj in objects:
                if obj.get("kind") == "RayService":
                    self.release_node_ports(str(obj["metadata"]["name"]), namespace)

        applied = step("apply+ready", lambda: (apply or apply_cpu_profile)(
            spec,
            image_overrides(self.opts.overrides, self.opts.images),
            transform=dev_transform(bundle),
            before_apply=before_apply,
            kubeconfig=self.opts.kubeconfig,
            context=self.context,
            namespace=self.opts.namespace,
            crd_dir=self.opts.crd_dir,
            wait=self.wait,
            timeout_s=self.opts.timeout_s,
            on_line=self.log,
        ))
        keep = bundle.configmap_name(applied.name) if bundle else None
        self.prune_code_configmaps(applied.name, applied.namespace, keep)
        serve, dash = self.host_endpoint(kind.SERVE_NODE_PORT), self.host_endpoint(kind.DASHBOARD_NODE_PORT)
        result.name, result.namespace = applied.name, applied.namespace
        result.urls = [u for u in (kind.url(serve, r) for r in applied.routes) if u]
        result.dashboard = kind.url(dash)
        return result

    def diff(self, diff: Callable[..., Any] | None = None) -> Any:
        """What `up` would change on the existing cluster for the spec (same objects, nothing stored): the
        `workflow.cluster.DiffReport`, whose plan predicts in-place vs new RayCluster."""
        from rayctl.devloop.apply import diff_cpu_profile

        if self.opts.spec is None:
            raise InputError("dev diff needs a SPEC")
        bundle = code.bundle_code(self.opts.code_dir) if self.opts.code_dir else None
        return (diff or diff_cpu_profile)(
            self.opts.spec,
            image_overrides(self.opts.overrides, self.opts.images),
            transform=dev_transform(bundle),
            kubeconfig=self.opts.kubeconfig,
            context=self.context,
            namespace=self.opts.namespace,
            crd_dir=self.opts.crd_dir,
        )

    def down(self) -> bool:
        """Delete the cluster; False when there was none."""
        self.tools = find_tools(["docker", "kind"])
        if not self.cluster_exists():
            self.log(f"kind cluster {self.opts.cluster} does not exist: nothing to delete")
            return False
        self.run(kind.delete_command(self.tools["kind"], self.opts.cluster, self.opts.kubeconfig), timeout=300)
        self.log(f"kind cluster {self.opts.cluster} deleted")
        return True


TRANSIENT = ("Timeout", "timed out", "connection refused", "TLS handshake", "etcdserver",
             "the server is currently unable", "connection reset", "EOF")


def is_transient(stderr: str) -> bool:
    return any(t in stderr for t in TRANSIENT)


def _configmaps_in(rayclusters: Obj) -> set[str]:
    names: set[str] = set()
    for rc in rayclusters.get("items", []):
        spec = rc.get("spec") or {}
        templates = [(spec.get("headGroupSpec") or {}).get("template") or {}]
        templates += [(g.get("template") or {}) for g in spec.get("workerGroupSpecs") or []]
        for t in templates:
            for v in (t.get("spec") or {}).get("volumes") or []:
                if v.get("name") == code.CODE_VOLUME and v.get("configMap"):
                    names.add(str(v["configMap"].get("name")))
    return names


def _env_path(var: str) -> Path | None:
    value = os.environ.get(var)
    return Path(value) if value else None


def operator_source_dir(run: Callable[..., subprocess.CompletedProcess[str]]) -> Path:
    """The operator's module source: $RAYCTL_KUBERAY_SOURCE, else `go mod download` into rayctl's Go cache."""
    env_dir = _env_path("RAYCTL_KUBERAY_SOURCE")
    if env_dir is not None:
        return env_dir
    import shutil

    go = shutil.which("go") or ("/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else None)
    if go is None:
        raise DependencyError(
            "the offline operator install needs the operator's manifests: pass --operator-source DIR "
            f"(the {operator.MODULE}@{operator.MODULE_VERSION} module source) or install Go to download it"
        )
    cache = Path(os.environ.get("RAYCTL_CACHE", Path.home() / ".cache" / "rayctl"))
    env = {**os.environ, "GOMODCACHE": str(cache / "go" / "mod"), "GOFLAGS": "-modcacherw"}
    proc = subprocess.run([go, "mod", "download", "-json", f"{operator.MODULE}@{operator.MODULE_VERSION}"],
                          capture_output=True, text=True, env=env, check=False, timeout=600)
    if proc.returncode != 0:
        raise DependencyError(
            f"go mod download {operator.MODULE}@{operator.MODULE_VERSION} failed: {proc.stderr[-500:]}"
        )
    return Path(json.loads(proc.stdout)["Dir"])
