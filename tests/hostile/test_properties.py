"""Property tests over what a hostile user controls: YAML structure, value types anywhere in a spec, and `--set`
paths and values. Every generated input runs through the real command line in its own process and must end in
exit 0, 2 or 3, without a traceback, within 10 s of CPU and 1 GiB of memory."""

from __future__ import annotations

import os

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.corpus import EXAMPLES, Case, _replace
from tests.hostile.runner import ForkServer
from tests.trees import paths as tree_paths

EXAMPLES_COUNT = int(os.environ.get("RAYCTL_HOSTILE_EXAMPLES", "40"))
SPECS = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(EXAMPLES.glob("*.yaml"))}
PATHS = {name: list(tree_paths(data)) for name, data in SPECS.items()}
CHECK = settings(max_examples=EXAMPLES_COUNT, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                        HealthCheck.data_too_large])

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-(2**70), 2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
                    st.sampled_from(["500m", "1e3", "y", "on", "0x1F", "1.10", "-1", "9Ei", "", "~", "<<", "*a"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                       st.dictionaries(st.text(max_size=10), inner, max_size=5)),
                      max_leaves=25)
yaml_text = st.text(alphabet=st.sampled_from(list("[]{}:-,?&*!|>'\"#%@ \n\t<=~.0123456789abkeyonnull")), max_size=300)


def _check(server: ForkServer, case: Case) -> None:
    outcome = server.run(case)
    assert not outcome.problems(), f"{case.argv}: {outcome.problems()}\n{outcome.stderr[-2000:]}"


def _both(name: str, body: bytes) -> list[Case]:
    files = {"spec.yaml": body}
    return [Case(f"{name}:render", "property", ("render", "{dir}/spec.yaml"), files),
            Case(f"{name}:validate", "property", ("validate", "{dir}/spec.yaml", "--crd-dir", "{crds}",
                                                  "--no-ray-schema"), files)]


@CHECK
@given(data=st.data())
def test_any_value_anywhere_in_a_spec(fork_server: ForkServer, data: st.DataObject) -> None:
    example = data.draw(st.sampled_from(sorted(SPECS)), label="example")
    path = data.draw(st.sampled_from(PATHS[example]), label="path")
    value = data.draw(values, label="value")
    body = yaml.safe_dump(_replace(SPECS[example], path, value), allow_unicode=True).encode("utf-8", "surrogatepass")
    for case in _both(f"types/{example}", body):
        _check(fork_server, case)


@CHECK
@given(text=yaml_text, prefix=st.sampled_from(["", "name: x\n", "serve:\n  applications:\n    - "]))
def test_any_yaml_structure(fork_server: ForkServer, text: str, prefix: str) -> None:
    for case in _both("structure", (prefix + text).encode("utf-8")):
        _check(fork_server, case)


set_paths = st.one_of(
    st.sampled_from(sorted({".".join(str(p) for p in path).replace(".0", "[0]").replace(".1", "[1]")
                            for paths in PATHS.values() for path in paths})),
    st.from_regex(r"[a-zA-Z0-9_.\[\]\-]{0,40}", fullmatch=True),
)
set_values = st.one_of(yaml_text, st.builds(lambda v: yaml.safe_dump(v, default_flow_style=True, width=10**6).strip()
                                            .removesuffix("\n...").removesuffix("..."), values))


@CHECK
@given(assignments=st.lists(st.tuples(set_paths, set_values), min_size=1, max_size=3),
       example=st.sampled_from(sorted(SPECS)))
def test_any_set_path_and_value(fork_server: ForkServer, assignments: list[tuple[str, str]], example: str) -> None:
    argv: list[str] = ["render", "{dir}/spec.yaml"]
    for path, value in assignments:
        argv += ["--set", f"{path}={value}"]
    files = {"spec.yaml": (EXAMPLES / f"{example}.yaml").read_bytes()}
    _check(fork_server, Case("set", "property", tuple(argv), files))

