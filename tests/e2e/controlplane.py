"""A real, local Kubernetes control plane for e2e tests (no fakes apart from kwok's simulated nodes).

Processes, all on 127.0.0.1 with free ports, logs under ``STATE_DIR/logs/<name>.log``:
etcd, kube-apiserver (x509 client certs, Node,RBAC), kube-controller-manager (GC, namespaces, service
accounts, ...), kube-scheduler, kwok (fake nodes + pod lifecycle stages) and the KubeRay operator (out of
cluster, all namespaces). The KubeRay CRDs are installed from ``../shared/kuberay/crds`` (or
``$RAYCTL_KUBERAY_CRDS``). Binaries come from ``hack/controlplane/build.sh``.

CLI::

    python -m tests.e2e.controlplane up STATE_DIR      # prints `export KUBECONFIG=STATE_DIR/kubeconfig`
    python -m tests.e2e.controlplane down STATE_DIR [--purge]
    python -m tests.e2e.controlplane status STATE_DIR
    python -m tests.e2e.controlplane paths             # pinned binaries and whether they are built

Environment: RAYCTL_CACHE (binary cache root, default ~/.cache/rayctl), RAYCTL_KUBERAY_CRDS (CRD dir),
RAYCTL_KUBERAY_VERSION (use another real operator release, see build.sh), RAYCTL_CONTROLPLANE_TIMEOUT
(seconds to wait for health, default 180), KUBECTL (kubectl binary, default `kubectl` on PATH).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from rayctl.localrun import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SH = REPO_ROOT / "hack" / "controlplane" / "build.sh"
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kuberay-operator")
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"
# Start order; `down` stops in reverse.
ORDER = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kuberay-operator")

# Node pools of docs/contracts.md ("Test control plane node pools").
CPU_POOL = {
    "count": 2,
    "prefix": "cpu",
    "labels": {"rayctl.dev/pool": "cpu"},
    "allocatable": {"cpu": "16", "memory": "64Gi", "pods": "110", "ephemeral-storage": "200Gi"},
    "taints": [],
}
GPU_POOL = {
    "count": 2,
    "prefix": "gpu",
    "labels": {
        "rayctl.dev/pool": "gpu",
        "nvidia.com/gpu.present": "true",
        "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB",
    },
    "allocatable": {
        "cpu": "96",
        "memory": "1Ti",
        "nvidia.com/gpu": "8",
        "pods": "110",
        "ephemeral-storage": "1Ti",
    },
    "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
}
NODE_POOLS = (CPU_POOL, GPU_POOL)

# kwok's default stages (what kwokctl configures): node-initialize, node-heartbeat-with-lease, pod-ready,
# pod-complete, pod-delete; build.sh copies them from the pinned kwok module next to the binary.
KWOK_STAGE_FILES = (
    "node-initialize.yaml",
    "node-heartbeat-with-lease.yaml",
    "pod-ready.yaml",
    "pod-complete.yaml",
    "pod-delete.yaml",
)


class ControlPlaneError(RuntimeError):
    """Something did not start or become healthy; the message names the log file to read."""


class BinariesMissing(ControlPlaneError):
    pass


# --------------------------------------------------------------------------------------------------------
# binaries


def binary_paths() -> dict[str, tuple[str, Path]]:
    """name -> (version, path) as pinned by build.sh (honours RAYCTL_CACHE, RAYCTL_KUBERAY_VERSION)."""
    out = subprocess.run(["bash", str(BUILD_SH), "--print-paths"], check=True, capture_output=True, text=True).stdout
    paths: dict[str, tuple[str, Path]] = {}
    for line in out.splitlines():
        name, version, path = line.split(" ", 2)
        paths[name] = (version, Path(path))
    return paths


def missing_binaries() -> list[str]:
    missing = []
    for name, (version, path) in binary_paths().items():
        if not os.access(path, os.X_OK):
            missing.append(f"{name} {version} ({path})")
    stages = binary_paths()["kwok"][1].parent / "stages"
    if not all((stages / f).is_file() for f in KWOK_STAGE_FILES):
        missing.append(f"kwok stage configs ({stages})")
    return missing


def build_command() -> str:
    return f"bash {BUILD_SH.relative_to(REPO_ROOT)}"


def prometheus_operator_crd_dir() -> Path:
    """prometheus-operator's CRD folder at the pin of hack/install-prometheus.sh (in the rayctl cache)."""
    out = subprocess.run([str(REPO_ROOT / "hack" / "install-prometheus.sh"), "--print-paths"], capture_output=True,
                         text=True, check=False, timeout=60).stdout
    paths = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    return Path(paths.get("prometheus-operator-crds", "/nonexistent").strip())


