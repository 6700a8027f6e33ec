"""Running the chart (charts/rayservice) with the real helm and comparing what it renders with `rayctl render`.

Shared by the chart tests, the e2e Helm tests and bench/helm_vs_render.py. Objects are compared after parsing
(serveConfigV2 parsed too), sorted by kind and name (Helm orders objects by kind); the one value allowed to differ is
the top-level `app.kubernetes.io/managed-by` label ("Helm" vs "rayctl"), which is checked and then dropped.

Many specs render in one helm process through an umbrella chart that uses this chart once per spec, as aliased
dependencies (`s0`, `s1`, ...): each alias is its own release of the chart with its own values, schema check and
templates, exactly as a standalone install (plus the `global` map Helm gives every subchart, which the schema
allows and the templates ignore). `test_batch_equals_single_runs` checks that claim on the examples.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rayctl.render.yamlout import dump_yaml
from tests.conftest import ROOT

CHART = ROOT / "charts" / "rayservice"
MANAGED_BY = "app.kubernetes.io/managed-by"
TIMEOUT = 600


@dataclass(frozen=True)
class Helm:
    """The pinned helm binary with an isolated home (see tests/helm/conftest.py `helm_env`)."""

    binary: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: int = TIMEOUT, check: bool = False) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(self.binary), *args], capture_output=True, text=True, env=self.env,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        return proc

    def template(self, values: Sequence[Path] = (), sets: Sequence[str] = (), *, chart: Path = CHART,
                 release: str = "rel", tests: bool = False) -> subprocess.CompletedProcess[str]:
        args = ["template", release, str(chart)]
        for path in values:
            args += ["-f", str(path)]
        for assignment in sets:
            args += ["--set", assignment]
        if not tests:
            args.append("--skip-tests")
        return self.run(*args)


def write_spec(path: Path, data: dict[str, Any]) -> Path:
    """A spec file both readers parse the same way (rayctl's YAML writer quotes every YAML-1.1-ambiguous string)."""
    path.write_text(dump_yaml(data))
    return path


class GoYamlLoader(yaml.SafeLoader):
    """YAML read the way the cluster reads it: kubectl, Helm and the API server (sigs.k8s.io/yaml) and KubeRay, which
    turns serveConfigV2 into JSON for Ray the same way, all resolve plain scalars with go-yaml v2's rules. PyYAML's
    differ (it reads `1e-07` and `0o17` as strings, `12:30` as 750 and `2024-01-01` as a date), so both sides of a
    parity check are parsed with this loader: a string either writer forgets to quote shows up as a difference."""


GoYamlLoader.yaml_implicit_resolvers = {}
_GO_BOOL = "y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
GoYamlLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(f"^(?:{_GO_BOOL})$"), list("yYnNtTfFoO"))
GoYamlLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"),
                                   ["~", "n", "N", ""])
GoYamlLoader.add_implicit_resolver(  # strconv.ParseInt(s, 0, 64) after dropping "_": decimal, 0x, 0o, 0b, 0-octal
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:[0-9][0-9_]*|0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+)$"),
    list("-+0123456789"))
GoYamlLoader.add_implicit_resolver(  # go-yaml v2's yamlStyleFloat, plus its .inf/.nan spellings
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


def _go_bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
    return str(loader.construct_scalar(node)).lower() in ("y", "yes", "true", "on")


def _go_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node)).replace("_", "")
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if len(digits) > 1 and digits[0] == "0" and digits[1].isdigit():
        return sign * int(digits, 8)
    return sign * int(digits, 0)


def _go_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float | str:
    text = str(loader.construct_scalar(node))
    if text.lstrip("+-").startswith("."):
        special = text.lower().replace(".inf", "inf").replace(".nan", "nan")
        if special.lstrip("+-") in ("inf", "nan"):
            return float(special)
    number = float(text)
    # go-yaml takes a float only when strconv.ParseFloat succeeds: `510e71904917` overflows, so it is a string
    return text if math.isinf(number) else number


GoYamlLoader.add_constructor("tag:yaml.org,2002:bool", _go_bool)
GoYamlLoader.add_constructor("tag:yaml.org,2002:int", _go_int)
GoYamlLoader.add_constructor("tag:yaml.org,2002:float", _go_float)


def go_yaml(text: str) -> Any:
    return yaml.load(text, Loader=GoYamlLoader)  # a SafeLoader subclass


def parse_documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.load_all(text, Loader=GoYamlLoader) if doc]  # a SafeLoader subclass


