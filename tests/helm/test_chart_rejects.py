"""Every spec rayctl rejects, Helm rejects too: by values.schema.json (rayctl's own schema) or by the chart's
`fail` checks (rayctl's validators and rules, same wording). One row per reason; each row also checks that rayctl
rejects it, so the table cannot drift into testing nothing. The last table lists what Helm cannot see (its values are
float64 and coalesced), asserting the gap so a change in either tool shows up here."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from rayctl.errors import InputError
from tests.conftest import EXAMPLES
from tests.helm.chart import Helm, write_spec

Mutation = Callable[[dict[str, Any]], None]
HELLO = yaml.safe_load((EXAMPLES / "hello.yaml").read_text())
LLAMA_70B = yaml.safe_load((EXAMPLES / "llama-70b-tp4.yaml").read_text())


def _app(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["serve"]["applications"][0]  # type: ignore[no-any-return]


def _group(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["workerGroups"][0]  # type: ignore[no-any-return]


# (id, base spec, mutation, what rayctl says, what Helm says)
SCHEMA_REJECTS: list[tuple[str, dict[str, Any], Mutation, str, str]] = [
    ("unknown-key", HELLO, lambda s: s.update(workerGroup=[]), "unknown key 'workerGroup'",
     "additional properties 'workerGroup' not allowed"),
    ("unknown-nested-key", HELLO, lambda s: _group(s).update(cpuu=2), "unknown key 'cpuu'",
     "at '/workerGroups/0': additional properties 'cpuu' not allowed"),
    ("string-for-int", HELLO, lambda s: _group(s).update(replicas="2"), "workerGroups[0].replicas",
     "at '/workerGroups/0/replicas': got string, want integer"),
    ("number-for-name", HELLO, lambda s: s.update(name=7), "name", "at '/name': got number, want string"),
    ("enum", HELLO, lambda s: s.update(ray={"imagePullPolicy": "Sometimes"}), "ray.imagePullPolicy",
     "at '/ray/imagePullPolicy'"),
    ("unknown-app-type", HELLO, lambda s: _app(s).update(type="nope"), "serve.applications[0]",
     "at '/serve/applications/0/type': value must be one of 'ab', 'classifier', 'custom', 'hello', 'llm'"),
    ("missing-required", HELLO, lambda s: s["serve"].update(applications=[{"name": "c", "type": "llm"}]),
     "serve.applications[0]", "at '/serve/applications/0': missing property 'model'"),
    ("quantity-fractional-exponent", HELLO, lambda s: _group(s).update(cpu="1e1.5"), "is not a Kubernetes quantity",
     "at '/workerGroups/0/cpu'"),
    ("quantity-negative", HELLO, lambda s: _group(s).update(cpu=-2), "is negative", "at '/workerGroups/0/cpu'"),
    ("missing-name", HELLO, lambda s: s.pop("name"), "name", "missing property 'name'"),
    ("missing-serve", HELLO, lambda s: s.pop("serve"), "serve", "at '/serve': missing property 'applications'"),
    ("below-minimum", HELLO, lambda s: _group(s).update(replicas=-1), "workerGroups[0].replicas",
     "at '/workerGroups/0/replicas': minimum: got -1, want 0"),
    ("above-maximum", HELLO, lambda s: s["serve"].update(httpPort=70000), "serve.httpPort",
     "at '/serve/httpPort': maximum: got 70,000, want 65,535"),
    ("no-applications", HELLO, lambda s: s["serve"].update(applications=[]), "serve.applications",
     "at '/serve/applications': minItems: got 0, want 1"),
    ("one-variant", HELLO, lambda s: s["serve"].update(applications=[
        {"name": "ab", "type": "ab", "variants": [{"name": "a", "weight": 1}]}]), "variants",
     "minItems: got 1, want 2"),
    ("pattern", HELLO, lambda s: s.update(ray={"secretEnv": [{"name": "1BAD", "secretName": "s", "key": "k"}]}),
     "ray.secretEnv[0].name", "at '/ray/secretEnv/0/name'"),
    ("bool-label", HELLO, lambda s: s.update(labels={"team": True}), "labels.team", "at '/labels/team'"),
    ("bool-for-number", HELLO, lambda s: _group(s).update(gpus=True), "workerGroups[0].gpus",
     "at '/workerGroups/0/gpus': got boolean, want integer"),
]

CHECK_REJECTS: list[tuple[str, dict[str, Any], Mutation, str, str]] = [
    ("name-too-long", HELLO, lambda s: s.update(name="a" * 48), "KubeRay allows at most 47",
     "name: '" + "a" * 48 + "' is 48 characters; KubeRay allows at most 47"),
    ("name-dns-1035", HELLO, lambda s: s.update(name="1hello"), "is not a DNS-1035 label",
     "name: '1hello' is not a DNS-1035 label"),
    ("namespace", HELLO, lambda s: s.update(namespace="Bad_NS"), "not a valid namespace name",
     "namespace: 'Bad_NS' is not a valid namespace name (DNS-1123 label)"),
    ("group-name-dns", HELLO, lambda s: _group(s).update(name="CPU_Pool"), "must be a DNS-1123 label",
     "workerGroups[0].name: 'CPU_Pool' must be a DNS-1123 label"),
    ("group-names-unique", HELLO, lambda s: s["workerGroups"].append(dict(_group(s))),
     "worker group names must be unique; repeated: cpu", "worker group names must be unique; repeated: cpu"),
    ("replicas-in-bounds", HELLO, lambda s: _group(s).update(replicas=5), "replicas (5) must lie within",
     "workerGroups[0]: replicas (5) must lie within minReplicas..maxReplicas (1..2)"),
    ("min-above-max", HELLO, lambda s: _group(s).update(minReplicas=3, replicas=3),
     "minReplicas (3) is greater than maxReplicas (2)", "workerGroups[0]: minReplicas (3) is greater than"),
    ("app-names-unique", HELLO, lambda s: s["serve"]["applications"].append({**_app(s), "routePrefix": "/other"}),
     "application names must be unique; repeated: hello", "application names must be unique; repeated: hello"),
    ("routes-unique", HELLO, lambda s: s["serve"]["applications"].append({"name": "b", "type": "hello",
                                                                           "routePrefix": "/hello"}),
     "route prefixes must be unique; repeated: /hello", "serve: route prefixes must be unique; repeated: /hello"),
    ("route-is-a-path", HELLO, lambda s: _app(s).update(routePrefix="hello"), "must start with '/'",
     "serve.applications[0].routePrefix: route prefix 'hello' must start with '/'"),
    ("route-trailing-slash", HELLO, lambda s: _app(s).update(routePrefix="/hello/"), "must not end with '/'",
     "route prefix '/hello/' must not end with '/'"),
    ("num-replicas-xor-autoscaling", HELLO,
     lambda s: _app(s)["deployments"]["Hello"].update(autoscaling={"maxReplicas": 3}),
     "numReplicas and autoscaling are mutually exclusive",
     "serve.applications[0].deployments.Hello: numReplicas and autoscaling are mutually exclusive"),
    ("num-replicas-zero", HELLO, lambda s: _app(s)["deployments"]["Hello"].update(numReplicas=0),
     "numReplicas must be at least 1", "numReplicas must be at least 1"),
    ("strategy-needs-bundles", HELLO,
     lambda s: _app(s)["deployments"]["Hello"].update(placementGroupStrategy="PACK"),
     "placementGroupStrategy requires placementGroupBundles", "placementGroupStrategy requires placementGroupBundles"),
    ("per-node-with-bundles", HELLO, lambda s: _app(s)["deployments"]["Hello"].update(
        placementGroupBundles=[{"CPU": 1}], maxReplicasPerNode=1), "maxReplicasPerNode cannot be combined",
     "maxReplicasPerNode cannot be combined with placementGroupBundles"),
    ("serve-autoscaling-bounds", HELLO, lambda s: _app(s)["deployments"].update(
        Hello={"autoscaling": {"minReplicas": 3, "maxReplicas": 2}}), "minReplicas (3) is greater than maxReplicas (2)",
     "deployments.Hello.autoscaling: minReplicas (3) is greater than maxReplicas (2)"),
    ("serve-initial-replicas", HELLO, lambda s: _app(s)["deployments"].update(
        Hello={"autoscaling": {"maxReplicas": 2, "initialReplicas": 5}}), "initialReplicas (5) must lie within",
     "initialReplicas (5) must lie within minReplicas..maxReplicas (1..2)"),
    ("unknown-deployment", HELLO, lambda s: _app(s)["deployments"].update(Helo={"numReplicas": 1}),
     "app type 'hello' has no deployment 'Helo'",
     "app type 'hello' has no deployment 'Helo'; its deployments are: Hello"),
    ("ab-unique-variants", HELLO, lambda s: s["serve"].update(applications=[{"name": "ab", "type": "ab", "variants": [
        {"name": "a", "weight": 1}, {"name": "a", "weight": 2}]}]), "variant names must be unique",
     "variant names must be unique, got ['a', 'a']"),
    ("ab-weights", HELLO, lambda s: s["serve"].update(applications=[{"name": "ab", "type": "ab", "variants": [
        {"name": "a", "weight": 0}, {"name": "b", "weight": 0}]}]), "at least one variant needs a weight above 0",
     "at least one variant needs a weight above 0"),
    ("ab-unknown-deployment", HELLO, lambda s: s["serve"].update(applications=[{
        "name": "ab", "type": "ab", "variants": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1}],
        "deployments": {"Variant_c": {}}}]),
     "app type 'ab' has no deployment 'Variant_c'",
     "app type 'ab' has no deployment 'Variant_c'; its deployments are: ABRouter, Variant_a, Variant_b"),
    ("llm-bundles", LLAMA_70B, lambda s: _app(s).update(deployment={"placementGroupBundles": [{"GPU": 1}]}),
     "llm apps compute their placement group", "llm apps compute their placement group"),
    ("llm-engine-kwargs", LLAMA_70B, lambda s: _app(s).update(engineKwargs={"tensor_parallel_size": 2}),
     "set tensorParallelSize on the app instead of engineKwargs.tensor_parallel_size",
     "set tensorParallelSize on the app instead of engineKwargs.tensor_parallel_size"),
    ("llm-no-deployments", LLAMA_70B, lambda s: _app(s).update(deployments={"X": {}}),
     "app type 'llm' has no deployment 'X'", "its deployments are: (none: use `deployment`)"),
    ("incremental-needs-options", HELLO, lambda s: s.update(upgradeStrategy={
        "type": "NewClusterWithIncrementalUpgrade"}), "needs clusterUpgradeOptions.gatewayClassName",
     "upgradeStrategy: type NewClusterWithIncrementalUpgrade needs clusterUpgradeOptions.gatewayClassName"),
    ("options-need-incremental", HELLO, lambda s: s.update(upgradeStrategy={
        "type": "None", "clusterUpgradeOptions": {"gatewayClassName": "istio"}}),
     "clusterUpgradeOptions only applies to NewClusterWithIncrementalUpgrade, not None",
     "clusterUpgradeOptions only applies to NewClusterWithIncrementalUpgrade, not None"),
    ("quantity-too-large", HELLO, lambda s: _group(s).update(cpu="1e400"), "is not a Kubernetes quantity",
     "workerGroups[0].cpu: '1e400' is not a Kubernetes quantity (examples: 4, 500m, 16Gi)"),
    ("quantity-exponent-beyond-int32", HELLO, lambda s: _group(s).update(memory="0e2147483648"),
     "is not a Kubernetes quantity",
     "workerGroups[0].memory: '0e2147483648' is not a Kubernetes quantity (examples: 4, 500m, 16Gi)"),
    ("quantity-word", HELLO, lambda s: s.update(head={"memory": "lots"}), "is not a Kubernetes quantity",
     "at '/head/memory'"),
    ("secret-env-twice", HELLO, lambda s: s.update(ray={"secretEnv": [{"name": "T", "secretName": "a", "key": "k"},
                                                                       {"name": "T", "secretName": "b", "key": "k"}]}),
     "secretEnv defines T more than once", "ray: secretEnv defines T more than once: keep one entry per name"),
    ("env-and-secret-env", HELLO, lambda s: s.update(ray={"env": {"T": "x"},
                                                          "secretEnv": [{"name": "T", "secretName": "a", "key": "k"}]}),
     "T is set in both env and secretEnv", "ray: T is set in both env and secretEnv: the container would get two "
     "entries and the later one silently wins; keep it in secretEnv only"),
    ("drain-env-by-hand", HELLO, lambda s: s.update(ray={"secretEnv": [
        {"name": "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S", "secretName": "a", "key": "k"}]}),
     "set drainSeconds on the groups instead", "ray: RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S is set from "
     "workerGroups[].drainSeconds (which also sizes the worker pods' terminationGracePeriodSeconds): set "
     "drainSeconds on the groups instead"),
    ("http-port-is-ray-metrics", HELLO, lambda s: s["serve"].update(httpPort=8080), "httpPort 8080 is the port of",
     "serve: httpPort 8080 is the port of Ray's metrics export (--metrics-export-port, KubeRay's default): Serve's "
     "proxy could not bind it; pick another (8000 is Serve's default)"),
    ("scraped-haproxy-without-it", HELLO, lambda s: s.update(monitoring={"podMonitor": {"ports": ["haproxy-metrics"]}}),
     "'haproxy-metrics' is served only in Serve's HAProxy mode",
     "monitoring.podMonitor.ports: 'haproxy-metrics' is served only in Serve's HAProxy mode: set "
     "serve.highThroughput: true or drop the port"),
    ("strict-pack-tp-pp", LLAMA_70B, lambda s: _app(s).update(pipelineParallelSize=2),
     "needs 8 GPUs on one node under STRICT_PACK, but the largest GPU worker pod has 4",
     "tensor_parallel_size x pipeline_parallel_size = 4x2 needs 8 GPUs on one node under STRICT_PACK, but the "
     "largest GPU worker pod has 4; raise workerGroups[].gpus to 8 or lower the parallelism"),
    # literal secrets (rayctl/spec/inline_secrets.py, the chart's _secrets.tpl): the same finding, the same words
    ("secret-env-name", HELLO, lambda s: s.update(ray={"env": {"MY_TOKEN": "hunter2hunter2"}}),
     "ray.env.MY_TOKEN: a literal value for a secret-looking name would be written into the RayService",
     "ray.env.MY_TOKEN: a literal value for a secret-looking name would be written into the RayService in plain "
     "text (readable with `kubectl get -o yaml`, in etcd and in CI logs): put it in a Secret and reference it: "
     "ray.secretEnv: [{name: MY_TOKEN, secretName: <secret>, key: <key>}] (kubectl create secret generic <secret> "
     "--from-literal=<key>=...); every Ray container and the Serve replicas then read $MY_TOKEN; if it is not a "
     "secret, list 'ray.env.MY_TOKEN' in allowInlineSecrets"),
    ("secret-camel-case-name", HELLO, lambda s: s.update(ray={"env": {"openAIApiKey": "abcdefgh"}}),
     "ray.env.openAIApiKey: a literal value for a secret-looking name",
     "ray.env.openAIApiKey: a literal value for a secret-looking name would be written into the RayService in plain "
     "text (readable with `kubectl get -o yaml`, in etcd and in CI logs): put it in a Secret and reference it: "
     "ray.secretEnv: [{name: THE_VAR, secretName: <secret>, key: <key>}]"),
    ("secret-redis-start-param", HELLO, lambda s: s.update(head={"rayStartParams": {"redis-password": "pw"}}),
     "head.rayStartParams.redis-password: a literal value for a secret-looking name",
     "head.rayStartParams.redis-password: a literal value for a secret-looking name would be written into the "
     "RayService in plain text (readable with `kubectl get -o yaml`, in etcd and in CI logs): keep the Redis password "
     "in a Secret: gcsFaultTolerance.redisPasswordSecret: {name: redis, key: password} (and no password in "
     "redisAddress); if it is not a secret, list 'head.rayStartParams.redis-password' in allowInlineSecrets"),
    ("secret-url-credentials", LLAMA_70B, lambda s: _app(s)["model"].update(source="s3://AKIA:hunter2@bucket/llama"),
     "serve.applications[0].model.source: credentials in a URL would be written",
     "serve.applications[0].model.source: credentials in a URL would be written into the RayService in plain text "
     "(readable with `kubectl get -o yaml`, in etcd and in CI logs): drop the credentials from the URL and give them "
     "through ray.secretEnv (e.g. HF_TOKEN, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), read from a Secret"),
    ("secret-runtime-env", HELLO, lambda s: _app(s).update(runtimeEnv={"env_vars": {"DB_PASSWORD": "pw1234"}}),
     "serve.applications[0].runtimeEnv.env_vars.DB_PASSWORD: a literal value",
     "serve.applications[0].runtimeEnv.env_vars.DB_PASSWORD: a literal value for a secret-looking name would be "
     "written into the RayService in plain text (readable with `kubectl get -o yaml`, in etcd and in CI logs): put "
     "it in a Secret and reference it: ray.secretEnv: [{name: DB_PASSWORD, secretName: <secret>, key: <key>}] "
     "(kubectl create secret generic <secret> --from-literal=<key>=...); every Ray container and the Serve replicas "
     "then read $DB_PASSWORD; if it is not a secret"),
    ("secret-token-in-text", HELLO, lambda s: s.update(annotations={"note": "hf_" + "a1" * 20}),
     "annotations.note: an access token would be written",
     "annotations.note: an access token would be written into the RayService in plain text (readable with `kubectl "
     "get -o yaml`, in etcd and in CI logs): put it in a Secret and reference it: ray.secretEnv: [{name: THE_VAR, "
     "secretName: <secret>, key: <key>}] (kubectl create secret generic <secret> --from-literal=<key>=...); every Ray "
     "container and the Serve replicas then read $THE_VAR; have the application read that variable instead"),
    ("secret-allowance-unused", HELLO, lambda s: s.update(allowInlineSecrets=["ray.env.NOPE"]),
     "allowInlineSecrets: 'ray.env.NOPE' names no secret-looking value",
     "allowInlineSecrets: 'ray.env.NOPE' names no secret-looking value in this spec; list fields exactly as rayctl's "
     "errors name them, or drop the entry"),
    ("cpu-budget", HELLO, lambda s: s.update(profile="cpu", cpuProfile={"budget": {"memory": "2Gi"}}),
     "cpuProfile.budget.memory: 2 Ray pods need at least 2 x 1536Mi, but the budget is 2Gi",
     "cpuProfile.budget.memory: 2 Ray pods need at least 2 x 1536Mi, but the budget is 2Gi: raise "
     "cpuProfile.budget.memory, lower cpuProfile.minPodMemory, or lower workerGroups[].replicas"),
]

# What rayctl rejects and Helm cannot: a values file is parsed into float64s before anything sees it, and a null
# for a key that values.yaml sets means "use the default" in Helm's coalescing.
HELM_CANNOT_SEE: list[tuple[str, dict[str, Any], Mutation, str, str]] = [
    ("integral-float-for-int", HELLO, lambda s: _group(s).update(replicas=1.0), "workerGroups[0].replicas",
     "2.0 and 2 are the same float64 in a values file"),
    ("null-for-a-defaulted-map", HELLO, lambda s: s.update(autoscaling=None), "autoscaling",
     "Helm deletes a key set to null when values.yaml has it, so the default applies"),
]


# Texts the two YAML readers take differently (the hello example with one line changed): rayctl refuses each, with
# the fix (quote it); what Helm does with the unquoted text is asserted, so the gap stays visible.
HELLO_TEXT = (EXAMPLES / "hello.yaml").read_text()
READ_DIFFERENTLY: list[tuple[str, str, str, str, str | None]] = [
    # (id, line in hello.yaml, its replacement, what rayctl says, Helm's error (None: Helm renders, see below))
    ("label-1.10", "  team: platform", "  team: platform\n  version: 1.10", "would be read as 1.1 by Helm", None),
    ("label-y", "  team: platform", "  team: y", "y is a string to rayctl (YAML 1.1) but a boolean to Helm",
     "at '/labels/team'"),
    ("cpu-1e3", "    cpu: 2", "    cpu: 2e0", "2e0 is a string to rayctl (YAML 1.1) but a number to Helm", None),
]
HELM_RENDERS = {"label-1.10": ("labels", "version", "1.1"), "cpu-1e3": ("cpu", None, "2")}


def _spec_file(tmp_path: Path, base: dict[str, Any], mutate: Mutation) -> Path:
    spec = copy.deepcopy(base)
    mutate(spec)
    return write_spec(tmp_path / "spec.yaml", spec)


def _rayctl_error(path: Path) -> str:
    from rayctl.workflow import render_file

    with pytest.raises(InputError) as caught:
        render_file(path)
    return " ".join(str(caught.value).split())


@pytest.mark.parametrize(("base", "mutate", "rayctl_says", "helm_says"),
                         [pytest.param(*row[1:], id=row[0]) for row in SCHEMA_REJECTS + CHECK_REJECTS])
def test_helm_rejects_what_rayctl_rejects(helm: Helm, tmp_path: Path, base: dict[str, Any], mutate: Mutation,
                                          rayctl_says: str, helm_says: str) -> None:
    path = _spec_file(tmp_path, base, mutate)
    assert rayctl_says in _rayctl_error(path)
    proc = helm.template([path])
    assert proc.returncode != 0, proc.stdout[:2000]
    assert helm_says in proc.stderr, proc.stderr[-3000:]


@pytest.mark.parametrize(("base", "mutate", "rayctl_says", "why"),
                         [pytest.param(*row[1:], id=row[0]) for row in HELM_CANNOT_SEE])
def test_what_helm_cannot_see(helm: Helm, tmp_path: Path, base: dict[str, Any], mutate: Mutation,
                              rayctl_says: str, why: str) -> None:
    path = _spec_file(tmp_path, base, mutate)
    assert rayctl_says in _rayctl_error(path)
    proc = helm.template([path])
    assert proc.returncode == 0, (why, proc.stderr[-2000:])


def test_every_schema_row_is_rejected_by_the_schema_itself(helm: Helm, tmp_path: Path) -> None:
    """The first table is the schema's: Helm refuses those values before any template runs."""
    for name, base, mutate, _, _ in SCHEMA_REJECTS:
        proc = helm.template([_spec_file(tmp_path, base, mutate)])
        assert "values don't meet the specifications of the schema" in proc.stderr, (name, proc.stderr[-1500:])