def kuberay_crd_dir() -> Path:
    env = os.environ.get("RAYCTL_KUBERAY_CRDS")
    return Path(env) if env else (REPO_ROOT.parent / "shared" / "kuberay" / "crds")


def kubectl_bin() -> str:
    kubectl = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if not kubectl:
        raise ControlPlaneError("kubectl not found (set KUBECTL or put kubectl on PATH)")
    return kubectl


# --------------------------------------------------------------------------------------------------------
# helpers


def _openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ControlPlaneError(f"openssl {' '.join(args)} failed: {proc.stderr.strip()}")


def generate_pki(pki: Path) -> None:
    """CA, apiserver serving cert, client certs and the service-account key pair (openssl CLI)."""
    pki.mkdir(parents=True, exist_ok=True)
    _openssl("genrsa", "-out", "ca.key", "2048", cwd=pki)
    _openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        "ca.key",
        "-sha256",
        "-days",
        "30",
        "-subj",
        "/CN=rayctl-e2e-ca",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-out",
        "ca.crt",
        cwd=pki,
    )
    sans = ",".join(
        [
            "IP:127.0.0.1",
            f"IP:{SERVICE_IP}",
            "DNS:localhost",
            "DNS:kubernetes",
            "DNS:kubernetes.default",
            "DNS:kubernetes.default.svc",
            "DNS:kubernetes.default.svc.cluster.local",
        ]
    )
    certs = {
        # name: (subject, extendedKeyUsage, subjectAltName or None)
        "apiserver": ("/CN=kube-apiserver", "serverAuth", sans),
        "admin": ("/O=system:masters/CN=rayctl-e2e-admin", "clientAuth", None),
        "kube-controller-manager": ("/CN=system:kube-controller-manager", "clientAuth", None),
        "kube-scheduler": ("/CN=system:kube-scheduler", "clientAuth", None),
    }
    for name, (subject, eku, san) in certs.items():
        ext = pki / f"{name}.ext"
        ext.write_text(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            f"extendedKeyUsage={eku}\n" + (f"subjectAltName={san}\n" if san else "")
        )
        _openssl("genrsa", "-out", f"{name}.key", "2048", cwd=pki)
        _openssl("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr", cwd=pki)
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-sha256",
            "-extfile",
            ext.name,
            "-out",
            f"{name}.crt",
            cwd=pki,
        )
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
    for p in pki.glob("*.key"):
        p.chmod(0o600)


def write_kubeconfig(path: Path, server: str, pki: Path, user: str) -> None:
    # Paths are absolute so the file works from any cwd; the context is called rayctl-e2e.
    path.write_text(
        textwrap.dedent(
            f"""\
            apiVersion: v1
            kind: Config
            clusters:
            - name: rayctl-e2e
              cluster:
                server: {server}
                certificate-authority: {pki / "ca.crt"}
            users:
            - name: {user}
              user:
                client-certificate: {pki / f"{user}.crt"}
                client-key: {pki / f"{user}.key"}
            contexts:
            - name: rayctl-e2e
              context:
                cluster: rayctl-e2e
                user: {user}
                namespace: default
            current-context: rayctl-e2e
            """
        )
    )
    path.chmod(0o600)


