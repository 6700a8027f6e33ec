"""Hostile inputs for `rayctl render` and `rayctl validate`: a deterministic generator plus the committed seeds.

A `Case` is one command line with the files it reads. The generator derives cases from the shipped examples and
their rendered manifests, so new spec fields and new examples are fuzzed without editing this file:

* `structure`: YAML that a parser must bound or refuse: alias bombs, recursive aliases, complex and duplicate keys,
  nesting far past any real file (also inside free-form fields such as `runtimeEnv` and `args`, and inside a
  manifest's `serveConfigV2` string), huge files, odd encodings, tags, merge keys, multi-document specs;
* `types`: every field of every example replaced by values of other types and extreme sizes;
* `numbers`: numeric extremes in the fields that size work (tensor parallelism, replicas, GPUs, bundles, ports);
* `set`: `--set` paths and values (malformed paths, huge indexes, recursive and huge values, type changes);
* `manifest`: rendered RayServices with wrong types and extremes anywhere (as YAML, JSON and v1 Lists);
* `cli`: files and folders that are not what the flag expects (init into a missing dir or onto a dir, a `--crd-dir`
  with a broken, non-UTF-8 or schema-less CRD, output files in missing folders, ...);
* `seed`: the committed files in tests/hostile/seeds/ (the named shapes of issue 9), each with the exit code it
  must give (`# expect: N` on its first line).

Placeholders in `argv`: `{dir}` is the case's own folder (its `files` are written there), `{crds}` the KubeRay CRD
folder.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.trees import paths as tree_paths

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES = ROOT / "manifests" / "examples"
RENDERED = ROOT / "manifests" / "rendered"
SEEDS = Path(__file__).resolve().parent / "seeds"
SEED = 20261209  # the generator's fixed seed: the corpus is the same on every run


@dataclass(frozen=True)
class Case:
    name: str
    family: str
    argv: tuple[str, ...]
    files: dict[str, bytes] = field(default_factory=dict)
    stdin: str | None = None
    expect: frozenset[int] = frozenset({0, 2, 3})  # allowed exit codes
    never_print: tuple[str, ...] = ()  # text (a secret) that must appear on neither stdout nor stderr


def _dump(data: Any) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000).encode("utf-8")


def _specs() -> dict[str, Any]:
    return {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(EXAMPLES.glob("*.yaml"))}


def _manifests() -> dict[str, list[Any]]:
    return {p.stem: [d for d in yaml.safe_load_all(p.read_text(encoding="utf-8")) if d is not None]
            for p in sorted(RENDERED.glob("*.yaml"))}




def _replace(tree: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(tree)
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


def _nested(depth: int, leaf: Any = 1, kind: str = "list") -> Any:
    value = leaf
    for _ in range(depth):
        value = [value] if kind == "list" else {"k": value}
    return value


def _flow_nesting(depth: int) -> str:
    return "[" * depth + "]" * depth


HOSTILE_VALUES: list[Any] = [
    None, True, False, 0, -1, 7, 2**31, -(2**31) - 1, 2**63, 10**40, 0.5, 1e308, -1e308, float("inf"),
    float("nan"), "", " ", "x" * 5000, "500m", "1e3", "1e999", "y", "on", "0x1F", "12:30", "\x00", "\u2603",
    "\u202eevil", "a\nb", "${HOME}", "{{ .Values }}", [], [None], [1, "a", {}], {}, {"": 1}, {"a": {"b": {"c": {}}}},
    _nested(40), _nested(40, kind="map"), {str(i): i for i in range(300)}, list(range(3000)),
]
"""Values of every type and extreme size, put in place of every field."""

NUMERIC_FIELDS: dict[tuple[Any, ...], list[Any]] = {
    ("workerGroups", 0, "replicas"): [2**31, 2**31 - 1, 10**12, -5, 1.5],
    ("workerGroups", 0, "maxReplicas"): [2**31, 2**63, 10**100],
    ("workerGroups", 0, "minReplicas"): [2**31 - 1, -1],
    ("workerGroups", 0, "numOfHosts"): [10**9, 2**31, 0],
    ("workerGroups", 0, "gpus"): [10**9, 2**31, 2**63, 0.5],
    ("workerGroups", 0, "cpu"): ["1e299", "1e300", "9999999999999999999999", "0.0000000001", "1e-30", 10**30],
    ("workerGroups", 0, "memory"): ["9Ei", "99999Ei", "500m", "1e18", "0.5", 2**70],
    ("workerGroups", 0, "idleTimeoutSeconds"): [2**40, -1],
    ("head", "cpu"): ["1e299", "1e400", "-1", "1e-300"],
    ("head", "memory"): ["500m", "1.5", "1e30", "-1Gi"],
    ("serve", "httpPort"): [0, 65536, 2**31, 6379, 8265, 10001, 8080],
    ("serve", "requestTimeoutS"): [1e308, float("inf"), 0],
    ("autoscaling", "idleTimeoutSeconds"): [2**31, 2**63, -1],
}

LLM_NUMERIC: dict[str, list[Any]] = {
    "tensorParallelSize": [10**9, 2**31, 10**6, 1000, 65, 9, 8],
    "pipelineParallelSize": [10**9, 2**31, 4096],
    "maxModelLen": [2**63, 10**12],
    "bundleCpus": [1e308, float("inf"), 10**12],
    "bundleGpus": [1e308, 10**9, 0.001],
}

DEPLOYMENT_NUMERIC: dict[str, list[Any]] = {
    "numReplicas": [10**9, 2**31, 2**63],
    "maxOngoingRequests": [2**63, 10**30],
    "maxQueuedRequests": [2**63, -2],
    "maxReplicasPerNode": [2**63],
    "autoscaling": [{"minReplicas": 0, "maxReplicas": 10**12}, {"minReplicas": 2**31, "maxReplicas": 2**32},
                    {"maxReplicas": 5, "targetOngoingRequests": 1e-320}],
    "rayActorOptions": [{"numCpus": 1e308}, {"numGpus": 10**9}, {"memory": "500m"}, {"memory": "9Ei"},
                        {"numCpus": float("nan")}, {"resources": {"x": 1e308}}],
    "placementGroupBundles": [[{"CPU": 1}] * 100_000, [{"CPU": 1e308}], [{"GPU": 10**12}], [{}]],
}

SET_ASSIGNMENTS: list[str] = [
    # malformed paths
    "", "=", "=x", "novalue", ".=1", "..=1", "a..b=1", "[0]=1", "a[=1", "a]=1", "a[x]=1", "a[-1]=1", "a[0=1",
    "workerGroups[99999999999999999999999]=1", "workerGroups[0][0]=1", "workerGroups.0=1", "serve..http=1",
    "serve.applications[0].name.x=1", "name.deeper.still=1", " =1", "na me=1", "\x00=1", "\u2603=1",
    "a" * 10_000 + "=1", ".".join(["k"] * 5000) + "=1",
    # values that are not what the field takes
    "name=", "name=null", "name=~", "name=[]", "name={}", "name=7", "name=1e999", "name=.nan", "name=yes",
    "name='unterminated", "name=\"unterminated", "name=[unclosed", "name={a: [}", "name=!!python/object:os.system x",
    "name=!!binary AAAA", "name=&a [*a]", "name=*undefined", "serve=5", "serve=null", "serve.applications=x",
    "serve.applications=[]", "serve.applications[0]=null", "serve.applications[0]=5", "workerGroups=null",
    "workerGroups[0]=null", "workerGroups[0].replicas=2147483648", "workerGroups[0].replicas=-1",
    "workerGroups[0].replicas=1e400", "workerGroups[0].gpus=1000000000", "workerGroups[0].cpu=1e300",
    "head.rayStartParams=&a {x: *a}", "head.rayStartParams.x=&a [*a, *a]", "ray.env.X=&a [*a]",
    "ray.env.HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyz", "ray.env.AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI",
    "serve.applications[0].runtimeEnv=" + _flow_nesting(2000), "serve.applications[0].runtimeEnv=" + _flow_nesting(90),
    "serve.applications[0].routePrefix=" + "/x" * 50_000, "labels.a=" + "v" * 100_000,
    "labels=" + json.dumps({f"k{i}": "v" for i in range(20_000)}), "name=" + _flow_nesting(100_000),
    "serve.applications[0].tensorParallelSize=1000000000", "serve.applications[0].deployments=[1, 2]",
    "serve.applications[0].type=nope", "serve.applications[0].type=null", "profile=tpu",
    "gcsFaultTolerance.redisAddress=redis://:hunter2hunter2@redis:6379",
    "upgradeStrategy.type=NewClusterWithIncrementalUpgrade",
    "a: b=1", "a&b=1", "{x}=1", "a[00]=1", "a[1e3]=1",
]


def _spec_files(data: Any, name: str = "spec.yaml") -> dict[str, bytes]:
    return {name: _dump(data)}


def _render_and_validate(name: str, family: str, files: dict[str, bytes], target: str = "spec.yaml",
                         extra: tuple[str, ...] = ()) -> list[Case]:
    return [
        Case(f"{name}:render", family, ("render", f"{{dir}}/{target}", *extra), files),
        Case(f"{name}:validate", family, ("validate", f"{{dir}}/{target}", "--crd-dir", "{crds}", "--no-ray-schema",
                                          *extra), files),
    ]


# ---------------------------------------------------------------------------------------------------- structure


def _structure_texts() -> dict[str, bytes]:
    hello = (EXAMPLES / "hello.yaml").read_text(encoding="utf-8")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9))
    texts: dict[str, str | bytes] = {
        "alias-bomb": bomb,
        "alias-bomb-in-args": bomb + hello.replace("message: Hello from Ray Serve on Kubernetes", "message: *j"),
        "recursive-alias": "x: &a [*a]\n",
        "recursive-alias-map": "name: &a {k: *a}\nserve: {applications: [{name: a, type: hello}]}\n",
        "undefined-alias": "name: *nope\n",
        "complex-key": "? [a, b]\n: 1\nname: x\n",
        "complex-key-map": "? {a: 1}\n: 1\n",
        "complex-key-nested": "serve:\n  ? [a]\n  : x\n",
        "duplicate-key": "name: a\nname: b\nserve: {applications: [{name: a, type: hello}]}\n",
        "duplicate-key-nested": hello + "\nhead:\n  cpu: 1\n  cpu: 2\n",
        "deep-list": "name: " + _flow_nesting(400) + "\n",
        "deep-map": "name: " + "{a: " * 400 + "1" + "}" * 400 + "\n",
        "deep-block": "".join("  " * i + "k:\n" for i in range(300)) + "  " * 300 + "v\n",
        "deep-runtime-env": hello.replace(
            "routePrefix: /hello", "routePrefix: /hello\n      runtimeEnv: {env_vars: " + _flow_nesting(300) + "}"),
        "deep-args": hello.replace("message: Hello from", "message: " + _flow_nesting(350) + "\n      x: Hello from"),
        "deep-99": "name: " + _flow_nesting(97) + "\n",
        "deep-101": "name: " + _flow_nesting(101) + "\n",
        "empty": "",
        "only-comment": "# nothing here\n",
        "only-doc-marker": "---\n",
        "null-doc": "~\n",
        "scalar-root": "just a string\n",
        "int-root": "42\n",
        "list-root": "- a\n- b\n",
        "two-specs": hello + "\n---\n" + hello,
        "spec-then-manifest": hello + "\n---\n" + (RENDERED / "hello.yaml").read_text(encoding="utf-8"),
        "tab-indent": "name: x\nserve:\n\tapplications: []\n",
        "syntax-error": "name: [unclosed\n",
        "syntax-error-quote": "name: 'unterminated\n",
        "bad-indent": "name: x\n  serve: y\n",
        "python-tag": "name: !!python/object/apply:os.system [echo hi]\n",
        "binary-tag": "name: !!binary aGVsbG8=\n",
        "custom-tag": "name: !custom x\nserve: !!map {applications: []}\n",
        "set-tag": "labels: !!set {a, b}\n",
        "omap-tag": "labels: !!omap [{a: 1}]\n",
        "timestamp": hello.replace("team: platform", "team: 2001-12-14t21:59:43.10-05:00"),
        "merge-key-valid": "base: &b {cpu: 2, memory: 4Gi}\n" + hello.replace("    cpu: 2\n    memory: 4Gi\n",
                                                                            "    <<: *b\n"),
        "merge-key-scalar": "name: x\nhead:\n  <<: 5\n",
        "merge-key-list-of-scalars": "name: x\nhead:\n  <<: [1, 2]\n",
        "merge-key-recursive": "a: &a\n  <<: *a\n",
        "bom": "\ufeff" + hello,
        "crlf": hello.replace("\n", "\r\n"),
        "nul-byte": hello.replace("team: platform", "team: plat\x00form"),
        "surrogate-escape": hello.replace("team: platform", 'team: "\\ud800"'),
        "control-char": hello.replace("team: platform", "team: a\x07b"),
        "long-line": "name: " + "x" * 1_000_000 + "\n",
        "long-key": "x" * 500_000 + ": 1\n",
        "many-keys": "labels:\n" + "".join(f"  k{i}: v\n" for i in range(200_000)),
        "many-items": "workerGroups:\n" + "- {name: g}\n" * 200_000,
        "many-docs": "---\na: 1\n" * 50_000,
        "inf-nan": hello.replace("cpu: 2", "cpu: .inf").replace("replicas: 1", "replicas: .nan"),
        "huge-int": hello.replace("replicas: 1\n", "replicas: " + "9" * 5000 + "\n", 1),
        "huge-float": hello.replace("numCpus: 0.5", "numCpus: 1" + "0" * 400 + ".0"),
        "octal-hex": hello.replace("replicas: 1\n", "replicas: 0x1\n", 1).replace("cpu: 2", "cpu: 0o17"),
        "sexagesimal": hello.replace("replicas: 1\n", "replicas: 1:30\n", 1),
        "yaml-directive": "%YAML 1.1\n---\n" + hello,
        "yaml-directive-bad": "%YAML 9.9\n---\n" + hello,
        "tag-directive": "%TAG !e! tag:example.com,2000:\n---\nname: !e!x y\n",
        "latin1": (hello.replace("platform", "plat\u00e9form")).encode("latin-1"),
        "utf16": hello.encode("utf-16"),
        "random-bytes": bytes(random.Random(SEED).randrange(256) for _ in range(4096)),
        "json-spec": json.dumps(yaml.safe_load(hello)),
        "json-broken": '{"name": "x", ',
        "json-deep": '{"name": ' + "[" * 5000 + "]" * 5000 + "}",
    }
    out: dict[str, bytes] = {}
    for name, text in texts.items():
        out[name] = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return out


def structure_cases() -> list[Case]:
    cases: list[Case] = []
    for name, data in _structure_texts().items():
        cases += _render_and_validate(f"structure/{name}", "structure", {"spec.yaml": data})
    big_line = b"  k%07d: v\n"
    # over the size limit: refused from the file size, before reading (the 50 MB file took ~60 s)
    fifty = b"name: x\nlabels:\n" + b"".join(big_line % i for i in range(50 * 2**20 // 14))
    cases += _render_and_validate("structure/50mb-file", "structure", {"spec.yaml": fifty})
    # just under the limit: parsed (once), then refused by the node budget
    fifteen = b"name: x\nlabels:\n" + b"".join(big_line % i for i in range(15 * 2**20 // 14))
    cases += _render_and_validate("structure/15mb-file", "structure", {"spec.yaml": fifteen})
    cases.append(Case("structure/50mb-stdin", "structure", ("render", "-"), stdin=fifty.decode()))
    cases.append(Case("structure/stdin-binary", "structure", ("validate", "-", "--crd-dir", "{crds}"),
                      stdin="\x00\x01\x02name: x"))
    return cases


# -------------------------------------------------------------------------------------------------------- types


def type_cases(per_path: int = 2) -> list[Case]:
    """Every field of every example spec, replaced by `per_path` hostile values (chosen deterministically)."""
    rng = random.Random(SEED)
    cases: list[Case] = []
    for example, data in _specs().items():
        for path in tree_paths(data):
            for value in rng.sample(HOSTILE_VALUES, per_path):
                label = "/".join(map(str, path))
                cases.append(Case(f"types/{example}/{label}={_short(value)}:render", "types",
                                  ("render", "{dir}/spec.yaml"), _spec_files(_replace(data, path, value))))
    return cases


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


# ------------------------------------------------------------------------------------------------------ numbers


def _apps_of(data: Any, kind: str) -> list[int]:
    return [i for i, app in enumerate(data["serve"]["applications"]) if app.get("type") == kind]


def numeric_cases() -> list[Case]:
    specs = _specs()
    cases: list[Case] = []
    base = specs["llama-8b"]
    for path, values in NUMERIC_FIELDS.items():
        for value in values:
            label = "/".join(map(str, path))
            cases += _render_and_validate(f"numbers/{label}={_short(value)}", "numbers",
                                          _spec_files(_replace(base, path, value)))
    for key, values in LLM_NUMERIC.items():
        for value in values:
            for example in ("llama-8b", "llama-70b-tp4"):
                data = specs[example]
                index = _apps_of(data, "llm")[0]
                cases += _render_and_validate(
                    f"numbers/{example}/{key}={_short(value)}", "numbers",
                    _spec_files(_replace(data, ("serve", "applications", index, key), value)))
    hello = specs["hello"]
    for key, values in DEPLOYMENT_NUMERIC.items():
        for value in values:
            data = copy.deepcopy(hello)
            options = data["serve"]["applications"][0]["deployments"]["Hello"]
            if key == "autoscaling":
                options.pop("numReplicas", None)
            options[key] = value
            cases += _render_and_validate(f"numbers/hello/{key}={_short(value)}", "numbers", _spec_files(data))
    return cases


# ---------------------------------------------------------------------------------------------------------- set


def set_cases() -> list[Case]:
    files = {"spec.yaml": (EXAMPLES / "llama-8b.yaml").read_bytes()}
    cases = []
    for index, assignment in enumerate(SET_ASSIGNMENTS):
        cases.append(Case(f"set/{index}:{_short(assignment)}", "set", ("render", "{dir}/spec.yaml", "--set",
                                                                         assignment), files))
    cases.append(Case("set/many", "set", ("render", "{dir}/spec.yaml",
                                          *[a for i in range(2000) for a in ("--set", f"labels.k{i}=v")]), files))
    cases.append(Case("set/on-manifest", "set", ("validate", "{dir}/rs.yaml", "--crd-dir", "{crds}", "--set",
                                                 "name=x"), {"rs.yaml": (RENDERED / "hello.yaml").read_bytes()}))
    return cases


# ----------------------------------------------------------------------------------------------------- manifest

MANIFEST_SHAPES: list[tuple[str, Any]] = [
    ("metadata", ["x"]), ("metadata", None), ("metadata", "x"), ("spec", "x"), ("spec", None), ("spec", []),
    ("kind", 5), ("apiVersion", ["ray.io/v1"]), ("apiVersion", "ray.io/v9"), ("apiVersion", "ray.io/v1alpha1"),
]
"""Whole-object replacements of the issue's shapes (`metadata: [x]`, `spec: "x"`, ...)."""


