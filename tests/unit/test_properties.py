"""Property tests: generated valid specs always render CRD-valid RayServices; broken ones fail cleanly."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rayctl.errors import InputError
from rayctl.render import render
from rayctl.render.yamlout import dump_yaml
from rayctl.spec import DeploymentSpec, SpecError
from rayctl.validate import validate_objects
from tests.conftest import examples
from tests.strategies import full_specs, specs


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_valid_specs_render_crd_valid(crd_dir: Path, data: dict[str, Any]) -> None:
    spec = DeploymentSpec.model_validate(data)
    rendered = render(spec)
    report = validate_objects(rendered.objects, crd_dir=crd_dir, ray_schema=False)
    crd_errors = [f for f in report.errors if "CRD schema" in f.message or "unknown field" in f.message]
    assert not crd_errors, [str(f) for f in crd_errors]
    assert rendered.text == render(spec).text  # deterministic


def _mappings(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if isinstance(node, dict) else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _mappings(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _mappings(value, (*path, index))
    return found


def _opaque(path: tuple[Any, ...]) -> bool:
    """Free-form maps (labels, args, engine kwargs, ...) accept any key."""
    free = {"args", "engineKwargs", "nodeSelector", "labels", "annotations", "rayStartParams", "userConfig",
            "runtimeEnv", "rayResources", "resources", "deployments", "env"}
    return any(p in free for p in path) or (path and path[-1] == "placementGroupBundles")


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs(), st.data())
def test_unknown_key_anywhere_fails_cleanly(data: dict[str, Any], draw: st.DataObject) -> None:
    targets = [p for p in _mappings(data) if not _opaque(p)]
    path = draw.draw(st.sampled_from(targets))
    broken = copy.deepcopy(data)
    node: Any = broken
    for part in path:
        node = node[part]
    node["bogusKey"] = 1

    from rayctl.spec.loader import load_spec_text

    with pytest.raises(SpecError) as caught:
        load_spec_text(dump_yaml(broken), "gen.yaml")  # quotes what go-yaml would retype
    assert any(i.path.endswith("bogusKey") and "unknown key" in i.message for i in caught.value.issues), \
        str(caught.value)


@settings(max_examples=examples(60), deadline=None)
@given(specs(), st.sampled_from([("name", 7), ("workerGroups", "x"), ("serve", []),
                                 ("autoscaling", {"enabled": "maybe"}),
                                 ("head", {"cpu": "lots"})]))
def test_wrong_types_fail_cleanly(data: dict[str, Any], change: tuple[str, Any]) -> None:

    from rayctl.spec.loader import load_spec_text

    broken = {**data, change[0]: change[1]}
    with pytest.raises(InputError) as caught:
        load_spec_text(dump_yaml(broken), "gen.yaml")  # quotes what go-yaml would retype
    assert change[0] in str(caught.value)


_WORDS = (st.from_regex(r"[A-Za-z_][A-Za-z0-9_./-]{0,140}", fullmatch=True) | st.text(max_size=40)
          | st.text(alphabet=st.sampled_from(list(" \n\t-:#ab1|>'\"\\é\x85\u2028")), max_size=12)  # `|+`, breaks
          | st.text(alphabet=st.sampled_from(list('ab {}":,\n\n ')), min_size=1, max_size=60)  # literal blocks
          | st.text(alphabet="k", min_size=118, max_size=130)  # around PyYAML's simple-key limit (122 + `!!str`)
          | st.sampled_from(["y", "on", "No", "null", "True", "_", "a.b/c", "x-1", "1e3", "", "a b", "2024-01-01",
                             "- x", "a: b", "#c", "multi\nline", "&a", "*a", "!t", "%x", "@x", "=", "<<", "~"]))


_TREES = st.recursive(_WORDS | st.integers() | st.floats(allow_nan=False) | st.booleans() | st.none(),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_WORDS, inner, max_size=4),
                      max_leaves=20)


@settings(max_examples=examples(150), deadline=None)
@given(st.dictionaries(_WORDS, _TREES, max_size=6))
def test_maps_are_written_byte_for_byte_as_pyyaml_writes_them(data: dict[str, Any]) -> None:
    # dump_yaml writes maps entry by entry, plain words and nested maps without PyYAML's emitter (20 000 labels
    # took seconds): the text must not change
    assert dump_yaml(data) == _pyyaml_text(data)


# One-line JSON-like texts (a dashboard is ~60 KB of them): written without PyYAML's emitter, folded at the column
# PyYAML folds them; tokens with quotes, lone and repeated spaces, non-ASCII text and the breaks and BOM PyYAML
# escapes, ending in a space or a quote
_ONE_LINE = st.builds(lambda words, tail: "{" + " ".join(words) + tail,
                      st.lists(st.sampled_from(['"k": 1,', "it's", "''", "  ", "[1, 2]", "{", "}", "x" * 40, "a",
                                               "p50 · p99", "\u2014", "\U0001f600", "\x85", "\ufeff"]),
                               max_size=3000),
                      st.sampled_from(["", " ", "'", "  "]))
_PLACES = [lambda t: {"data": {"dashboard.json": t}}, lambda t: {"a": {"b": {"c": [{"d": t, "e": "f"}]}}},
           lambda t: {"k": t, "l": [t]}, lambda t: {"a": [{"b": [{"c": t}]}], "x" * 127: t, "y" * 128: t}]


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ONE_LINE, st.sampled_from(_PLACES))
def test_one_line_json_is_written_and_folded_as_pyyaml_does(text: str, place: Any) -> None:
    data = place(text)
    assert dump_yaml(data) == _pyyaml_text(data)


_FOLDED = "'a b: " * 2000  # PyYAML folds it past column 10 000: where depends on the column it starts at
_JSON = '{\n  "panels": [\n    {"title": "p99 latency", "expr": "histogram_quantile(0.99, x)"}\n  ]\n}\n' * 40


@pytest.mark.parametrize("data", [
    {"data": {"dashboard.json": _FOLDED}},
    {"a": {"b": {"c": [_FOLDED, {"d": _FOLDED}]}, "e": "f"}, "g": {"h": "i"}},
    {"a": {_FOLDED: "x"}},
    {"metadata": {"labels": {f"k{i}": "v" for i in range(50)}}, "data": {"x.json": _FOLDED + "\n"}},
    {"data": {"overview.json": _JSON, "other.json": _JSON.rstrip("\n")}},  # literal blocks, written without PyYAML
    {"data": {"a.json": _JSON.replace("]", "] "), "b.json": " " + _JSON, "c.json": _JSON + "\n"}},  # PyYAML's
    {"a": [{"b": _JSON}, _JSON], "c": {"d": {"e": _JSON + "é"}}},
], ids=["configmap", "deep", "long-key", "labels-and-block", "dashboards", "space-before-break-leading-keep",
        "nested-and-unicode"])
def test_long_text_is_folded_where_pyyaml_folds_it(data: dict[str, Any]) -> None:
    assert dump_yaml(data) == _pyyaml_text(data)


def _pyyaml_text(data: Any) -> str:
    import yaml

    from rayctl.render.yamlout import _Dumper

    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=10_000, allow_unicode=True)


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(full_specs())
def test_generated_objects_are_what_the_text_reads_back_as(data: dict[str, Any]) -> None:
    # companions built whole in Python (monitoring) are taken as they are, not read back from their text
    import yaml

    try:
        spec = DeploymentSpec.model_validate(data)
    except (SpecError, ValueError):
        return
    rendered = render(spec)
    assert [d for d in yaml.load_all(rendered.text, Loader=yaml.CSafeLoader) if d is not None] == rendered.objects