def normalize(objects: Sequence[dict[str, Any]], managed_by: str) -> list[dict[str, Any]]:
    """Parsed, comparable objects: serveConfigV2 parsed, the managed-by label checked and dropped, sorted."""
    out = []
    for obj in objects:
        obj = json.loads(json.dumps(obj))
        labels = obj.get("metadata", {}).get("labels") or {}
        assert labels.get(MANAGED_BY) == managed_by, (obj.get("kind"), labels)
        del labels[MANAGED_BY]
        if obj.get("kind") == "RayService":
            obj["spec"]["serveConfigV2"] = go_yaml(obj["spec"]["serveConfigV2"])
        out.append(obj)
    return sorted(out, key=lambda o: (str(o.get("kind")), str(o["metadata"].get("name"))))


def rayctl_objects(path: Path, profile: str | None = None) -> list[dict[str, Any]]:
    """`rayctl render PATH [--profile P]`, in process (the workflow every verb takes)."""
    from rayctl.workflow import render_file

    text = render_file(path, profile=profile).require_rendered().text  # type: ignore[arg-type]
    return normalize(parse_documents(text), "rayctl")


def helm_objects(helm: Helm, path: Path, profile: str | None = None) -> list[dict[str, Any]]:
    """`helm template rel charts/rayservice -f PATH [--set profile=P]`."""
    proc = helm.template([path], [f"profile={profile}"] if profile else [])
    if proc.returncode != 0:
        raise AssertionError(f"helm template -f {path} (profile {profile}) failed:\n{proc.stderr[-4000:]}")
    return normalize(parse_documents(proc.stdout), "Helm")


def first_difference(left: Any, right: Any, path: str = "") -> str | None:
    """Where two parsed trees first differ (for a readable assertion message), or None."""
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right), key=str):
            if key not in left or key not in right:
                return f"{path}.{key}: only in {'helm' if key not in left else 'rayctl'}"
            found = first_difference(left[key], right[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return f"{path}: {len(left)} items (rayctl) vs {len(right)} (helm)"
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if left == right else f"{path}: rayctl {left!r} vs helm {right!r}"


# ---- many specs in one helm process


def _umbrella(workdir: Path, count: int) -> Path:
    chart = workdir / "umbrella"
    if chart.exists():
        shutil.rmtree(chart)
    (chart / "charts").mkdir(parents=True)
    shutil.copytree(CHART, chart / "charts" / "rayservice", ignore=shutil.ignore_patterns("tests", "ci"))
    version = yaml.safe_load((CHART / "Chart.yaml").read_text())["version"]
    dependencies = [{"name": "rayservice", "version": version, "alias": f"s{i}"} for i in range(count)]
    (chart / "Chart.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v2", "name": "umbrella", "version": "0.0.0", "dependencies": dependencies}))
    return chart


def _split_by_alias(text: str, count: int) -> list[list[dict[str, Any]]]:
    per_alias: list[list[dict[str, Any]]] = [[] for _ in range(count)]
    for chunk in text.split("\n---\n"):
        source = next((line for line in chunk.splitlines() if line.startswith("# Source: umbrella/charts/s")), None)
        if source is None:
            continue
        alias = int(source.split("/charts/s", 1)[1].split("/", 1)[0])
        doc = go_yaml(chunk)
        if doc:
            per_alias[alias].append(doc)
    return per_alias


def helm_batch(helm: Helm, specs: Sequence[dict[str, Any]], workdir: Path) -> list[list[dict[str, Any]]]:
    """Render every spec (profile included in the spec) in one `helm template` of an umbrella chart."""
    workdir.mkdir(parents=True, exist_ok=True)
    chart = _umbrella(workdir, len(specs))
    values = write_spec(workdir / "values.yaml", {f"s{i}": spec for i, spec in enumerate(specs)})
    proc = helm.template([values], chart=chart)
    if proc.returncode != 0:
        raise AssertionError(f"helm template of the umbrella chart failed:\n{proc.stderr[-4000:]}")
    return [normalize(objects, "Helm") for objects in _split_by_alias(proc.stdout, len(specs))]


def helm_batches(helm: Helm, specs: Sequence[dict[str, Any]], workdir: Path, *, size: int = 50,
                 parallel: int | None = None) -> list[list[dict[str, Any]]]:
    """helm_batch over chunks of `size` specs, `parallel` helm processes at a time (default: one per CPU)."""
    chunks = [list(specs[i:i + size]) for i in range(0, len(specs), size)]
    workers = parallel or max(1, min(len(chunks), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda item: helm_batch(helm, item[1], workdir / f"batch{item[0]}"),
                                enumerate(chunks)))
    return [objects for chunk in results for objects in chunk]
