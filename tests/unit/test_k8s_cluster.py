"""The client layer (rayctl.k8s): server-side apply results; every client failure as a one-line error.

The official client is replaced by a fake ApiClient (param_serialize/call_api) that plays an API server from a
dict; the exception types are the real ones (kubernetes ApiException, urllib3, kr8s ServerError, httpx).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from rayctl.errors import ClusterError, ConflictError, ExitCode, NotFoundError
from rayctl.k8s.cluster import Cluster, api_path, ref, resource_info
from rayctl.k8s.errors import KUBERAY_INSTALL_HINT, parse_status, wrap_exception
from rayctl.k8s.ops import apply_objects, set_namespace

RS = {
    "apiVersion": "ray.io/v1",
    "kind": "RayService",
    "metadata": {"name": "hello", "namespace": "ml"},
    "spec": {"serveConfigV2": "applications: []\n"},
}


class Resp:
    def __init__(self, status: int, body: Any, reason: str = "") -> None:
        self.status = status
        self.reason = reason
        self.data = body if isinstance(body, bytes) else json.dumps(body).encode()

    def read(self) -> bytes:
        return self.data


def status_body(code: int, reason: str, message: str, **details: Any) -> dict[str, Any]:
    return {
        "kind": "Status",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
        "details": details,
    }


class FakeApiServer:
    """Enough of an API server for SSA: objects by path, resourceVersion bumps on real changes."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.rv = 100
        self.calls: list[tuple[str, str, list[tuple[str, Any]]]] = []
        self.fail: dict[tuple[str, str], Resp] = {}
        self.served = {"/apis/ray.io/v1": {"resources": [{"name": "rayservices"}, {"name": "rayclusters"}]}}
        self.namespaces = {"ml"}

    # the ApiClient surface Cluster uses
    def param_serialize(self, method: str, path: str, **kw: Any) -> tuple[Any, ...]:
        return (method, path, kw.get("query_params") or [], kw.get("body"))

    def call_api(
        self, method: str, path: str, query: list[tuple[str, Any]], body: Any, _request_timeout: Any = None
    ) -> Resp:
        self.calls.append((method, path, query))
        if (method, path) in self.fail:
            return self.fail[(method, path)]
        if method == "GET" and path in self.served:
            return Resp(200, self.served[path])
        if method == "GET" and path.startswith("/api/v1/namespaces/") and path.count("/") == 4:
            ns = path.rsplit("/", 1)[1]
            return (
                Resp(200, {"metadata": {"name": ns}})
                if ns in self.namespaces
                else Resp(404, status_body(404, "NotFound", f'namespaces "{ns}" not found'))
            )
        if method == "GET":
            if path in self.objects:
                return Resp(200, self.objects[path])
            return Resp(404, status_body(404, "NotFound", "not found"))
        if method == "PATCH":
            obj = json.loads(body)
            q = dict(query)
            cur = self.objects.get(path)
            new = json.loads(json.dumps(obj))
            if (
                cur is not None
                and cur.get("spec") == obj.get("spec")
                and cur["metadata"].get("labels") == obj["metadata"].get("labels")
            ):
                new = cur
            else:
                self.rv += 1
                new["metadata"]["resourceVersion"] = str(self.rv)
            if q.get("dryRun") != "All":
                self.objects[path] = new
            return Resp(200, new)
        if method == "DELETE":
            if path in self.objects:
                del self.objects[path]
                return Resp(200, status_body(200, "", ""))
            return Resp(404, status_body(404, "NotFound", "not found"))
        if method == "POST":
            self.namespaces.add(json.loads(json.dumps(body))["metadata"]["name"])
            return Resp(201, body)
        raise AssertionError((method, path))


@pytest.fixture
def server() -> FakeApiServer:
    return FakeApiServer()


@pytest.fixture
def cluster(server: FakeApiServer) -> Cluster:
    return Cluster(api_client=server, namespace="ml", server="https://127.0.0.1:6443")


def test_paths_and_refs() -> None:
    assert api_path("ray.io/v1", "RayService", "ml", "x") == "/apis/ray.io/v1/namespaces/ml/rayservices/x"
    assert api_path("v1", "ConfigMap", "ml", "c") == "/api/v1/namespaces/ml/configmaps/c"
    assert api_path("v1", "Namespace", "ml", "n") == "/api/v1/namespaces/n"
    assert ref(RS) == "rayservice.ray.io/hello"
    assert ref({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}) == "configmap/c"
    assert resource_info("NetworkPolicy") == ("networkpolicies", True)
    assert resource_info("Gateway") == ("gateways", True)


