"""The one place rayctl talks to a Kubernetes API server.

Writes (server-side apply, create, delete) go through the official `kubernetes` client, because kr8s cannot do
server-side apply; reads (get/list, and the polling behind every wait) go through kr8s. Both are configured
from the
same kubeconfig/context (kubectl conventions: --kubeconfig, $KUBECONFIG, ~/.kube/config, else in-cluster).

Both clients are imported lazily inside functions so that `import rayctl.k8s` stays cheap. Every client
exception
is converted into a rayctl error (ClusterError, ConflictError, NotFoundError) with a one-line message.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from rayctl.errors import ClusterError, NotFoundError, RayctlError
from rayctl.k8s.errors import KUBERAY_INSTALL_HINT, parse_status, status_to_error, wrap_exception

Obj = dict[str, Any]

RAY_API_VERSION = "ray.io/v1"
SA_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
REQUEST_TIMEOUT = (10.0, 60.0)

# kind -> (plural, namespaced) for everything rayctl renders or reads; anything else falls back to a guess.
KNOWN_RESOURCES: dict[str, tuple[str, bool]] = {
    "RayService": ("rayservices", True),
    "RayCluster": ("rayclusters", True),
    "RayJob": ("rayjobs", True),
    "Namespace": ("namespaces", False),
    "ConfigMap": ("configmaps", True),
    "Secret": ("secrets", True),
    "Service": ("services", True),
    "ServiceAccount": ("serviceaccounts", True),
    "Pod": ("pods", True),
    "Event": ("events", True),
    "PersistentVolumeClaim": ("persistentvolumeclaims", True),
    "Ingress": ("ingresses", True),
    "NetworkPolicy": ("networkpolicies", True),
    "PodDisruptionBudget": ("poddisruptionbudgets", True),
    "HorizontalPodAutoscaler": ("horizontalpodautoscalers", True),
    "Role": ("roles", True),
    "RoleBinding": ("rolebindings", True),
    "ClusterRole": ("clusterroles", False),
    "ClusterRoleBinding": ("clusterrolebindings", False),
    "CustomResourceDefinition": ("customresourcedefinitions", False),
    "PriorityClass": ("priorityclasses", False),
    "ServiceMonitor": ("servicemonitors", True),
    "PodMonitor": ("podmonitors", True),
}


def resource_info(kind: str) -> tuple[str, bool]:
    """(plural, namespaced) for a kind."""
    if kind in KNOWN_RESOURCES:
        return KNOWN_RESOURCES[kind]
    low = kind.lower()
    if low.endswith("y") and low[-2:-1] not in ("a", "e", "i", "o", "u"):
        return low[:-1] + "ies", True
    if low.endswith("s"):
        return low + "es", True
    return low + "s", True


def api_path(api_version: str, kind: str, namespace: str | None, name: str | None = None) -> str:
    plural, namespaced = resource_info(kind)
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    if namespaced and namespace:
        base += f"/namespaces/{namespace}"
    base += f"/{plural}"
    if name:
        base += f"/{name}"
    return base


def ref(obj: Obj) -> str:
    """kubectl-style `kind.group/name`, e.g. `rayservice.ray.io/llm`, `configmap/x`."""
    kind = str(obj.get("kind", "?")).lower()
    api_version = str(obj.get("apiVersion", "v1"))
    group = api_version.split("/")[0] if "/" in api_version else ""
    name = obj.get("metadata", {}).get("name", "?")
    return f"{kind}.{group}/{name}" if group else f"{kind}/{name}"


@dataclass
class ApplyResult:
    """What server-side apply did to one object."""

    ref: str  # kubectl style: rayservice.ray.io/NAME
    kind: str
    name: str
    namespace: str | None
    action: Literal["created", "configured", "unchanged"]
    dry_run: bool = False
    object: Obj = field(default_factory=dict)  # the object as the server returned it
    note: str | None = None

    def line(self) -> str:
        suffix = " (server dry run)" if self.dry_run else ""
        note = f" ({self.note})" if self.note else ""
        return f"{self.ref} {self.action}{suffix}{note}"


@dataclass
class Target:
    """Which cluster/namespace a command talks to (kubectl conventions)."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None


