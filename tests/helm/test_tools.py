"""The pinned chart tools work offline: real Helm v4, the helm-unittest plugin and chart-testing `ct`.

Each test builds a tiny chart in a temp dir and runs the real binary on it, once where it must pass and once where
it must fail, so a tool that is missing, mis-installed or silently doing nothing cannot pass. Binaries come from
`hack/helm/build.sh` (`make helm-tools`); `ct` also needs yamllint and yamale from the venv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import skip_or_fail
from tests.helm.conftest import tool_paths

HELM_VERSION = "v4.3.1"
TIMEOUT = 120

CHART_YAML = """\
apiVersion: v2
name: tiny
description: A scratch chart for the tool checks.
type: application
version: 0.1.0
appVersion: "1.0.0"
maintainers:
  - name: rayctl
"""
VALUES_YAML = """\
# -- replicas of the scratch workload
replicas: 2
# -- a big number: templates must not print it with {{ .Values.x }} (1e+06)
budget: 1000000
"""
SCHEMA_JSON = """\
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "replicas": {"type": "integer", "minimum": 1, "maximum": 10},
    "budget": {"type": "integer"}
  }
}
"""
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-tiny
  labels:
    app.kubernetes.io/name: tiny
data:
  replicas: {{ .Values.replicas | toJson | quote }}
  budget: {{ .Values.budget | int64 | quote }}
  raw: {{ .Values.budget | quote }}
"""
UNITTEST_SUITE = """\
suite: configmap
templates:
  - templates/configmap.yaml
tests:
  - it: renders numbers without float formatting
    set:
      replicas: 3
    asserts:
      - isKind:
          of: ConfigMap
      - equal:
          path: metadata.name
          value: RELEASE-NAME-tiny
      - equal:
          path: data.replicas
          value: "3"
      - equal:
          path: data.budget
          value: "1000000"
      - equal:
          path: data.raw
          value: "1e+06"
  - it: rejects replicas above the schema maximum
    set:
      replicas: 11
    asserts:
      - failedTemplate: {}
"""


def _chart(root: Path, *, replicas: int = 2, trailing_space: bool = False) -> Path:
    chart = root / "tiny"
    (chart / "templates").mkdir(parents=True)
    (chart / "tests").mkdir()
    (chart / "Chart.yaml").write_text(CHART_YAML)
    values = VALUES_YAML.replace("replicas: 2", f"replicas: {replicas}")
    if trailing_space:  # valid YAML and valid values, but yamllint (ct's lintconf) rejects it
        values = values.replace("# -- replicas of the scratch workload", "# -- replicas of the scratch workload   ")
    (chart / "values.yaml").write_text(values)
    (chart / "values.schema.json").write_text(SCHEMA_JSON)
    (chart / "templates" / "configmap.yaml").write_text(CONFIGMAP)
    (chart / "tests" / "configmap_test.yaml").write_text(UNITTEST_SUITE)
    return chart


def _run(args: list[str | Path], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env, cwd=cwd, timeout=TIMEOUT)


def test_helm_version(tools: dict[str, Path], helm_env: dict[str, str]) -> None:
    out = _run([tools["helm"], "version", "--template", "{{ .Version }}"], helm_env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == HELM_VERSION


@pytest.mark.parametrize(
    ("replicas", "ok", "message"),
    [
        (2, True, "1 chart(s) linted, 0 chart(s) failed"),
        (0, False, "at '/replicas': minimum: got 0, want 1"),
    ],
)
def test_helm_lint_strict(tmp_path: Path, tools: dict[str, Path], helm_env: dict[str, str],
                          replicas: int, ok: bool, message: str) -> None:
    chart = _chart(tmp_path, replicas=replicas)
    out = _run([tools["helm"], "lint", "--strict", chart], helm_env)
    assert (out.returncode == 0) is ok, out.stdout + out.stderr
    assert message in out.stdout + out.stderr


def test_helm_template(tmp_path: Path, tools: dict[str, Path], helm_env: dict[str, str]) -> None:
    chart = _chart(tmp_path)
    out = _run([tools["helm"], "template", "demo", chart, "--set", "replicas=4"], helm_env)
    assert out.returncode == 0, out.stderr
    (cm,) = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert cm["metadata"]["name"] == "demo-tiny"
    # values files give float64: toJson/int64 print 1000000, plain interpolation prints 1e+06
    assert cm["data"] == {"replicas": "4", "budget": "1000000", "raw": "1e+06"}

    rejected = _run([tools["helm"], "template", "demo", chart, "--set", "replicas=11"], helm_env)
    assert rejected.returncode != 0
    assert "at '/replicas': maximum: got 11, want 10" in rejected.stderr


def test_helm_unittest_plugin(tmp_path: Path, tools: dict[str, Path], helm_env: dict[str, str]) -> None:
    chart = _chart(tmp_path)
    plugins = _run([tools["helm"], "plugin", "list"], helm_env)
    assert plugins.returncode == 0, plugins.stderr
    assert "unittest" in plugins.stdout and "1.1.2" in plugins.stdout, plugins.stdout

    out = _run([tools["helm"], "unittest", chart], helm_env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Tests:       2 passed, 2 total" in out.stdout, out.stdout

    # a suite that expects the wrong value must fail: the plugin really evaluates the templates
    suite = chart / "tests" / "configmap_test.yaml"
    suite.write_text(suite.read_text().replace('value: "1000000"', 'value: "999"'))
    failing = _run([tools["helm"], "unittest", chart], helm_env)
    assert failing.returncode != 0
    assert "Tests:       1 failed, 1 passed, 2 total" in failing.stdout, failing.stdout


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t.invalid"}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env, timeout=30)


@pytest.mark.parametrize(("trailing_space", "ok"), [(False, True), (True, False)])
def test_ct_lint_offline(tmp_path: Path, tools: dict[str, Path], helm_env: dict[str, str],
                         trailing_space: bool, ok: bool) -> None:
    for exe in ("yamllint", "yamale"):
        if shutil.which(exe, path=helm_env["PATH"]) is None:
            skip_or_fail(f"{exe} not installed in the venv (ct lint runs it); pip install it (see requirements)")
    # ct wants a git repo, but with --charts, no remote and no target-branch diff it needs no network
    repo = tmp_path / "repo"
    chart = _chart(repo / "charts", trailing_space=trailing_space)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "scratch chart")
    etc = tools["ct-etc"]
    out = _run([tools["ct"], "lint", "--charts", chart.relative_to(repo),
                "--chart-yaml-schema", etc / "chart_schema.yaml", "--lint-conf", etc / "lintconf.yaml",
                "--validate-maintainers=false", "--check-version-increment=false"], helm_env, cwd=repo)
    log = out.stdout + out.stderr
    assert (out.returncode == 0) is ok, log
    if ok:
        assert "All charts linted successfully" in log, log
    else:
        assert "trailing spaces" in log, log


def test_print_paths_lists_every_tool() -> None:
    assert set(tool_paths()) == {"helm", "helm-unittest", "ct", "helm-plugins", "ct-etc"}