def test_apply_created_unchanged_configured(cluster: Cluster, server: FakeApiServer) -> None:
    [r] = cluster.apply([RS])
    assert r.action == "created" and r.line() == "rayservice.ray.io/hello created"
    method, path, query = server.calls[-1]
    assert method == "PATCH" and path == "/apis/ray.io/v1/namespaces/ml/rayservices/hello"
    assert ("fieldManager", "rayctl") in query and ("force", "false") in query
    [r] = cluster.apply([RS])
    assert r.action == "unchanged"
    changed = json.loads(json.dumps(RS))
    changed["spec"]["serveConfigV2"] = "applications: [{name: x}]\n"
    [r] = cluster.apply([changed], force=True)
    assert r.action == "configured"
    assert ("force", "true") in server.calls[-1][2]


def test_dry_run_does_not_persist(cluster: Cluster, server: FakeApiServer) -> None:
    [r] = cluster.apply([RS], dry_run=True)
    assert r.action == "created" and r.dry_run and r.line().endswith("(server dry run)")
    assert ("dryRun", "All") in server.calls[-1][2]
    assert not server.objects
    cluster.apply([RS])
    changed = json.loads(json.dumps(RS))
    changed["spec"]["serveConfigV2"] = "x: 1\n"
    assert cluster.apply([changed], dry_run=True)[0].action == "configured"
    assert cluster.apply([RS], dry_run=True)[0].action == "unchanged"


def test_conflict_names_owner_and_field(cluster: Cluster, server: FakeApiServer) -> None:
    path = "/apis/ray.io/v1/namespaces/ml/rayservices/hello"
    server.fail[("PATCH", path)] = Resp(
        409,
        status_body(
            409,
            "Conflict",
            'Apply failed with 1 conflict: conflict with "other" using ray.io/v1: .spec.serveConfigV2',
            causes=[
                {
                    "type": "FieldManagerConflict",
                    "message": 'conflict with "other" using ray.io/v1',
                    "field": ".spec.serveConfigV2",
                }
            ],
        ),
    )
    with pytest.raises(ConflictError) as info:
        cluster.apply([RS])
    assert info.value.exit_code == ExitCode.CONFLICT
    assert ".spec.serveConfigV2 is owned by field manager 'other'" in info.value.message
    assert "--force-conflicts" in str(info.value)
    assert "\n" not in info.value.message


@pytest.mark.parametrize(
    ("code", "reason", "message", "expect", "exc_type"),
    [
        (401, "Unauthorized", "Unauthorized", "401 Unauthorized", ClusterError),
        (
            403,
            "Forbidden",
            'rayservices.ray.io "hello" is forbidden: User "bob" cannot patch resource',
            'forbidden (403): rayservices.ray.io "hello" is forbidden: User "bob"',
            ClusterError,
        ),
        (
            422,
            "Invalid",
            'RayService.ray.io "hello" is invalid: spec.rayClusterConfig: Required value',
            "rejected by the API server (422 Invalid): RayService.ray.io",
            ClusterError,
        ),
        (
            500,
            "InternalError",
            "Internal error occurred: failed calling webhook",
            "API server error (500 InternalError)",
            ClusterError,
        ),
    ],
)
def test_http_errors(
    cluster: Cluster,
    server: FakeApiServer,
    code: int,
    reason: str,
    message: str,
    expect: str,
    exc_type: type[Exception],
) -> None:
    server.fail[("PATCH", "/apis/ray.io/v1/namespaces/ml/rayservices/hello")] = Resp(
        code, status_body(code, reason, message)
    )
    with pytest.raises(exc_type) as info:
        cluster.apply([RS])
    err = info.value
    assert type(err) is exc_type
    assert expect in str(err)
    assert "\n" not in getattr(err, "message", "")


def test_missing_crd_is_actionable(cluster: Cluster, server: FakeApiServer) -> None:
    server.served = {}
    with pytest.raises(ClusterError) as info:
        apply_objects(cluster, [RS])
    assert "KubeRay CRDs are not installed" in info.value.message
    assert info.value.hint == KUBERAY_INSTALL_HINT
    assert "helm install kuberay-operator kuberay/kuberay-operator --version 1.7.0" in str(info.value)


def test_missing_namespace_hint_and_create(cluster: Cluster, server: FakeApiServer) -> None:
    objs = set_namespace([RS], "newns")
    server.fail[("PATCH", "/apis/ray.io/v1/namespaces/newns/rayservices/hello")] = Resp(
        404, status_body(404, "NotFound", 'namespaces "newns" not found')
    )
    with pytest.raises(NotFoundError) as info:
        apply_objects(cluster, objs)
    assert info.value.hint == "rerun with --create-namespace"
    del server.fail[("PATCH", "/apis/ray.io/v1/namespaces/newns/rayservices/hello")]
    results = apply_objects(cluster, objs, create_namespace=True)
    assert [r.line() for r in results] == ["namespace/newns created", "rayservice.ray.io/hello created"]


def test_dry_run_into_missing_namespace(cluster: Cluster, server: FakeApiServer) -> None:
    objs = set_namespace([RS], "newns")
    server.fail[("POST", "/api/v1/namespaces")] = Resp(201, {"metadata": {"name": "newns"}})
    results = apply_objects(cluster, objs, create_namespace=True, dry_run=True)
    assert results[0].line() == "namespace/newns created (server dry run)"
    assert "not sent: namespace newns does not exist yet" in results[1].line()