class ClusterAPI(Protocol):
    """The interface the rest of rayctl uses (a fake implements it in unit tests)."""

    namespace: str
    server: str

    def apply(
        self, objs: Sequence[Obj], field_manager: str = "rayctl", force: bool = False, dry_run: bool = False
    ) -> list[ApplyResult]: ...

    def ensure_namespace(self, name: str, *, dry_run: bool = False) -> ApplyResult | None: ...

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Obj | None: ...

    def list_objects(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]: ...

    def get_rayservice(self, name: str, namespace: str | None = None) -> Obj | None: ...

    def list_rayclusters(self, namespace: str | None = None, label_selector: str | None = None) -> list[Obj]: ...

    def list_pods(self, namespace: str | None = None, label_selector: str | None = None) -> list[Obj]: ...

    def list_events(self, namespace: str | None = None) -> list[Obj]: ...

    def get_crd(self, name: str) -> Obj | None: ...

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        propagation: str = "Background",
    ) -> bool: ...


# ------------------------------------------------------------------------------------------------------------
# configuration


def _incluster_available() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and Path(SA_NAMESPACE_FILE).exists()


def _kubeconfig_paths(kubeconfig: str | None) -> list[str]:
    if kubeconfig:
        return [kubeconfig]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [p for p in env.split(os.pathsep) if p]
    return [os.path.expanduser("~/.kube/config")]


def _make_official_client(target: Target) -> tuple[Any, str, str | None, bool]:
    """(ApiClient, server URL, namespace of the kubeconfig context or None, in_cluster)."""
    from kubernetes import client as k8s_client
    from kubernetes import config as _k8s_config

    k8s_config: Any = _k8s_config

    cfg = k8s_client.Configuration()
    paths = _kubeconfig_paths(target.kubeconfig)
    existing = [p for p in paths if Path(p).expanduser().exists()]
    if target.kubeconfig and not existing:
        raise ClusterError(f"kubeconfig {target.kubeconfig} does not exist")
    ctx_namespace: str | None = None
    in_cluster = False
    try:
        if existing:
            config_file = target.kubeconfig if target.kubeconfig else os.pathsep.join(existing)
            k8s_config.load_kube_config(
                config_file=config_file,
                context=target.context,
                client_configuration=cfg,
                persist_config=False,
            )
            contexts, current = k8s_config.list_kube_config_contexts(config_file=config_file)
            chosen = current
            if target.context:
                chosen = next((c for c in contexts if c.get("name") == target.context), current)
            if isinstance(chosen, dict):
                ctx_namespace = (chosen.get("context") or {}).get("namespace")
        elif _incluster_available():
            if target.context:
                raise ClusterError("--context was given but there is no kubeconfig (running in-cluster)")
            k8s_config.load_incluster_config(client_configuration=cfg)
            in_cluster = True
            try:
                ctx_namespace = Path(SA_NAMESPACE_FILE).read_text().strip() or None
            except OSError:
                ctx_namespace = None
        else:
            raise ClusterError(
                "no Kubernetes configuration: no kubeconfig found "
                f"({', '.join(paths)}) and not running inside a cluster",
                hint="pass --kubeconfig, set $KUBECONFIG, or run inside a pod with a service account",
            )
    except RayctlError:
        raise
    except Exception as exc:
        raise wrap_exception(exc, what="loading the Kubernetes configuration") from exc
    cfg.retries = 0
    if not cfg.verify_ssl:  # the user's choice (insecure-skip-tls-verify): don't warn on every request
        import urllib3

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    api_client = k8s_client.ApiClient(cfg)
    return api_client, str(cfg.host), ctx_namespace, in_cluster