def _manifest_cases_for(example: str, docs: list[Any], rng: random.Random, per_object: int) -> list[Case]:
    cases: list[Case] = []
    rs = docs[0]
    paths = list(tree_paths(rs))
    for path in rng.sample(paths, min(per_object, len(paths))):
        value = rng.choice(HOSTILE_VALUES)
        broken = [_replace(rs, path, value), *docs[1:]]
        label = "/".join(map(str, path))
        fmt = rng.choice(["yaml", "yaml", "json", "list"])
        if fmt == "yaml":
            body = b"---\n".join(_dump(d) for d in broken)
        elif fmt == "json":
            body = json.dumps(broken[0], allow_nan=True).encode()
        else:
            body = json.dumps({"apiVersion": "v1", "kind": "List", "items": broken}, allow_nan=True).encode()
        name = "rs.json" if fmt != "yaml" else "rs.yaml"
        cases.append(Case(f"manifest/{example}/{label}={_short(value)}:{fmt}", "manifest",
                          ("validate", f"{{dir}}/{name}", "--crd-dir", "{crds}"), {name: body}))
    return cases


def _serve_config_variants() -> dict[str, str]:
    return {
        "applications-5": "applications: 5\n",
        "applications-map": "applications: {a: 1}\n",
        "applications-strings": "applications: [a, b]\n",
        "app-deployments-5": "applications: [{name: a, import_path: x:y, deployments: 5}]\n",
        "deployment-strings": "applications: [{name: a, import_path: x:y, deployments: [a]}]\n",
        "args-list": "applications: [{name: a, import_path: serve_apps.llm:app_builder, args: [1]}]\n",
        "llm-configs-5": "applications: [{name: a, import_path: serve_apps.llm:app_builder, args: {llm_configs: 5}}]\n",
        "llm-tp-string": "applications: [{name: a, import_path: serve_apps.llm:app_builder, args: {llm_configs: "
                         "[{model_loading_config: {model_id: m}, engine_kwargs: {tensor_parallel_size: 'many'}}]}}]\n",
        "llm-tp-huge": "applications: [{name: a, import_path: serve_apps.llm:app_builder, args: {llm_configs: "
                       "[{model_loading_config: {model_id: m}, "
                       "engine_kwargs: {tensor_parallel_size: 1000000000}}]}}]\n",
        "llm-bundles-bad": "applications: [{name: a, import_path: serve_apps.llm:app_builder, args: {llm_configs: "
                           "[{model_loading_config: {model_id: m}, "
                           "placement_group_config: {bundles: [5, {GPU: x}]}}]}}]\n",
        "bundles-bad": "applications: [{name: a, import_path: x:y, deployments: [{name: d, placement_group_bundles: "
                       "[{CPU: lots}]}]}]\n",
        "bundles-huge": "applications: [{name: a, import_path: x:y, deployments: [{name: d, placement_group_bundles: "
                        "[" + ", ".join(["{CPU: 1}"] * 20000) + "]}]}]\n",
        "actor-memory-string": "applications: [{name: a, import_path: x:y, deployments: [{name: d, ray_actor_options: "
                               "{memory: lots, num_cpus: many, resources: 5}}]}]\n",
        "autoscaling-bad": "applications: [{name: a, import_path: x:y, deployments: [{name: d, autoscaling_config: "
                           "{max_replicas: many}}]}]\n",
        "num-replicas-huge": "applications: [{name: a, import_path: x:y, deployments: [{name: d, num_replicas: "
                             "100000000000000000000, ray_actor_options: {num_gpus: 1}}]}]\n",
        "deep": "applications: " + _flow_nesting(5000) + "\n",
        "deep-100": "applications: [{name: a, import_path: x:y, args: {x: " + _flow_nesting(150) + "}}]\n",
        "alias-bomb": "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(9))
        + "applications: []\n",
        "recursive-alias": "applications: &a [*a]\n",
        "complex-key": "? [a]\n: 1\napplications: []\n",
        "duplicate-key": "applications: []\napplications: []\n",
        "syntax-error": "applications: [\n",
        "not-a-map": "- 1\n",
        "python-tag": "applications: !!python/object/apply:os.system [x]\n",
        "huge": "applications: []\nx: '" + "y" * 3_000_000 + "'\n",
    }