@pytest.mark.parametrize(("line", "replacement", "rayctl_says", "helm_says"),
                         [pytest.param(*row[1:], id=row[0]) for row in READ_DIFFERENTLY])
def test_texts_the_two_yaml_readers_type_differently(helm: Helm, tmp_path: Path, request: pytest.FixtureRequest,
                                                     line: str, replacement: str, rayctl_says: str,
                                                     helm_says: str | None) -> None:
    assert line in HELLO_TEXT
    path = tmp_path / "spec.yaml"
    path.write_text(HELLO_TEXT.replace(line, replacement, 1))
    assert rayctl_says in _rayctl_error(path)
    proc = helm.template([path])
    if helm_says is not None:
        assert proc.returncode != 0 and helm_says in proc.stderr, proc.stderr[-2000:]
        return
    assert proc.returncode == 0, proc.stderr[-2000:]
    [service] = [d for d in yaml.safe_load_all(proc.stdout) if d and d["kind"] == "RayService"]
    where, key, value = HELM_RENDERS[request.node.callspec.id]
    if where == "labels":
        assert service["metadata"]["labels"][key] == value
    else:
        worker = service["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]
        assert worker["resources"]["requests"]["cpu"] == value



@pytest.mark.parametrize("mutate", [
    lambda s: s.update(ray={"env": {"MY_TOKEN": "hunter2"}}, allowInlineSecrets=["ray.env.MY_TOKEN"]),
    lambda s: s.update(ray={"env": {"HF_TOKEN_PATH": "/secrets/hf", "AWS_REGION": "us-east-1", "MAX_TOKENS": "x1",
                                    "MY_TOKEN": "$(FROM_SECRET)", "API_KEY": "true"}}),
], ids=["allowed-on-purpose", "only-looks-like-one"])
def test_values_that_only_look_like_secrets_render_in_both(helm: Helm, tmp_path: Path, mutate: Mutation) -> None:
    from rayctl.workflow import render_file

    path = _spec_file(tmp_path, HELLO, mutate)
    render_file(path).require_rendered()
    proc = helm.template([path])
    assert proc.returncode == 0, proc.stderr[-2000:]


SECRET_NAMES = ["HF_TOKEN", "hfToken", "HFToken", "MAX_TOKENS", "tokenizer", "AWS_PROFILE", "AWS_SESSION_TOKEN",
                "api_key", "KEY", "MONKEY", "DB_PASSWD", "PASSWORD_FILE", "secretName", "MySecretRef", "redis-password",
                "clientSecret", "X_CREDENTIALS", "passwordHash", "TOKEN_TTL", "GCS_APIKEY", "Token2", "my.api-key"]
SECRET_VALUES = ["hunter2", "$(FROM_SECRET)", "1.5", "off", "redis://:pw@redis:6379"]


def test_secret_names_and_values_are_judged_alike(helm: Helm, tmp_path: Path) -> None:
    """rayctl/secrets.py's rules and the chart's port of them (_secrets.tpl) over names and values picked to sit on
    their edges (camelCase runs, AWS settings, *_KEY, where-words): the same verdict, the same field named."""
    from rayctl.workflow import render_file

    verdicts = []
    for index, (name, value) in enumerate((n, v) for n in SECRET_NAMES for v in SECRET_VALUES):
        path = write_spec(tmp_path / f"s{index}.yaml", {**copy.deepcopy(HELLO), "ray": {"env": {name: value}}})
        try:
            render_file(path)
            ours = None
        except InputError as exc:
            ours = str(exc)
        proc = helm.template([path])
        theirs = proc.stderr if proc.returncode else None
        verdicts.append((name, value, ours is not None))
        assert (ours is None) == (theirs is None), (name, value, ours, theirs)
        if ours is not None and theirs is not None:
            assert f"ray.env.{name}: " in ours and f"ray.env.{name}: " in theirs, (ours, theirs)
    rejected = sum(v[2] for v in verdicts)
    assert 0 < rejected < len(verdicts), verdicts  # both verdicts occur, or the table tests nothing
