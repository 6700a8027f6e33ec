"""rayctl.helm_json against the real Helm v4.3.1: `toJson`, `sha256sum` and values coalescing, byte for byte.

The spec-hash label must be computable identically by rayctl and by the chart, so Helm's own output is the oracle:
each differential test writes values with PyYAML (as rayctl reads them), renders them with `helm template`, and
compares what Helm printed (base64, so no YAML quoting sits in between) with the Python reproduction.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from rayctl.helm_json import coalesce_values, go_json, helm_sha256, merge_values

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "examples"

# (value, Helm's toJson) — the expected strings are what helm v4.3.1 printed (see the differential tests below)
ENCODING_CASES: list[tuple[Any, str]] = [
    (1000000, "1000000"),
    (17000000000, "17000000000"),
    (0.5, "0.5"),
    (2.0, "2"),
    (0.1 + 0.2, "0.30000000000000004"),
    (1e16, "10000000000000000"),
    (1e20, "100000000000000000000"),
    (1e21, "1e+21"),
    (1e-6, "0.000001"),
    (1e-7, "1e-7"),
    (-2.5e-7, "-2.5e-7"),
    (1.7976931348623157e308, "1.7976931348623157e+308"),
    (5e-324, "5e-324"),
    (-0.0, "-0"),
    (9007199254740993, "9007199254740992"),  # > 2**53: a float64 in Helm
    (True, "true"),
    (None, "null"),
    ("<a && b>", '"\\u003ca \\u0026\\u0026 b\\u003e"'),
    ("é 中 😀", '"é 中 😀"'),
    ("\u2028\u2029", '"\\u2028\\u2029"'),
    ("\t\n\r\b\f\x01\x7f\u0085 \"\\ /", '"\\t\\n\\r\\b\\f\\u0001\x7f\u0085 \\"\\\\ /"'),
    ({"b": 1, "a": [1, {"d": None, "c": "x"}], "é": {}, "B": []}, '{"B":[],"a":[1,{"c":"x","d":null}],"b":1,"é":{}}'),
]


@pytest.mark.parametrize(("value", "expected"), ENCODING_CASES)
def test_go_json_table(value: Any, expected: str) -> None:
    assert go_json(value) == expected


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {1: "x"}, {"a": {1, 2}}])
def test_go_json_refuses_what_helm_values_cannot_hold(bad: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        go_json(bad)


def test_json_dumps_is_not_helm_json() -> None:
    # why go_json exists: the obvious Python canonical form differs on HTML characters, unicode and floats
    value = {"s": "<é>", "f": 2.0}
    assert json.dumps(value, sort_keys=True, separators=(",", ":")) == '{"f":2.0,"s":"<\\u00e9>"}'
    assert go_json(value) == '{"f":2,"s":"\\u003cé\\u003e"}'


CHART = """\
apiVersion: v2
name: hashes
version: 0.1.0
"""
TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: hashes
data:
{{- range $name, $value := .Values.cases }}
  {{ $name }}.json: {{ $value | toJson | b64enc | quote }}
  {{ $name }}.sha: {{ $value | toJson | sha256sum | quote }}
{{- end }}
  values.json: {{ .Values | toJson | b64enc | quote }}
  values.label: {{ .Values | toJson | sha256sum | trunc 12 | quote }}
"""


def _render(tmp_path: Path, helm: Path, env: dict[str, str], values_files: list[dict[str, Any]],
            defaults: dict[str, Any] | None = None) -> dict[str, str]:
    chart = tmp_path / "hashes"
    (chart / "templates").mkdir(parents=True, exist_ok=True)
    (chart / "Chart.yaml").write_text(CHART)
    (chart / "values.yaml").write_text(yaml.safe_dump(defaults or {}, allow_unicode=True))
    (chart / "templates" / "cm.yaml").write_text(TEMPLATE)
    args = [str(helm), "template", "x", str(chart)]
    for i, values in enumerate(values_files):
        path = tmp_path / f"values-{i}.yaml"
        path.write_text(yaml.safe_dump(values, allow_unicode=True))
        args += ["-f", str(path)]
    out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    data: dict[str, str] = yaml.safe_load(out.stdout)["data"]
    return data


def _decoded(data: dict[str, str], key: str) -> str:
    return base64.b64decode(data[key]).decode("utf-8")


def _random_float(rnd: random.Random) -> float:
    while True:
        number: float = struct.unpack("d", struct.pack("Q", rnd.getrandbits(64)))[0]
        if number == number and abs(number) != float("inf"):
            return number


def _random_text(rnd: random.Random) -> str:
    pool = [chr(c) for c in range(0x20, 0x7F)] + list("<>&\t\n\u2028\u2029é中😀\x01\x1f\x7f\u0085\ufeff")
    while True:
        text = "".join(rnd.choice(pool) for _ in range(rnd.randint(0, 12)))
        if text not in ("y", "Y", "n", "N"):  # booleans for Helm's YAML parser, strings for PyYAML (see below)
            return text