def manifest_cases(per_object: int = 60) -> list[Case]:
    rng = random.Random(SEED + 1)
    cases: list[Case] = []
    for example, docs in _manifests().items():
        cases += _manifest_cases_for(example, docs, rng, per_object)
    hello = _manifests()["hello"][0]
    for key, value in MANIFEST_SHAPES:
        body = _dump({**hello, key: value}) if value is not None else _dump({**hello, key: None})
        cases.append(Case(f"manifest/shape/{key}={_short(value)}", "manifest",
                          ("validate", "{dir}/rs.yaml", "--crd-dir", "{crds}"), {"rs.yaml": body}))
    for name, text in _serve_config_variants().items():
        broken = _replace(hello, ("spec", "serveConfigV2"), text)
        cases.append(Case(f"manifest/serveConfigV2/{name}", "manifest",
                          ("validate", "{dir}/rs.yaml", "--crd-dir", "{crds}"), {"rs.yaml": _dump(broken)}))
    lists = {
        "list-items-5": {"apiVersion": "v1", "kind": "List", "items": 5},
        "list-items-strings": {"apiVersion": "v1", "kind": "List", "items": ["a"]},
        "list-empty": {"apiVersion": "v1", "kind": "List", "items": []},
        "list-nested": {"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "List",
                                                                       "items": [hello]}]},
        "raycluster": {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "c"},
                       "spec": hello["spec"]["rayClusterConfig"]},
        "raycluster-bad": {"apiVersion": "ray.io/v1", "kind": "RayCluster", "spec": 5},
        "rayjob": {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "j"}, "spec": {}},
        "configmap": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
        "no-kind": {"metadata": {"name": "x"}},
    }
    for name, obj in lists.items():
        cases.append(Case(f"manifest/list/{name}", "manifest", ("validate", "{dir}/rs.json", "--crd-dir", "{crds}"),
                          {"rs.json": json.dumps(obj).encode()}))
    many = [_replace(hello, ("metadata", "name"), f"rs{i}") for i in range(300)]
    cases.append(Case("manifest/300-objects", "manifest", ("validate", "{dir}/rs.yaml", "--crd-dir", "{crds}"),
                      {"rs.yaml": b"---\n".join(_dump(d) for d in many)}))
    return cases


