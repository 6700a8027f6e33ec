"""The chart with the real tools: `helm lint --strict` with every example, the helm-unittest suites
(charts/rayservice/tests: fail messages, schema rejections, labels), `ct lint`, Helm's own `--set` into a spec's
list items, and the `fail` for an application type the chart has no templates for."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, skip_or_fail
from tests.helm.chart import CHART, Helm, helm_objects, normalize, parse_documents, rayctl_objects

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


@pytest.mark.parametrize("profile", [None, "cpu", "gpu"])
@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_helm_lint_strict_with_every_example(helm: Helm, example: Path, profile: str | None) -> None:
    args = ["lint", "--strict", str(CHART), "-f", str(example)] + (["--set", f"profile={profile}"] if profile else [])
    out = helm.run(*args)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in out.stdout


def test_helm_lint_strict_fails_without_a_spec(helm: Helm) -> None:
    """values.yaml holds the defaults only: `name` and `serve.applications` must come from the spec."""
    out = helm.run("lint", "--strict", str(CHART))
    assert out.returncode != 0
    assert "at '': missing property 'name'" in out.stdout + out.stderr
    assert "at '/serve': missing property 'applications'" in out.stdout + out.stderr


def test_helm_unittest_suites(helm: Helm) -> None:
    out = helm.run("unittest", str(CHART))
    assert out.returncode == 0, out.stdout + out.stderr
    summary = re.search(r"Tests:\s+(\d+) passed, (\d+) total", out.stdout)
    assert summary and summary.group(1) == summary.group(2), out.stdout
    suites = len(list((CHART / "tests").glob("*_test.yaml")))
    assert f"Test Suites: {suites} passed, {suites} total" in out.stdout, out.stdout
    assert int(summary.group(2)) >= 30, out.stdout


def test_ct_lint(tmp_path: Path, helm: Helm, tools: dict[str, Path]) -> None:
    """chart-testing's lint (Chart.yaml schema, yamllint, `helm lint` with every ci/*-values.yaml), on a copy of the
    chart in a scratch git repo (ct wants one; --charts needs no remote)."""
    for exe in ("yamllint", "yamale"):
        if shutil.which(exe, path=helm.env["PATH"]) is None:
            skip_or_fail(f"{exe} not installed in the venv (ct lint runs it); pip install it (see requirements)")
    repo = tmp_path / "repo"
    shutil.copytree(CHART, repo / "charts" / "rayservice")
    git_env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t.invalid",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t.invalid"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "chart"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=git_env, timeout=30)
    etc = tools["ct-etc"]
    out = subprocess.run([str(tools["ct"]), "lint", "--charts", "charts/rayservice",
                          "--chart-yaml-schema", str(etc / "chart_schema.yaml"), "--lint-conf",
                          str(etc / "lintconf.yaml"), "--validate-maintainers=false",
                          "--check-version-increment=false"],
                         capture_output=True, text=True, env=helm.env, cwd=repo, timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log
    assert "All charts linted successfully" in log, log
    linted = set(re.findall(r'Linting chart with values file "charts/rayservice/ci/([^"]+)"', log))
    assert linted == {f"{p.stem}-values.yaml" for p in EXAMPLE_FILES}, linted


def test_set_into_a_list_item_of_the_spec(helm: Helm, tmp_path: Path) -> None:
    """`helm ... -f spec.yaml --set workerGroups[0].replicas=2` edits the spec's list item like `rayctl --set`."""
    example = EXAMPLES / "autoscaled-cpu.yaml"
    proc = helm.template([example], ["workerGroups[0].replicas=2", "head.cpu=2"])
    assert proc.returncode == 0, proc.stderr
    from rayctl.workflow import render_file

    text = render_file(example, overrides=["workerGroups[0].replicas=2", "head.cpu=2"]).require_rendered().text
    assert normalize(parse_documents(proc.stdout), "Helm") == normalize(parse_documents(text), "rayctl")
    group = normalize(parse_documents(proc.stdout), "Helm")[0]["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]
    assert group["replicas"] == 2 and group["groupName"] == "cpu"


def test_values_and_profile_override_agree(helm: Helm, tmp_path: Path) -> None:
    """`--set profile=cpu` is `rayctl render --profile cpu` (and `profile: cpu` in the spec)."""
    example = EXAMPLES / "llama-8b.yaml"
    assert helm_objects(helm, example, "cpu") == rayctl_objects(example, "cpu")
    assert helm_objects(helm, example, "cpu") != helm_objects(helm, example, None)


def test_a_type_without_chart_templates_fails_naming_it(helm: Helm, tmp_path: Path) -> None:
    """An application type the registry knows but the chart has no templates for (a new rayctl/apps/<type>.py)
    fails with a message naming the type and the file to add, not with a template-not-found error."""
    chart = tmp_path / "rayservice"
    shutil.copytree(CHART, chart)
    apps = chart / "templates" / "_apps.tpl"
    apps.write_text(apps.read_text().replace("hello llm vllm pipeline classifier ab custom",
                                             "llm vllm pipeline classifier ab custom"))
    proc = helm.template([EXAMPLES / "hello.yaml"], chart=chart)
    assert proc.returncode != 0
    assert ("application \"hello\": type 'hello' has no chart templates; add "
            "charts/rayservice/templates/_app_hello.tpl mirroring rayctl/apps/hello.py") in proc.stderr, proc.stderr