def _pdeathsig() -> None:  # pragma: no cover - runs in the child between fork and exec
    # Children of a pytest run die with it (PR_SET_PDEATHSIG=1), even when pytest is SIGKILLed. SIGKILL, not
    # SIGTERM: all of them get it at once, and an apiserver whose etcd is gone hangs in graceful shutdown.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def _proc_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def _proc_cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# --------------------------------------------------------------------------------------------------------
# the control plane


@dataclass
class ControlPlane:
    state_dir: Path
    ports: dict[str, int] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    binaries: dict[str, str] = field(default_factory=dict)
    timeout: float = float(os.environ.get("RAYCTL_CONTROLPLANE_TIMEOUT", "180"))
    _procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)
    _owned: bool = field(default=False, repr=False)

    # ---- paths
    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"

    @property
    def pki(self) -> Path:
        return self.state_dir / "pki"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    @property
    def _state_file(self) -> Path:
        return self.state_dir / "state.json"

    def _save(self) -> None:
        data = {
            "ports": self.ports,
            "pids": self.pids,
            "binaries": self.binaries,
            "kubeconfig": str(self.kubeconfig),
        }
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(self._state_file)

    @classmethod
    def load(cls, state_dir: str | os.PathLike[str]) -> ControlPlane:
        state_dir = Path(state_dir).resolve()
        data = json.loads((state_dir / "state.json").read_text())
        return cls(state_dir=state_dir, ports=data["ports"], pids=data["pids"], binaries=data["binaries"])

    # ---- lifecycle
    def up(self, *, owned: bool = False) -> ControlPlane:
        """Start everything and wait until healthy. On failure, stops what was started and raises.

        owned=True ties the processes to this Python process (they get SIGKILL if it dies): use it from
        pytest. owned=False (the CLI) leaves them running after the CLI exits.
        """
        self._owned = owned
        missing = missing_binaries()
        if missing:
            raise BinariesMissing(
                "control-plane binaries are not built: " + "; ".join(missing) + f". Run: {build_command()}"
            )
        crds = kuberay_crd_dir()
        if not sorted(crds.glob("*.yaml")):
            raise ControlPlaneError(f"no KubeRay CRDs (*.yaml) in {crds} (set RAYCTL_KUBERAY_CRDS)")
        self.state_dir = Path(self.state_dir).resolve()
        if (self.state_dir / "state.json").exists():
            raise ControlPlaneError(f"{self.state_dir} already holds a control plane; run `down` first")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        self.binaries = {name: str(path) for name, (_, path) in binary_paths().items()}
        started = time.monotonic()
        for attempt in range(1, 4):
            try:
                self._up_once(crds)
                break
            except ControlPlaneError as exc:
                # Free ports are picked before the processes bind them; a concurrent run may take one in
                # between. That is the only failure worth a retry.
                if attempt == 3 or not self._lost_port_race():
                    raise
                print(f"port taken by another process ({str(exc).splitlines()[0]}); retrying", file=sys.stderr)
                for log in self.logs.glob("*.log"):
                    log.rename(log.with_suffix(f".attempt{attempt}.log"))
        self._write_env()
        print(
            f"control plane up in {time.monotonic() - started:.1f}s: {self.server} ({self.state_dir})",
            file=sys.stderr,
        )
        return self

    def _up_once(self, crds: Path) -> None:
        self.ports = {
            name: free_port()
            for name in (
                "etcd-client",
                "etcd-peer",
                "apiserver",
                "controller-manager",
                "scheduler",
                "kwok",
                "operator-metrics",
                "operator-probe",
            )
        }
        self._save()
        try:
            generate_pki(self.pki)
            write_kubeconfig(self.kubeconfig, self.server, self.pki, "admin")
            for component in ("kube-controller-manager", "kube-scheduler"):
                write_kubeconfig(self.state_dir / f"{component}.kubeconfig", self.server, self.pki, component)
            self._start_etcd()
            self._start_apiserver()
            self._start_controller_manager()
            self._start_scheduler()
            self._install_crds(crds)
            self._start_kwok()
            self._create_nodes()
            self._start_operator()
            self._wait_healthy()
        except BaseException:
            self.down(purge=False)
            raise

    def _lost_port_race(self) -> bool:
        for log in self.logs.glob("*.log"):
            if ".attempt" not in log.name and "address already in use" in log.read_text(errors="replace"):
                return True
        return False

    def down(self, *, purge: bool = False) -> None:
        """Stop every process and delete the state; logs/ is kept unless purge=True.

        Order: the API clients together, then kube-apiserver, then etcd (an apiserver whose etcd is gone
        hangs in shutdown). Each step: SIGTERM, then SIGKILL after 10s."""
        self._stop(["kuberay-operator", "kwok", "kube-scheduler", "kube-controller-manager"])
        self._stop(["kube-apiserver"])
        self._stop(["etcd"])
        self.pids.clear()
        self._procs.clear()
        if not self.state_dir.exists():
            return
        if purge:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            return
        for child in self.state_dir.iterdir():
            if child.name == "logs":
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

    def _stop(self, names: list[str], timeout: float = 10) -> None:
        targets: dict[str, int] = {}
        for name in names:
            pid = self.pids.get(name)
            if pid is None:
                continue
            if name not in self._procs and self.binaries.get(name, "\0") not in _proc_cmdline(pid):
                continue  # exited already, and the pid may have been reused: not ours
            targets[name] = pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

        def gone(name: str) -> bool:
            proc = self._procs.get(name)
            return proc.poll() is not None if proc is not None else not _proc_alive(targets[name])

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(gone(n) for n in targets):
            time.sleep(0.05)
        for name, pid in targets.items():
            if not gone(name):
                print(f"{name} (pid {pid}) did not stop on SIGTERM; sending SIGKILL", file=sys.stderr)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            proc = self._procs.get(name)
            if proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(5)

    # ---- processes
    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        log = open(self.log(name), "ab")  # noqa: SIM115 - owned by the child
        log.write(f"# {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(args)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.state_dir,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            preexec_fn=_pdeathsig if self._owned else None,
        )
        log.close()
        self._procs[name] = proc
        self.pids[name] = proc.pid
        self._save()

    def _check_alive(self, name: str) -> None:
        proc = self._procs.get(name)
        exited = proc.poll() if proc is not None else (None if _proc_alive(self.pids[name]) else "?")
        if exited is not None:
            raise ControlPlaneError(f"{name} exited (status {exited}); see {self.log(name)}:\n{self._tail(name)}")

    def _tail(self, name: str, lines: int = 15) -> str:
        try:
            text = self.log(name).read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join("    " + line[:300] for line in text[-lines:])

    def _wait(self, name: str, what: str, check, timeout: float | None = None) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + (timeout or self.timeout)
        last: object = None
        while True:
            if name in self.pids:
                self._check_alive(name)
            try:
                result = check()
                if result:
                    return
                last = result
            except Exception as exc:
                last = exc
            if time.monotonic() > deadline:
                raise ControlPlaneError(
                    f"timed out after {timeout or self.timeout:.0f}s waiting for {what} (last: {last!r}); "
                    f"see {self.log(name)}:\n{self._tail(name)}"
                )
            time.sleep(0.5)

    def _https_get(self, port: int, path: str, *, client_cert: bool, verify: bool) -> str:
        ctx = (
            ssl.create_default_context(cafile=str(self.pki / "ca.crt")) if verify else ssl._create_unverified_context()
        )
        if client_cert:
            ctx.load_cert_chain(self.pki / "admin.crt", self.pki / "admin.key")
        with urllib.request.urlopen(f"https://127.0.0.1:{port}{path}", context=ctx, timeout=5) as r:
            return r.read().decode()

    @staticmethod
    def _http_get(port: int, path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.read().decode()

    def kubectl(self, *args: str, check: bool = True, input: str | None = None,
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [kubectl_bin(), "--kubeconfig", str(self.kubeconfig), *args],
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise ControlPlaneError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc

    # ---- components
    def _start_etcd(self) -> None:
        c, p = self.ports["etcd-client"], self.ports["etcd-peer"]
        self._spawn(
            "etcd",
            [
                self.binaries["etcd"],
                "--name=rayctl-e2e",
                f"--data-dir={self.state_dir / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{c}",
                f"--advertise-client-urls=http://127.0.0.1:{c}",
                f"--listen-peer-urls=http://127.0.0.1:{p}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{p}",
                f"--initial-cluster=rayctl-e2e=http://127.0.0.1:{p}",
                "--initial-cluster-state=new",
                "--unsafe-no-fsync=true",  # test data only: much faster on shared disks
                "--quota-backend-bytes=2147483648",
                "--log-level=warn",
            ],
        )
        self._wait("etcd", "etcd /health", lambda: '"health":"true"' in self._http_get(c, "/health"), 60)

    def _start_apiserver(self) -> None:
        pki = self.pki
        self._spawn(
            "kube-apiserver",
            [
                self.binaries["kube-apiserver"],
                f"--etcd-servers=http://127.0.0.1:{self.ports['etcd-client']}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.ports['apiserver']}",
                f"--cert-dir={self.state_dir / 'apiserver-certs'}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                "--allow-privileged=true",
                # there is no reachable endpoint for the `kubernetes` Service (nothing runs in-cluster)
                "--endpoint-reconciler-type=none",
                "--profiling=false",
                "--v=1",
            ],
        )
        self._wait(
            "kube-apiserver",
            "kube-apiserver /readyz",
            lambda: self._https_get(self.ports["apiserver"], "/readyz", client_cert=True, verify=True) == "ok",
        )

    def _start_controller_manager(self) -> None:
        kc = str(self.state_dir / "kube-controller-manager.kubeconfig")
        pki = self.pki
        self._spawn(
            "kube-controller-manager",
            [
                self.binaries["kube-controller-manager"],
                f"--kubeconfig={kc}",
                f"--authentication-kubeconfig={kc}",
                f"--authorization-kubeconfig={kc}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.ports['controller-manager']}",
                f"--cert-dir={self.state_dir / 'controller-manager-certs'}",
                "--leader-elect=false",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--cluster-signing-cert-file={pki / 'ca.crt'}",
                f"--cluster-signing-key-file={pki / 'ca.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--allocate-node-cidrs=false",
                "--controllers=*",
                "--v=1",
            ],
        )

    def _start_scheduler(self) -> None:
        kc = str(self.state_dir / "kube-scheduler.kubeconfig")
        self._spawn(
            "kube-scheduler",
            [
                self.binaries["kube-scheduler"],
                f"--kubeconfig={kc}",
                f"--authentication-kubeconfig={kc}",
                f"--authorization-kubeconfig={kc}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.ports['scheduler']}",
                f"--cert-dir={self.state_dir / 'scheduler-certs'}",
                "--leader-elect=false",
                "--v=1",
            ],
        )

    def _install_crds(self, crds: Path) -> None:
        # Server-side apply: the CRDs are ~1 MB each, over the last-applied annotation limit of
        # client-side apply.
        files = sorted(crds.glob("*.yaml"))
        args = ["apply", "--server-side", "--field-manager=rayctl-e2e", "--force-conflicts"]
        for f in files:
            args += ["-f", str(f)]
        self.kubectl(*args)
        out = self.kubectl("get", "crd", "-o", "name").stdout.split()
        ray_crds = [n for n in out if n.endswith(".ray.io")]
        if len(ray_crds) < len(files):
            raise ControlPlaneError(f"expected {len(files)} ray.io CRDs after apply, found {ray_crds}")
        # a CRD turns Established in seconds, minutes on a loaded 2-core machine (60 s timed out beside Ray Serve)
        self.kubectl("wait", "--for=condition=Established", "--timeout=300s", *ray_crds, timeout=360)
        # prometheus-operator's PodMonitor and PrometheusRule: examples with `monitoring:` apply them next to the
        # RayService, as on a cluster that runs the operator (hack/install-prometheus.sh puts them in the cache).
        monitoring = prometheus_operator_crd_dir()
        wanted = [monitoring / f"monitoring.coreos.com_{kind}.yaml" for kind in ("podmonitors", "prometheusrules")]
        missing = [str(f) for f in wanted if not f.is_file()]
        if missing:
            raise ControlPlaneError(f"prometheus-operator CRDs missing: {missing} (run hack/install-prometheus.sh)")
        self.kubectl("apply", "--server-side", "--field-manager=rayctl-e2e", "--force-conflicts",
                     *[a for f in wanted for a in ("-f", str(f))])
        self.kubectl("wait", "--for=condition=Established", "--timeout=300s",
                     "crd/podmonitors.monitoring.coreos.com", "crd/prometheusrules.monitoring.coreos.com", timeout=360)

    def _kwok_config(self) -> Path:
        stages_dir = Path(self.binaries["kwok"]).parent / "stages"
        # Stages only: a KwokConfiguration document here would skip kwok's defaulting (e.g. parallelism 0);
        # the options are passed as flags instead.
        docs = [(stages_dir / f).read_text() for f in KWOK_STAGE_FILES]
        path = self.state_dir / "kwok.yaml"
        path.write_text("\n---\n".join(d.strip("\n") for d in docs) + "\n")
        return path

    def _start_kwok(self) -> None:
        config = self._kwok_config()
        self._spawn(
            "kwok",
            [
                self.binaries["kwok"],
                f"--config={config}",
                f"--kubeconfig={self.kubeconfig}",
                "--manage-all-nodes=true",
                "--node-lease-duration-seconds=40",
                f"--server-address=127.0.0.1:{self.ports['kwok']}",
                "--cidr=10.244.0.0/16",  # pod IPs
            ],
        )

    def node_manifests(self) -> list[dict]:  # type: ignore[type-arg]
        nodes = []
        for pool_index, pool in enumerate(NODE_POOLS, start=1):
            for i in range(pool["count"]):  # type: ignore[arg-type]
                name = f"kwok-{pool['prefix']}-{i}"
                nodes.append(
                    {
                        "apiVersion": "v1",
                        "kind": "Node",
                        "metadata": {
                            "name": name,
                            "annotations": {
                                "kwok.x-k8s.io/node": "fake",
                                "node.alpha.kubernetes.io/ttl": "0",
                            },
                            "labels": {
                                "kubernetes.io/arch": "amd64",
                                "kubernetes.io/os": "linux",
                                "kubernetes.io/hostname": name,
                                "type": "kwok",
                                **pool["labels"],  # type: ignore[dict-item]
                            },
                        },
                        "spec": {"taints": pool["taints"]} if pool["taints"] else {},
                        "status": {
                            # a distinct (TEST-NET-2) address per node. kwok's node-initialize stage keeps
                            # the addresses only if there are both an InternalIP and a Hostname.
                            "addresses": [
                                {"type": "InternalIP", "address": f"198.51.{pool_index}.{i + 1}"},
                                {"type": "Hostname", "address": name},
                            ],
                            "allocatable": pool["allocatable"],
                            "capacity": pool["allocatable"],
                        },
                    }
                )
        return nodes

    def _create_nodes(self) -> None:
        doc = {"apiVersion": "v1", "kind": "List", "items": self.node_manifests()}
        self.kubectl("create", "-f", "-", input=json.dumps(doc))

    def _start_operator(self) -> None:
        self._spawn(
            "kuberay-operator",
            [
                self.binaries["kuberay-operator"],
                "--enable-leader-election=false",
                f"--metrics-addr=127.0.0.1:{self.ports['operator-metrics']}",
                f"--health-probe-bind-address=127.0.0.1:{self.ports['operator-probe']}",
                "--log-stdout-encoder=console",
            ],
            env={"KUBECONFIG": str(self.kubeconfig)},  # controller-runtime's GetConfig reads it
        )

    def _nodes_ready(self) -> object:
        out = self.kubectl(
            "get",
            "nodes",
            "-o",
            'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
        ).stdout.split()
        expected = sum(p["count"] for p in NODE_POOLS)  # type: ignore[misc]
        ready = [line for line in out if line.endswith("=True")]
        return len(ready) == expected or out

    def _wait_healthy(self) -> None:
        self._wait(
            "kube-controller-manager",
            "kube-controller-manager /healthz",
            lambda: (
                self._https_get(self.ports["controller-manager"], "/healthz", client_cert=False, verify=False) == "ok"
            ),
        )
        self._wait(
            "kube-scheduler",
            "kube-scheduler /healthz",
            lambda: self._https_get(self.ports["scheduler"], "/healthz", client_cert=False, verify=False) == "ok",
        )
        self._wait("kwok", "kwok: all fake nodes Ready", self._nodes_ready)
        # Pods can only be created once the service-account controller made the `default` ServiceAccount.
        self._wait(
            "kube-controller-manager",
            "ServiceAccount default/default",
            lambda: self.kubectl("get", "serviceaccount", "default", "-n", "default", check=False).returncode == 0,
        )
        self._wait(
            "kuberay-operator",
            "kuberay-operator /readyz",
            lambda: self._http_get(self.ports["operator-probe"], "/readyz") == "ok",
        )
        for name in ORDER:
            self._check_alive(name)

    def _write_env(self) -> None:
        (self.state_dir / "env").write_text(f"export KUBECONFIG={self.kubeconfig}\n")

    def status(self) -> dict[str, str]:
        out = {}
        for name in ORDER:
            pid = self.pids.get(name)
            alive = pid is not None and _proc_alive(pid) and self.binaries.get(name, "\0") in _proc_cmdline(pid)
            out[name] = f"pid {pid} {'running' if alive else 'NOT RUNNING'} (log {self.log(name)})"
        return out


# --------------------------------------------------------------------------------------------------------
# CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.controlplane", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="start a control plane in STATE_DIR and wait until it is healthy")
    p_up.add_argument("state_dir", nargs="?", default=None, help="default: a new dir under /tmp")
    p_down = sub.add_parser("down", help="stop the control plane of STATE_DIR")
    p_down.add_argument("state_dir")
    p_down.add_argument("--purge", action="store_true", help="also delete STATE_DIR/logs (and STATE_DIR)")
    p_status = sub.add_parser("status", help="show the processes of STATE_DIR")
    p_status.add_argument("state_dir")
    sub.add_parser("paths", help="print the pinned binaries and whether they are built")
    args = parser.parse_args(argv)

    try:
        if args.cmd == "paths":
            for name, (version, path) in binary_paths().items():
                print(f"{name:24} {version:10} {path} {'ok' if os.access(path, os.X_OK) else 'MISSING'}")
            return 0 if not missing_binaries() else 1
        if args.cmd == "up":
            state_dir = Path(args.state_dir or tempfile.mkdtemp(prefix="rayctl-cp-"))
            cp = ControlPlane(state_dir=state_dir).up(owned=False)
            print(f"export KUBECONFIG={cp.kubeconfig}")
            return 0
        state_file = Path(args.state_dir) / "state.json"
        if not state_file.exists():
            print(f"no control plane state in {args.state_dir} (nothing to do)", file=sys.stderr)
            return 0 if args.cmd == "down" else 1
        cp = ControlPlane.load(args.state_dir)
        if args.cmd == "status":
            for name, line in cp.status().items():
                print(f"{name:24} {line}")
            return 0
        cp.down(purge=args.purge)
        print(f"control plane in {args.state_dir} stopped", file=sys.stderr)
        return 0
    except ControlPlaneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