# ---------------------------------------------------------------------------------------------------------- cli


def _crd_bytes(name: str) -> bytes:
    import os

    crds = Path(os.environ.get("RAYCTL_KUBERAY_CRDS", ROOT.parent / "shared" / "kuberay" / "crds"))
    return (crds / name).read_bytes()


def cli_cases() -> list[Case]:
    hello_spec = (EXAMPLES / "hello.yaml").read_bytes()
    hello_rs = (RENDERED / "hello.yaml").read_bytes()
    cases = [
        Case("cli/init-missing-dir", "cli", ("init", "{dir}/no/such/dir/spec.yaml")),
        Case("cli/init-onto-dir", "cli", ("init", "{dir}/adir"), {"adir/keep": b""}),
        Case("cli/init-onto-file", "cli", ("init", "{dir}/spec.yaml"), {"spec.yaml": b"x"}),
        Case("cli/init-parent-is-file", "cli", ("init", "{dir}/afile/spec.yaml"), {"afile": b"x"}),
        Case("cli/init-empty-path", "cli", ("init", "")),
        Case("cli/init-bad-example", "cli", ("init", "-", "--example", "nope")),
        Case("cli/init-bad-app-type", "cli", ("init", "-", "--app-type", "nope")),
        Case("cli/init-both", "cli", ("init", "-", "--example", "hello", "--app-type", "llm")),
        Case("cli/render-dir", "cli", ("render", "{dir}")),
        Case("cli/render-missing", "cli", ("render", "{dir}/missing.yaml")),
        Case("cli/render-empty-name", "cli", ("render", "")),
        Case("cli/render-output-file-missing-dir", "cli", ("render", "{dir}/spec.yaml", "--output-file",
                                                            "{dir}/no/dir/out.yaml"), {"spec.yaml": hello_spec}),
        Case("cli/render-output-file-is-dir", "cli", ("render", "{dir}/spec.yaml", "--output-file", "{dir}"),
             {"spec.yaml": hello_spec}),
        Case("cli/render-bad-output", "cli", ("render", "{dir}/spec.yaml", "-o", "xml"), {"spec.yaml": hello_spec}),
        Case("cli/render-bad-profile", "cli", ("render", "{dir}/spec.yaml", "--profile", "tpu"),
             {"spec.yaml": hello_spec}),
        Case("cli/render-manifest", "cli", ("render", "{dir}/rs.yaml"), {"rs.yaml": hello_rs}),
        Case("cli/validate-profile-manifest", "cli", ("validate", "{dir}/rs.yaml", "--crd-dir", "{crds}",
                                                      "--profile", "cpu"), {"rs.yaml": hello_rs}),
        Case("cli/validate-kubeconfig-without-cluster", "cli", ("validate", "{dir}/rs.yaml", "--crd-dir", "{crds}",
                                                                "--kubeconfig", "x"), {"rs.yaml": hello_rs}),
        Case("cli/schema-bad-format", "cli", ("schema", "-o", "xml")),
        Case("cli/unknown-command", "cli", ("frobnicate",)),
        Case("cli/unknown-flag", "cli", ("render", "--frob")),
    ]
    crd_dirs: dict[str, dict[str, bytes]] = {
        "missing": {},
        "empty": {"crds/.keep": b""},
        "not-utf8": {"crds/ray.io_rayservices.yaml": b"kind: CustomResourceDefinition\n\xff\xfe\x00garbage"},
        "latin1": {"crds/ray.io_rayservices.yaml": "kind: CustomResourceDefinition # caf\u00e9\n".encode("latin-1")},
        "broken-yaml": {"crds/ray.io_rayservices.yaml": b"kind: CustomResourceDefinition\nspec: [unclosed\n"},
        "not-a-crd": {"crds/ray.io_rayservices.yaml": b"kind: ConfigMap\n"},
        "a-list": {"crds/ray.io_rayservices.yaml": b"- 1\n- 2\n"},
        "empty-file": {"crds/ray.io_rayservices.yaml": b""},
        "multi-doc": {"crds/ray.io_rayservices.yaml": b"kind: CustomResourceDefinition\n---\nkind: x\n"},
        "no-versions": {"crds/ray.io_rayservices.yaml": b"kind: CustomResourceDefinition\nspec: {group: ray.io}\n"},
        "versions-5": {"crds/ray.io_rayservices.yaml": b"kind: CustomResourceDefinition\nspec: {versions: 5}\n"},
        "versions-strings": {"crds/ray.io_rayservices.yaml":
                             b"kind: CustomResourceDefinition\nspec: {versions: [v1, {name: v1, schema: 5}]}\n"},
        "schema-garbage": {"crds/ray.io_rayservices.yaml":
                           b"kind: CustomResourceDefinition\nspec:\n  versions:\n  - name: v1\n    schema:\n"
                           b"      openAPIV3Schema: {type: 7, properties: 5}\n"},
        "schema-bad-pattern": {"crds/ray.io_rayservices.yaml":
                               b"kind: CustomResourceDefinition\nspec:\n  versions:\n  - name: v1\n    schema:\n"
                               b"      openAPIV3Schema: {type: object, properties: {metadata: {type: object, "
                               b"properties: {name: {type: string, pattern: '(['}}}}}\n"},
        "schema-deep": {"crds/ray.io_rayservices.yaml":
                        b"kind: CustomResourceDefinition\nspec:\n  versions:\n  - name: v1\n    schema:\n"
                        b"      openAPIV3Schema: " + ("{type: object, properties: {spec: " * 90).encode() + b"{}"
                        + b"}}" * 90 + b"\n"},
        "alias-bomb": {"crds/ray.io_rayservices.yaml": ("kind: CustomResourceDefinition\n" + "a: &a [x, x, x, x, x]\n"
                       + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n"
                                 for i in range(9))).encode()},
        "is-a-dir": {"crds/ray.io_rayservices.yaml/keep": b""},
        "huge": {"crds/ray.io_rayservices.yaml": b"kind: CustomResourceDefinition\nx: '" + b"y" * (20 * 2**20)
                 + b"'\n"},
        "good-with-broken-raycluster": {"crds/ray.io_rayservices.yaml": _crd_bytes("ray.io_rayservices.yaml"),
                                        "crds/ray.io_rayclusters.yaml": b"\xff\xff"},
    }
    for name, files in crd_dirs.items():
        for target, body in (("rs.yaml", hello_rs), ("spec.yaml", hello_spec)):
            verb = "validate"
            cases.append(Case(f"cli/crd-dir-{name}:{target}", "cli",
                              (verb, f"{{dir}}/{target}", "--crd-dir", "{dir}/crds"), {**files, target: body}))
        cases.append(Case(f"cli/crd-dir-{name}:render", "cli", ("render", "{dir}/spec.yaml", "--crd-dir", "{dir}/crds"),
                          {**files, "spec.yaml": hello_spec}))
    cases.append(Case("cli/crd-dir-is-file", "cli", ("validate", "{dir}/rs.yaml", "--crd-dir", "{dir}/rs.yaml"),
                      {"rs.yaml": hello_rs}))
    cases.append(Case("cli/raycluster-crd-broken", "cli",
                      ("validate", "{dir}/rc.yaml", "--crd-dir", "{dir}/crds"),
                      {"crds/ray.io_rayclusters.yaml": b"kind: [", "rc.yaml": _dump(
                          {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "c"}, "spec": {}})}))
    return cases


