"""A real kind cluster for tests/kind, driven by `rayctl dev up` itself.

Session fixture `kind_env`:
1. prerequisites (root, Debian's docker.io/debootstrap/iptables/jq, Go): missing -> skip, or fail when CI=true;
2. our own dockerd (hack/kind/dockerd.sh: private socket and data root = the image cache, egress guard);
3. hack/kind/build.sh: binaries, node / operator / Ray CPU images (cached, keyed by pins; minutes cold, seconds
   warm); RAYCTL_KIND_TORCH=1 adds the torch image (`--with-torch`, ~4 GB) and runs the classifier on it instead of
   the serve image's numpy encoder (serve_apps/_minilm.py);
4. yields a `KindEnv`; `env.up(spec, *sets)` runs `rayctl dev up` (the first call creates the cluster);
5. ALWAYS: `rayctl dev down`, then hack/kind/teardown.sh (cluster, containers, dockerd, iptables, mounts, bridges),
   also when a test or the build failed.
Timings (dockerd start -> Ready, cold and warm) go to stderr and to $RAYCTL_CACHE/kind/logs/timings.jsonl.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from rayctl.localrun import free_port
from tests.conftest import ROOT, kuberay_crd_dir, skip_or_fail

KIND_DIR = ROOT / "hack" / "kind"
CACHE = Path(os.environ.get("RAYCTL_CACHE", Path.home() / ".cache" / "rayctl"))
CLUSTER = "rayctl-test"
BUILD_TIMEOUT = int(os.environ.get("RAYCTL_KIND_BUILD_TIMEOUT", "3600"))
UP_TIMEOUT = os.environ.get("RAYCTL_KIND_UP_TIMEOUT", "15m")

# The examples run on their CPU profile as is (rayctl.profiles scales every pod into cpuProfile.budget, default
# 2 CPUs / 8 GiB). The pipeline gets a smaller CPU budget: during a rayClusterConfig upgrade KubeRay runs the old and
# the new RayCluster side by side, and both must fit the kind nodes (EXTRA_WORKERS below) next to Kubernetes' pods.
PIPELINE_SETS = ("cpuProfile.budget.cpu=1400m",)

# The repository's kind-config.yaml plus one more worker node. Every kind node advertises all the host's CPUs, so on
# a 2-core CI host the two nodes of the default config (4 nominal CPUs, ~1.1 of them taken by the control plane's
# pods) cannot hold the old and the new pipeline RayCluster side by side during a rayClusterConfig upgrade; on an
# 8-core laptop they can. The extra node costs memory (~0.3 GiB), not CPU time.
EXTRA_WORKERS = 1


def kind_config_with_extra_workers(path: Path) -> Path:
    config = yaml.safe_load((ROOT / "kind-config.yaml").read_text())
    workers = [n for n in config["nodes"] if n["role"] == "worker"]
    assert workers, "kind-config.yaml has no worker node to copy"
    config["nodes"] += [copy.deepcopy(workers[-1]) for _ in range(EXTRA_WORKERS)]  # no YAML anchors
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


MEASURED: list[str] = []
"""The LOAD and TIMING lines of the session: pytest shows a passing test's stderr nowhere, so the terminal summary
prints them (success ratios and timings are what the suite measures, also when everything passed)."""


def log(msg: str) -> None:
    sys.stderr.write(f"[kind] {msg}\n")
    sys.stderr.flush()
    if msg.startswith(("LOAD ", "TIMING ")):
        MEASURED.append(msg)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if MEASURED:
        terminalreporter.section("kind: measured")
        for line in MEASURED:
            terminalreporter.write_line(line)


@dataclass
class KindEnv:
    images: dict[str, str]
    kubeconfig: Path
    workdir: Path
    serve_port: int
    dashboard_port: int
    env: dict[str, str]
    kind_config: Path
    dockerd_started_at: float
    timings: list[dict[str, Any]] = field(default_factory=list)
    cluster: str = CLUSTER

    @property
    def context(self) -> str:
        return f"kind-{self.cluster}"

    def rayctl(self, *args: str, timeout: float = 1800, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "rayctl", *args], capture_output=True, text=True,
                              env=self.env, cwd=ROOT, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            pytest.fail(f"rayctl {' '.join(args[:3])} failed (exit {proc.returncode}):\n{proc.stderr[-6000:]}")
        return proc

    def kubectl(self, *args: str, timeout: float = 300, check: bool = True,
                input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([self.images["KUBECTL"], "--kubeconfig", str(self.kubeconfig), "--context", self.context,
                               *args], capture_output=True, text=True, env=self.env, timeout=timeout, check=False,
                              input=input_text)
        if check and proc.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)} failed: {proc.stderr[-3000:]}")
        return proc

    def up(
        self, spec: Path, *sets: str, images: tuple[str, ...] = (), label: str = ""
    ) -> subprocess.CompletedProcess[str]:
        """`rayctl dev up SPEC` with the offline operator, the local images (the first is ray.image; default: the
        serve CPU image) and this env's ports."""
        args = ["dev", "up", str(spec), "--name", self.cluster, "--kubeconfig", str(self.kubeconfig),
                "--kind-config", str(self.kind_config),
                "--node-image", self.images["NODE_IMAGE"], "--operator-image", self.images["OPERATOR_IMAGE"],
                "--operator-source", self.images["OPERATOR_SOURCE"], "--crd-dir", str(kuberay_crd_dir()),
                "--code", str(ROOT / "serve_apps"),
                "--serve-port", str(self.serve_port), "--dashboard-port", str(self.dashboard_port),
                "--isolated", "--timeout", UP_TIMEOUT]
        for image in images or (self.images["RAY_IMAGE"],):
            args += ["--image", image]
        for s in sets:
            args += ["--set", s]
        t0 = time.monotonic()
        proc = self.rayctl(*args)
        took = time.monotonic() - t0
        record = {"step": f"dev up {spec.name}{' ' + label if label else ''}", "seconds": round(took, 1),
                  "since_dockerd_start": round(time.monotonic() - self.dockerd_started_at, 1),
                  "dev_timings": _dev_timings(proc.stderr)}
        self.timings.append(record)
        log(f"TIMING {json.dumps(record)}")
        return proc


