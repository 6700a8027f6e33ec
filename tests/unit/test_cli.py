"""The CLI as users drive it: exit codes, clean stdout for pipes, errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.cli import run_rayctl, run_subprocess
from tests.conftest import EXAMPLES, ROOT


def rayctl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_rayctl(*args, stdin=stdin)


def test_render_stdout_is_pure_yaml() -> None:
    result = rayctl("render", str(EXAMPLES / "hello.yaml"))
    assert result.returncode == 0, result.stderr
    docs = list(yaml.safe_load_all(result.stdout))
    assert [d["kind"] for d in docs] == ["RayService"]


def test_render_reads_stdin_and_writes_file(tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    result = rayctl("render", "-", "-o", str(target), stdin=(EXAMPLES / "hello.yaml").read_text())
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert yaml.safe_load(target.read_text())["metadata"]["name"] == "hello"


def test_render_json_list() -> None:
    result = rayctl("render", str(EXAMPLES / "hello.yaml"), "--format", "json")
    data = json.loads(result.stdout)
    assert data["kind"] == "List" and data["items"][0]["kind"] == "RayService"


@pytest.mark.parametrize(("args", "code", "words"), [
    (("render", "nope.yaml"), 3, "nope.yaml: no such file"),
    (("render", str(EXAMPLES / "hello.yaml"), "--set", "workerGroups[0].cpuu=1"), 3, "did you mean 'cpu'"),
    (("render", str(EXAMPLES / "llama-70b-tp4.yaml"), "--set", "workerGroups[0].gpus=2"), 3, "STRICT_PACK"),
    (("render", str(EXAMPLES / "hello.yaml"), "--profile", "tpu"), 2, "cpu or gpu"),
    (("render",), 2, "Missing argument"),
    (("validate", str(ROOT / "pyproject.toml")), 3, "YAML syntax error"),
    (("init", "-", "--example", "helo"), 3, "did you mean 'hello'"),
])
def test_errors_exit_codes_and_no_traceback(args: tuple[str, ...], code: int, words: str) -> None:
    result = rayctl(*args)
    assert result.returncode == code, (result.stdout, result.stderr)
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_debug_shows_traceback() -> None:
    result = rayctl("--debug", "render", "nope.yaml")
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_validate_spec_and_rendered(tmp_path: Path, crd_dir: Path) -> None:
    result = rayctl("validate", str(EXAMPLES / "pipeline.yaml"), "--crd-dir", str(crd_dir))
    assert result.returncode == 0, result.stderr
    assert "RayService/text-pipeline: valid" in result.stderr
    rendered = tmp_path / "r.yaml"
    rendered.write_text(rayctl("render", str(EXAMPLES / "pipeline.yaml")).stdout)
    result = rayctl("validate", str(rendered), "--crd-dir", str(crd_dir))
    assert result.returncode == 0, result.stderr


def test_warnings_exit_zero() -> None:
    result = rayctl("validate", str(EXAMPLES / "hello.yaml"), "--set", "ray.image=rayproject/ray:2.9.0",
                    "--no-ray-schema")
    assert result.returncode == 0
    assert "warning:" in result.stderr and "does not match rayVersion" in result.stderr


def test_init_writes_and_refuses_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "spec.yaml"
    assert rayctl("init", str(target), "--example", "llama-8b").returncode == 0
    assert target.read_text().startswith("# llama-8b")
    again = rayctl("init", str(target))
    assert again.returncode == 3 and "--force" in again.stderr
    assert rayctl("validate", str(target), "--no-ray-schema").returncode == 0


def test_schema_is_json_schema_with_descriptions() -> None:
    result = rayctl("schema")
    schema = json.loads(result.stdout)
    assert schema["title"] == "rayctl deployment spec"
    assert "workerGroups" in schema["properties"]
    assert schema["additionalProperties"] is False
    assert all("description" in p for p in schema["properties"].values())


def test_render_imports_no_heavy_modules() -> None:
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['rayctl', 'render', {str(EXAMPLES / 'llama-70b-tp4.yaml')!r}, '-o', '/dev/null']\n"
        "try:\n    runpy.run_module('rayctl', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'vllm', 'kubernetes', 'kr8s', 'torch'))\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr


def test_version() -> None:
    result = run_subprocess("--version")  # the entry point itself, in a fresh interpreter
    assert result.returncode == 0 and result.stdout.startswith("rayctl ") and "Ray 2.60.0" in result.stdout


def test_typer_exit_code_is_kept() -> None:
    """A command's `raise typer.Exit(n)` must reach the shell as n (rayctl diff relies on it)."""
    code = (
        "import sys, typer\n"
        "from rayctl.cli.app import app\n"
        "@app.command('exit-probe')\n"
        "def probe() -> None:\n"
        "    raise typer.Exit(1)\n"
        "sys.argv = ['rayctl', 'exit-probe']\n"
        "from rayctl.cli import main\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 1, result.stderr