# --------------------------------------------------------------------------------------------------------- seeds


def _expect_of(text: str, name: str = "") -> frozenset[int]:
    """`# expect: 3` on the first line, or `.exit-3.` in the file name (JSON has no comments)."""
    if ".exit-" in name:
        return frozenset({int(name.split(".exit-", 1)[1].split(".", 1)[0])})
    first = text.split("\n", 1)[0]
    if "expect:" not in first:
        return frozenset({0, 2, 3})
    codes = first.split("expect:", 1)[1].split("never-print:")[0].split("#")[0]
    return frozenset(int(x) for x in codes.replace(",", " ").split())


def _never_print_of(text: str) -> tuple[str, ...]:
    first = text.split("\n", 1)[0]
    return tuple(first.split("never-print:", 1)[1].split()) if "never-print:" in first else ()


def seed_cases() -> list[Case]:
    """The committed seeds: seeds/spec/* through render and validate, seeds/manifest/* through validate, each
    with the exit code its first line names (`# expect: 3`)."""
    cases: list[Case] = []
    for path in sorted((SEEDS / "spec").glob("*")):
        data = path.read_bytes()
        text = data.decode("utf-8", "replace")
        expect = _expect_of(text, path.name)
        for case in _render_and_validate(f"seed/spec/{path.name}", "seed", {path.name: data}, path.name):
            cases.append(Case(case.name, case.family, case.argv, case.files, expect=expect,
                              never_print=_never_print_of(text)))
    for path in sorted((SEEDS / "manifest").glob("*")):
        data = path.read_bytes()
        cases.append(Case(f"seed/manifest/{path.name}", "seed",
                          ("validate", f"{{dir}}/{path.name}", "--crd-dir", "{crds}"), {path.name: data},
                          expect=_expect_of(data.decode("utf-8", "replace"), path.name),
                          never_print=_never_print_of(data.decode("utf-8", "replace"))))
    set_file = SEEDS / "set.txt"
    if set_file.exists():
        spec = (EXAMPLES / "llama-8b.yaml").read_bytes()
        for index, line in enumerate(set_file.read_text(encoding="utf-8").splitlines()):
            if not line or line.startswith("#"):
                continue
            assignment, _, expect = line.partition("\t# expect: ")
            cases.append(Case(f"seed/set/{index}", "seed", ("render", "{dir}/spec.yaml", "--set", assignment),
                              {"spec.yaml": spec},
                              expect=frozenset(int(x) for x in expect.split()) if expect else frozenset({0, 2, 3})))
    return cases


FAMILIES = {
    "seed": seed_cases, "structure": structure_cases, "types": type_cases, "numbers": numeric_cases,
    "set": set_cases, "manifest": manifest_cases, "cli": cli_cases,
}


def iter_corpus(families: Iterable[str] | None = None) -> Iterator[Case]:
    """Every case, in a stable order, one family built at a time (the big files of one family are freed before the
    next is built)."""
    for name, build in FAMILIES.items():
        if families is None or name in families:
            yield from build()


def corpus() -> list[Case]:
    """Every case, in a stable order."""
    return list(iter_corpus())