def _make_kr8s(target: Target, namespace: str, in_cluster: bool, server: str = "") -> Any:
    import warnings

    import kr8s

    # kr8s warns (on stderr, from its event-loop thread) about server versions newer than it was tested with.
    warnings.filterwarnings("ignore", message=r"Kubernetes version .* is not supported", category=UserWarning)

    try:
        if in_cluster:
            return kr8s.api(namespace=namespace)
        paths = [p for p in _kubeconfig_paths(target.kubeconfig) if Path(p).expanduser().exists()]
        kubeconfig = target.kubeconfig or (paths[0] if len(paths) == 1 else None)
        return kr8s.api(kubeconfig=kubeconfig, context=target.context, namespace=namespace)
    except Exception as exc:
        raise wrap_exception(exc, what="connecting to the API server", server=server) from exc


def connect(target: Target, *, default_namespace: str | None = None) -> Cluster:
    """Build a Cluster for `target`. Namespace: -n, else `default_namespace` (e.g. the spec's), else the
    context's
    namespace, else `default`. Nothing is sent to the server yet."""
    api_client, server, ctx_ns, in_cluster = _make_official_client(target)
    namespace = target.namespace or default_namespace or ctx_ns or "default"
    return Cluster(
        api_client=api_client,
        kr8s_factory=lambda: _make_kr8s(target, namespace, in_cluster, server),
        namespace=namespace,
        server=server,
    )


# ------------------------------------------------------------------------------------------------------------
# the client


_VOLATILE_META = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink")


def comparable(obj: Obj) -> Obj:
    """The object without status and server bookkeeping, to tell a real change from a no-op."""
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for key in _VOLATILE_META:
        meta.pop(key, None)
    return out