def _cases() -> dict[str, Any]:
    rnd = random.Random(20261201)
    cases: dict[str, Any] = {f"table{i}": value for i, (value, _) in enumerate(ENCODING_CASES) if value is not None}
    cases["floats"] = ([_random_float(rnd) for _ in range(1000)] + [rnd.uniform(-1e6, 1e6) for _ in range(300)]
                       + [round(rnd.uniform(0, 100), rnd.randint(0, 6)) for _ in range(300)])
    cases["ints"] = ([rnd.randint(-(2**53), 2**53) for _ in range(200)]
                     + [rnd.randint(-(10**6), 10**6) for _ in range(200)])
    cases["texts"] = [_random_text(rnd) for _ in range(500)]
    cases["keys"] = {"k" + _random_text(rnd): _random_text(rnd) for _ in range(200)}
    for path in sorted(EXAMPLES.glob("*.yaml")):
        cases["example-" + path.stem] = yaml.safe_load(path.read_text())
    return cases


def test_go_json_matches_helm_to_json(tmp_path: Path, tools: dict[str, Path], helm_env: dict[str, str]) -> None:
    cases = _cases()
    data = _render(tmp_path, tools["helm"], helm_env, [{"cases": cases}])
    parsed = yaml.safe_load((tmp_path / "values-0.yaml").read_text())["cases"]  # the tree as rayctl reads it
    mismatches = [name for name in cases if go_json(parsed[name]) != _decoded(data, f"{name}.json")]
    assert not mismatches, mismatches
    assert all(helm_sha256(parsed[name]) == data[f"{name}.sha"] for name in cases)
    # the label form of the whole tree: `.Values | toJson | sha256sum | trunc 12`
    assert helm_sha256({"cases": parsed})[:12] == data["values.label"]


def test_coalesce_values_matches_helm(tmp_path: Path, tools: dict[str, Path], helm_env: dict[str, str]) -> None:
    defaults = {"a": 1, "b": {"c": 2, "d": 3, "deep": {"e": 4, "gone": None}}, "lst": [1, 2, 3], "nul": None,
                "over": {"x": 1}, "scalar": 5, "items": [{"k": 1, "j": 2}]}
    first = {"a": None, "b": {"d": None, "deep": {"f": 5}, "newnull": None}, "lst": [9], "over": "scalar",
             "scalar": {"now": "a map"}, "items": [{"k": 7}], "fresh": None, "fresh_map": {"inner": None}}
    second = {"b": {"c": 10}, "cases": {}}
    data = _render(tmp_path, tools["helm"], helm_env, [first, second], defaults=defaults)
    expected = coalesce_values(defaults, merge_values(first, second))
    assert _decoded(data, "values.json") == go_json(expected)
    assert expected["b"] == {"c": 10, "deep": {"e": 4, "f": 5}, "newnull": None}
    assert "a" not in expected and "nul" not in expected and expected["fresh"] is None


@pytest.mark.parametrize(
    ("yaml_text", "pyyaml", "helm"),
    [
        # go-yaml v2 (under sigs.k8s.io/yaml) resolves YAML 1.1 y/n booleans, keys too; PyYAML does not
        ("v: y", {"v": "y"}, {"v": True}),
        ("n: 1", {"n": 1}, {"false": 1}),
        # numbers PyYAML's YAML 1.1 resolver leaves as strings
        ("v: 1e3", {"v": "1e3"}, {"v": 1000}),
        ("v: 0o17", {"v": "0o17"}, {"v": 15}),
        # and the other way round: sexagesimal ints and dates are strings for Helm
        ("v: 1:30", {"v": 90}, {"v": "1:30"}),
    ],
)
def test_yaml_parse_traps(tmp_path: Path, tools: dict[str, Path], helm_env: dict[str, str],
                          yaml_text: str, pyyaml: dict[str, Any], helm: dict[str, Any]) -> None:
    """Where the two YAML parsers disagree no encoder can help: the chart and rayctl must reject such scalars."""
    assert yaml.safe_load(yaml_text) == pyyaml
    chart = tmp_path / "hashes"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART)
    (chart / "values.yaml").write_text("")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: t\ndata:\n  v: {{ .Values | toJson | b64enc | quote }}\n")
    (tmp_path / "v.yaml").write_text(yaml_text + "\n")
    out = subprocess.run([str(tools["helm"]), "template", "x", str(chart), "-f", str(tmp_path / "v.yaml")],
                         capture_output=True, text=True, env=helm_env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(base64.b64decode(yaml.safe_load(out.stdout)["data"]["v"])) == helm


def test_helm_sha256_is_plain_sha256_of_go_json() -> None:
    assert helm_sha256("abc") == hashlib.sha256(b'"abc"').hexdigest()