def _dev_timings(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if "ready (context" in ln]
    return lines[-1].split("; ", 1)[-1].rstrip(")") if lines else ""


def _prerequisites() -> list[str]:
    missing = []
    if os.geteuid() != 0:
        missing.append("root (dockerd, iptables)")
    for tool, pkg in (("dockerd", "docker.io"), ("debootstrap", "debootstrap"), ("iptables", "iptables"),
                      ("jq", "jq"), ("gcc", "gcc")):
        if shutil.which(tool) is None:
            missing.append(f"{tool} (Debian package {pkg}: hack/kind/install-deps.sh)")
    if shutil.which("go") is None and not os.access("/usr/local/go/bin/go", os.X_OK):
        missing.append("go >= 1.26 (/usr/local/go/bin)")
    if not (kuberay_crd_dir() / "ray.io_rayservices.yaml").is_file():
        missing.append(f"KubeRay CRDs in {kuberay_crd_dir()} (set RAYCTL_KUBERAY_CRDS)")
    return missing


def _run_logged(cmd: list[str], logfile: Path, timeout: float, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    with logfile.open("w") as f:
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, text=True, timeout=timeout, env=env,
                              check=False, cwd=ROOT)
    return proc


@pytest.fixture(scope="session")
def kind_env() -> Iterator[KindEnv]:
    missing = _prerequisites()
    if missing:
        skip_or_fail(f"kind suite prerequisites missing: {'; '.join(missing)}")
    # not pytest's tmp_path: other pytest runs on the machine rotate /tmp/pytest-of-<user> and would delete the
    # kubeconfig and the teardown log under a running session
    workdir = Path(tempfile.mkdtemp(prefix="rayctl-kind-"))
    logs = CACHE / "kind" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DOCKER_HOST": f"unix://{CACHE}/kind/run/docker.sock", "DOCKER_BUILDKIT": "0",
           "PYTHONPATH": str(ROOT), "RAYCTL_CRD_DIR": str(kuberay_crd_dir())}
    env["PATH"] = os.pathsep.join(["/usr/local/go/bin", env.get("PATH", "")])
    t_dockerd = time.monotonic()
    try:
        proc = _run_logged(["bash", str(KIND_DIR / "dockerd.sh"), "start"], workdir / "dockerd-start.log", 120, env)
        if proc.returncode != 0:
            pytest.fail(f"dockerd did not start: {(workdir / 'dockerd-start.log').read_text()[-3000:]}")
        t0 = time.monotonic()
        build = ["bash", str(KIND_DIR / "build.sh")]
        if os.environ.get("RAYCTL_KIND_TORCH", "0") == "1":  # opt-in: the classifier on torch (~4 GB image)
            build.append("--with-torch")
        proc = _run_logged(build, logs / "build.log", BUILD_TIMEOUT, env)
        if proc.returncode != 0:
            pytest.fail(f"hack/kind/build.sh failed (log {logs / 'build.log'}):\n"
                        f"{(logs / 'build.log').read_text()[-4000:]}")
        log(f"TIMING build (cached images are seconds) {time.monotonic() - t0:.0f}s")
        env_file = (CACHE / "kind" / "images.env").read_text()
        images = dict(line.split("=", 1) for line in env_file.splitlines() if "=" in line)
        for tool in ("KIND", "KUBECTL"):
            env["PATH"] = os.pathsep.join([str(Path(images[tool]).parent), env["PATH"]])
        kenv = KindEnv(images=images, kubeconfig=workdir / "kubeconfig", workdir=workdir, serve_port=free_port(),
                       dashboard_port=free_port(), env=env, dockerd_started_at=t_dockerd,
                       kind_config=kind_config_with_extra_workers(workdir / "kind-config.yaml"))
        yield kenv
        with (logs / "timings.jsonl").open("a") as f:
            for t in kenv.timings:
                f.write(json.dumps({"at": time.strftime("%Y-%m-%dT%H:%M:%S"), **t}) + "\n")
    finally:
        down = subprocess.run([sys.executable, "-m", "rayctl", "dev", "down", "--name", CLUSTER, "--kubeconfig",
                               str(workdir / "kubeconfig")], capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=600, check=False)
        log(f"dev down: exit {down.returncode} {down.stderr.strip()[-300:]}")
        td = _run_logged(["bash", str(KIND_DIR / "teardown.sh")], workdir / "teardown.log", 600, env)
        text = (workdir / "teardown.log").read_text()
        log(f"teardown: exit {td.returncode}\n{text[-2000:]}")
        shutil.rmtree(workdir, ignore_errors=True)
        if td.returncode != 0:
            pytest.fail(f"hack/kind/teardown.sh left something behind:\n{text[-2000:]}")
