"""rayctl's YAML reads the same in kubectl: every golden and generated render, round-tripped through kubectl's own
reader (sigs.k8s.io/yaml, go-yaml v2 with YAML 1.1 rules: hack/k8syaml, built from the Go module proxy and cached
by its pin), equals rayctl's own parse, type for type (a `y` label that kubectl reads as `true` fails). The
`serveConfigV2` document inside each RayService is compared too: KubeRay reads it with the same library."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT, skip_or_fail
from tests.strategies import specs

BUILD = ROOT / "hack" / "k8syaml" / "build.sh"
AMBIGUOUS = [
    "y", "Y", "n", "N", "yes", "No", "on", "Off", "ON", "true", "False", "~", "null", "Null", "", " ", "1e3", "1E3",
    "1e-3", "+1", "-1", "0x1F", "0o17", "017", "08", "0b101", "1_000", "1:30", "12:30:00", ".5", "1.", "1.10", "-.inf",
    ".NaN", "<<", "=", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "0.", "+.5", "1e", "e3", "0x", "- a", "a: b",
    "#x", "@x", "`x", "!x", "&x", "*x", "%x", "[x]", "{x}", "'x'", '"x"', "x\ty", "\u00a0", "\u2028", "\ufeff",
]
"""Strings some YAML reader reads as something else (or that need quoting to stay themselves)."""


@cache
def reader() -> Path:
    if shutil.which("go") is None:
        skip_or_fail("go not found: hack/k8syaml/build.sh builds kubectl's YAML reader from the Go module proxy")
    done = subprocess.run([str(BUILD)], capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        skip_or_fail(f"hack/k8syaml/build.sh failed: {done.stderr[-2000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def kubectl_reads(text: str) -> list[Any]:
    done = subprocess.run([str(reader())], input=text.encode(), capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()
    result: list[Any] = json.loads(done.stdout)
    return result


def same(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Where the two readings differ; numbers compare by value, every other type must match exactly."""
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return [] if type(ours) is type(theirs) and ours == theirs else [f"{path}: {ours!r} != {theirs!r}"]
    if isinstance(ours, int | float) and isinstance(theirs, int | float):
        equal = ours == theirs or (isinstance(ours, float) and math.isnan(ours) and math.isnan(theirs))
        return [] if equal else [f"{path}: {ours!r} != {theirs!r}"]
    if type(ours) is not type(theirs):
        return [f"{path}: rayctl reads {ours!r} ({type(ours).__name__}), kubectl reads {theirs!r} "
                f"({type(theirs).__name__})"]
    if isinstance(ours, dict):
        if set(ours) != set(theirs):
            return [f"{path}: keys {sorted(map(str, ours))} != {sorted(map(str, theirs))}"]
        return [d for k in ours for d in same(ours[k], theirs[k], f"{path}.{k}")]
    if isinstance(ours, list):
        if len(ours) != len(theirs):
            return [f"{path}: {len(ours)} items != {len(theirs)}"]
        return [d for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) for d in same(a, b, f"{path}[{i}]")]
    return [] if ours == theirs else [f"{path}: {ours!r} != {theirs!r}"]


def round_trip(text: str) -> list[str]:
    """Differences between rayctl's and kubectl's reading of `text`, and of each serveConfigV2 inside it."""
    ours = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    problems = same(ours, kubectl_reads(text), "")
    for index, doc in enumerate(ours):
        config = (doc.get("spec") or {}).get("serveConfigV2") if isinstance(doc, dict) else None
        if isinstance(config, str):
            problems += same([yaml.safe_load(config)], kubectl_reads(config), f"[{index}].spec.serveConfigV2")
    return problems


def _render(spec: dict[str, Any], profile: str | None = None) -> str:
    from rayctl.render import render
    from rayctl.spec.model import DeploymentSpec

    return render(DeploymentSpec.model_validate(spec), profile=profile).text  # type: ignore[arg-type]