def test_delete(cluster: Cluster) -> None:
    assert cluster.delete("ray.io/v1", "RayService", "nope") is False
    cluster.apply([RS])
    assert cluster.delete("ray.io/v1", "RayService", "hello") is True


def test_delete_without_crd(cluster: Cluster, server: FakeApiServer) -> None:
    server.fail[("DELETE", "/apis/ray.io/v1/namespaces/ml/rayservices/x")] = Resp(404, b"404 page not found")
    with pytest.raises(ClusterError) as info:
        cluster.delete("ray.io/v1", "RayService", "x")
    assert info.value.hint == KUBERAY_INSTALL_HINT


# ---- wrap_exception on the real client exception types ----


def test_wrap_api_exception() -> None:
    exc = ApiException(status=403, reason="Forbidden")
    exc.body = json.dumps(status_body(403, "Forbidden", 'pods is forbidden: User "x" cannot list resource "pods"'))
    err = wrap_exception(exc, what="listing pods")
    assert isinstance(err, ClusterError)
    assert err.message == 'listing pods: forbidden (403): pods is forbidden: User "x" cannot list resource "pods"'


def test_wrap_connection_refused() -> None:
    inner = urllib3.exceptions.NewConnectionError(
        None,
        "Failed to establish a new connection: [Errno 111] "  # type: ignore[arg-type]
        "Connection refused",
    )
    exc = urllib3.exceptions.MaxRetryError(None, "/api", inner)  # type: ignore[arg-type]
    err = wrap_exception(exc, what="rayservice.ray.io/x", server="https://127.0.0.1:1")
    assert isinstance(err, ClusterError) and err.exit_code == ExitCode.CLUSTER
    assert err.message == "rayservice.ray.io/x: cannot reach the API server at https://127.0.0.1:1: connection refused"


def test_wrap_kr8s_server_error() -> None:
    from kr8s import ServerError

    response = httpx.Response(
        401,
        json=status_body(401, "Unauthorized", "Unauthorized"),
        request=httpx.Request("GET", "https://x/api"),
    )
    exc = ServerError("Unauthorized", status=response.json(), response=response)
    err = wrap_exception(exc, what="reading rayservice/x")
    assert "401 Unauthorized" in err.message and "credentials" in (err.hint or "")


def test_wrap_httpx_connect_error() -> None:
    exc = httpx.ConnectError("[Errno 111] Connection refused")
    err = wrap_exception(exc, what="listing pods", server="https://h:1")
    assert err.message == "listing pods: cannot reach the API server at https://h:1: connection refused"


def test_wrap_config_exception() -> None:
    from kubernetes.config.config_exception import ConfigException

    err = wrap_exception(ConfigException("Invalid kube-config file. Expected key current-context"), what="x")
    assert err.message.startswith("invalid Kubernetes client configuration: Invalid kube-config file")


def test_parse_status_plain_text() -> None:
    st = parse_status(404, "Not Found", b"404 page not found\n")
    assert st.is_missing_route and st.message == "404 page not found"
    st = parse_status(404, "Not Found", json.dumps(status_body(404, "NotFound", 'x "y" not found')))
    assert not st.is_missing_route


class FakeKr8s:
    def __init__(self, items: list[dict[str, Any]] | Exception) -> None:
        self.items = items
        self.calls: list[tuple[Any, tuple[str, ...], dict[str, Any]]] = []

    def get(self, cls: Any, *names: str, **kw: Any) -> list[dict[str, Any]]:
        self.calls.append((cls, names, kw))
        if isinstance(self.items, Exception):
            raise self.items
        return self.items


def test_reads_go_through_kr8s(server: FakeApiServer) -> None:
    fake = FakeKr8s([{"metadata": {"name": "hello"}}])
    c = Cluster(api_client=server, kr8s_factory=lambda: fake, namespace="ml")
    assert c.get_rayservice("hello") == {"metadata": {"name": "hello"}}
    cls, names, kw = fake.calls[-1]
    assert cls.kind == "RayService" and cls.version == "ray.io/v1" and cls.plural == "rayservices"
    assert names == ("hello",) and kw["namespace"] == "ml" and kw["raw"] is True
    assert c.list_pods(label_selector="ray.io/cluster=x") == [{"metadata": {"name": "hello"}}]
    assert fake.calls[-1][2]["label_selector"] == "ray.io/cluster=x"


def test_kr8s_errors_are_wrapped(server: FakeApiServer) -> None:
    c = Cluster(
        api_client=server,
        kr8s_factory=lambda: FakeKr8s(httpx.ConnectError("Connection refused")),
        namespace="ml",
        server="https://h:1",
    )
    with pytest.raises(ClusterError) as info:
        c.get_rayservice("x")
    assert "cannot reach the API server at https://h:1: connection refused" in info.value.message