class Cluster:
    """A connection to one API server: SSA and deletes through the official client, reads through kr8s."""

    def __init__(
        self,
        *,
        api_client: Any,
        kr8s_factory: Callable[[], Any] | None = None,
        namespace: str = "default",
        server: str = "",
    ) -> None:
        self._api = api_client
        self._kr8s_factory = kr8s_factory
        self._kr8s: Any = None
        self.namespace = namespace
        self.server = server

    # ---- raw REST through the official client ----

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, Any]] = (),
        body: Any = None,
        content_type: str = "application/json",
        what: str,
    ) -> Obj:
        try:
            req = self._api.param_serialize(
                method,
                path,
                query_params=list(query),
                header_params={"Accept": "application/json", "Content-Type": content_type},
                body=body,
                post_params=[],
                files={},
                auth_settings=["BearerToken"],
            )
            resp = self._api.call_api(*req, _request_timeout=REQUEST_TIMEOUT)
            resp.read()
            data = resp.data
            if not 200 <= int(resp.status) <= 299:
                raise status_to_error(
                    parse_status(int(resp.status), getattr(resp, "reason", None), data),
                    what=what,
                    server=self.server,
                )
        except RayctlError:
            raise
        except Exception as exc:
            raise wrap_exception(exc, what=what, server=self.server) from exc
        if not data:
            return {}
        try:
            parsed = json.loads(data)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}

    def _get_direct(self, path: str, what: str) -> Obj | None:
        try:
            return self._request("GET", path, what=what)
        except NotFoundError:
            return None

    # ---- kr8s reads ----

    @property
    def kr8s(self) -> Any:
        if self._kr8s is None:
            if self._kr8s_factory is None:
                raise ClusterError("no read client configured")
            self._kr8s = self._kr8s_factory()
        return self._kr8s

    def _kr8s_class(self, api_version: str, kind: str) -> Any:
        from kr8s.objects import new_class

        plural, namespaced = resource_info(kind)
        return new_class(kind, version=api_version, namespaced=namespaced, plural=plural)

    def list_objects(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]:
        cls = self._kr8s_class(api_version, kind)
        _, namespaced = resource_info(kind)
        what = f"listing {resource_info(kind)[0]}"
        try:
            kwargs: dict[str, Any] = {"raw": True}
            if namespaced:
                kwargs["namespace"] = namespace or self.namespace
            if label_selector:
                kwargs["label_selector"] = label_selector
            if field_selector:
                kwargs["field_selector"] = field_selector
            return [dict(o) for o in self.kr8s.get(cls, **kwargs)]
        except Exception as exc:
            err = wrap_exception(exc, what=what, server=self.server)
            if isinstance(err, NotFoundError):
                return []
            raise err from exc

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        cls = self._kr8s_class(api_version, kind)
        _, namespaced = resource_info(kind)
        what = f"reading {kind.lower()}/{name}"
        try:
            kwargs: dict[str, Any] = {"raw": True}
            if namespaced:
                kwargs["namespace"] = namespace or self.namespace
            found = [dict(o) for o in self.kr8s.get(cls, name, **kwargs)]
        except Exception as exc:
            err = wrap_exception(exc, what=what, server=self.server)
            if isinstance(err, NotFoundError):
                return None
            raise err from exc
        return found[0] if found else None

    def get_rayservice(self, name: str, namespace: str | None = None) -> Obj | None:
        return self.get(RAY_API_VERSION, "RayService", name, namespace)

    def list_rayclusters(self, namespace: str | None = None, label_selector: str | None = None) -> list[Obj]:
        return self.list_objects(RAY_API_VERSION, "RayCluster", namespace, label_selector)

    def list_pods(self, namespace: str | None = None, label_selector: str | None = None) -> list[Obj]:
        return self.list_objects("v1", "Pod", namespace, label_selector)

    def list_events(self, namespace: str | None = None) -> list[Obj]:
        return self.list_objects("v1", "Event", namespace)

    def get_crd(self, name: str) -> Obj | None:
        """The CustomResourceDefinition `name` (e.g. rayservices.ray.io), or None when it is not installed."""
        return self.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)

    # ---- writes (official client) ----

    def check_api(self, api_version: str, kind: str) -> None:
        """Raise an actionable error when the API server does not serve `kind` (e.g. the KubeRay CRDs are
        missing)."""
        if "/" not in api_version:
            return
        plural, _ = resource_info(kind)
        doc = self._get_direct(f"/apis/{api_version}", what=f"discovering {api_version}")
        served = doc is not None and any(r.get("name") == plural for r in doc.get("resources", []) or [])
        if not served:
            if api_version.startswith("ray.io/"):
                raise ClusterError(
                    f"the cluster at {self.server} does not serve {kind} ({api_version}): "
                    "the KubeRay CRDs are not installed",
                    hint=KUBERAY_INSTALL_HINT,
                )
            raise ClusterError(f"the cluster at {self.server} does not serve {kind} ({api_version})")

    def ensure_namespace(self, name: str, *, dry_run: bool = False) -> ApplyResult | None:
        """Create namespace `name` when missing (kubectl create namespace); None when it already exists."""
        if self._get_direct(f"/api/v1/namespaces/{name}", what=f"reading namespace/{name}") is not None:
            return None
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        query: list[tuple[str, Any]] = [("fieldManager", "rayctl")]
        if dry_run:
            query.append(("dryRun", "All"))
        created = self._request("POST", "/api/v1/namespaces", query=query, body=body, what=f"creating namespace/{name}")
        return ApplyResult(
            ref=f"namespace/{name}",
            kind="Namespace",
            name=name,
            namespace=None,
            action="created",
            dry_run=dry_run,
            object=created,
        )

    def namespace_exists(self, name: str) -> bool:
        return self._get_direct(f"/api/v1/namespaces/{name}", what=f"reading namespace/{name}") is not None

    def apply(
        self, objs: Sequence[Obj], field_manager: str = "rayctl", force: bool = False, dry_run: bool = False
    ) -> list[ApplyResult]:
        """Server-side apply each object in order; report created / configured / unchanged per object."""
        results: list[ApplyResult] = []
        for obj in objs:
            results.append(self._apply_one(obj, field_manager=field_manager, force=force, dry_run=dry_run))
        return results

    def _apply_one(self, obj: Obj, *, field_manager: str, force: bool, dry_run: bool) -> ApplyResult:
        kind = str(obj.get("kind", ""))
        api_version = str(obj.get("apiVersion", ""))
        meta = obj.get("metadata") or {}
        name = str(meta.get("name", ""))
        if not kind or not api_version or not name:
            raise ClusterError(f"cannot apply an object without apiVersion/kind/metadata.name: {ref(obj)}")
        _, namespaced = resource_info(kind)
        namespace = (meta.get("namespace") or self.namespace) if namespaced else None
        body = copy.deepcopy(obj)
        if namespaced:
            body.setdefault("metadata", {})["namespace"] = namespace
        path = api_path(api_version, kind, namespace, name)
        what = f"{ref(obj)}"
        before = self._get_direct(path, what=f"reading {what}")
        query: list[tuple[str, Any]] = [
            ("fieldManager", field_manager),
            ("force", "true" if force else "false"),
        ]
        if dry_run:
            query.append(("dryRun", "All"))
        try:
            after = self._request(
                "PATCH",
                path,
                query=query,
                body=json.dumps(body),
                content_type="application/apply-patch+yaml",
                what=what,
            )
        except NotFoundError as exc:
            if namespaced and namespace and not self.namespace_exists(namespace):
                raise NotFoundError(
                    f"{what}: namespace {namespace!r} does not exist", hint="rerun with --create-namespace"
                ) from exc
            raise ClusterError(str(exc.message), hint=exc.hint) from exc
        action: Literal["created", "configured", "unchanged"]
        if before is None:
            action = "created"
        elif dry_run:
            action = "unchanged" if comparable(before) == comparable(after) else "configured"
        else:
            same_rv = before.get("metadata", {}).get("resourceVersion") == after.get("metadata", {}).get(
                "resourceVersion"
            )
            action = "unchanged" if same_rv else "configured"
        return ApplyResult(
            ref=ref(obj),
            kind=kind,
            name=name,
            namespace=namespace,
            action=action,
            dry_run=dry_run,
            object=after,
        )

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        propagation: str = "Background",
    ) -> bool:
        """Delete one object; False when it did not exist."""
        _, namespaced = resource_info(kind)
        ns = (namespace or self.namespace) if namespaced else None
        path = api_path(api_version, kind, ns, name)
        try:
            self._request(
                "DELETE",
                path,
                body={"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation},
                what=f"deleting {kind.lower()}/{name}",
            )
        except NotFoundError as exc:
            if "does not serve" in exc.message or "404 page not found" in exc.message:
                if api_version.startswith("ray.io/"):
                    raise ClusterError(
                        f"deleting {kind.lower()}/{name}: the KubeRay CRDs are not installed",
                        hint=KUBERAY_INSTALL_HINT,
                    ) from exc
                raise ClusterError(exc.message) from exc
            return False
        return True

    def wait_gone(
        self,
        api_version: str,
        kind: str,
        names: Iterable[str],
        namespace: str | None = None,
        *,
        timeout: float = 300.0,
        interval: float = 1.0,
        on_tick: Callable[[list[str]], None] | None = None,
    ) -> list[str]:
        """Poll until none of `names` exists; returns the ones still present at the timeout (empty = all
        gone)."""
        deadline = time.monotonic() + timeout
        remaining = list(names)
        while True:
            remaining = [n for n in remaining if self.get(api_version, kind, n, namespace) is not None]
            if on_tick is not None:
                on_tick(remaining)
            if not remaining or time.monotonic() >= deadline:
                return remaining
            time.sleep(interval)