GOLDENS = sorted((ROOT / "manifests").glob("rendered*/*.yaml"))


def test_the_reader_is_kubectls() -> None:
    """The reader really applies YAML 1.1 (else every comparison below would pass for the wrong reason)."""
    assert kubectl_reads("a: y\nb: on\nc: 1e3\nd: '1.10'\ne: 0x1F\n---\n---\nf: ~\n") == [
        {"a": True, "b": True, "c": 1000, "d": "1.10", "e": 31}, {"f": None}]


@pytest.mark.parametrize("golden", GOLDENS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_goldens_read_the_same_in_kubectl(golden: Path) -> None:
    assert round_trip(golden.read_text(encoding="utf-8")) == []


def test_ambiguous_strings_everywhere_read_the_same_in_kubectl() -> None:
    values = {f"k{i}": v for i, v in enumerate(AMBIGUOUS)}
    spec = {
        "name": "amb", "labels": values, "annotations": values, "ray": {"env": {f"E{i}": v for i, v in
                                                                              enumerate(AMBIGUOUS)}},
        "head": {"rayStartParams": values, "nodeSelector": values},
        "serve": {"applications": [{"name": "a", "type": "custom", "importPath": "m:app", "args": values,
                                    "runtimeEnv": {"env_vars": values}}]},
    }
    text = _render(spec)
    assert round_trip(text) == []
    ours = yaml.safe_load_all(text)
    rayservice = next(d for d in ours if d and d.get("kind") == "RayService")
    env = {e["name"]: e["value"] for e in rayservice["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]
           ["containers"][0]["env"] if "value" in e}
    assert env[f"E{AMBIGUOUS.index('1.10')}"] == "1.10"
    assert rayservice["metadata"]["labels"]["k0"] == "y"


def test_numbers_written_as_env_values_keep_their_text() -> None:
    """`V: 1.10` unquoted in a spec is refused (Helm would read 1.1: the spec is also a values file), and the quoted
    "1.10" is the string "1.10" in the manifest as kubectl reads it, never 1.1."""
    from rayctl.render import render
    from rayctl.spec.errors import SpecError
    from rayctl.spec.loader import load_spec_text

    with pytest.raises(SpecError, match="quote it"):
        load_spec_text("name: web\nray:\n  env: {V: 1.10}\nserve: {applications: [{name: a, type: hello}]}\n")
    spec = load_spec_text("name: web\nray:\n  env: {VA: '1.10', VB: '1e3', VC: '0x1F', VD: '007'}\n"
                          "workerGroups: [{name: cpu, cpu: 2, memory: 4Gi}]\n"
                          "serve: {applications: [{name: a, type: hello}]}\n")
    text = render(spec).text
    assert round_trip(text) == []
    rayservice = kubectl_reads(text)[0]
    env = {e["name"]: e.get("value") for e in rayservice["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]
           ["spec"]["containers"][0]["env"]}
    assert (env["VA"], env["VB"], env["VC"], env["VD"]) == ("1.10", "1e3", "0x1F", "007")


tricky_text = st.one_of(st.sampled_from(AMBIGUOUS), st.text(max_size=12),
                        st.from_regex(r"[-+]?[0-9_.:eExXoObB]{1,8}", fullmatch=True))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs(), labels=st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), tricky_text, max_size=4),
       env=st.dictionaries(st.from_regex(r"[A-Z]{1,8}", fullmatch=True), tricky_text, max_size=4),
       profile=st.sampled_from([None, "cpu"]))
def test_generated_specs_read_the_same_in_kubectl(spec: dict[str, Any], labels: dict[str, str],
                                                  env: dict[str, str], profile: str | None) -> None:
    from rayctl.errors import RayctlError

    spec = {**spec, "annotations": labels, "ray": {"env": env}}
    try:
        text = _render(spec, profile)
    except (RayctlError, ValueError):
        return  # a generated spec the spec rejects (e.g. a value with a control character) renders nothing
    assert round_trip(text) == []
