"""The cluster commands' CLI surface without a cluster: lazy imports, flag checks, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rayctl.cli.cluster_cmds import parse_duration
from tests.cli import run_rayctl

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_rayctl(*args, stdin=stdin, cwd=REPO)


def test_cluster_commands_do_not_import_clients_at_startup() -> None:
    code = (
        "import sys, rayctl.cli.cluster_cmds, rayctl.k8s, rayctl.plan\n"
        "bad = [m for m in ('kubernetes', 'kr8s', 'httpx', 'urllib3') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


@pytest.mark.parametrize(
    ("text", "seconds"), [("10m", 600), ("90s", 90), ("1h30m", 5400), ("45", 45), ("1.5m", 90), ("500ms", 0.5)]
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_parse_duration_rejects_garbage() -> None:
    import typer

    with pytest.raises(typer.BadParameter):
        parse_duration("ten minutes")


def unreachable_kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kc"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "x",
                "clusters": [
                    {"name": "c", "cluster": {"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": True}}
                ],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            }
        )
    )
    return path


def test_delete_refuses_without_tty(tmp_path: Path) -> None:
    proc = run("delete", "x", "--kubeconfig", str(unreachable_kubeconfig(tmp_path)))
    assert proc.returncode == 2
    assert "refusing to delete without confirmation" in proc.stderr


def test_bad_flags_exit_2(tmp_path: Path) -> None:
    kc = str(unreachable_kubeconfig(tmp_path))
    spec = str(REPO / "manifests" / "examples" / "hello.yaml")
    assert run("status", "x", "-o", "xml", "--kubeconfig", kc).returncode == 2
    assert run("apply", spec, "--dry-run=client", "--kubeconfig", kc).returncode == 2
    assert run("apply", spec, "--wait", "--timeout", "soon", "--kubeconfig", kc).returncode == 2


def test_unreachable_cluster_one_line(tmp_path: Path) -> None:
    kc = str(unreachable_kubeconfig(tmp_path))
    proc = run("status", "x", "--kubeconfig", kc)
    assert proc.returncode == 4
    assert proc.stderr.startswith("error: ") and "cannot reach the API server at https://127.0.0.1:1" in proc.stderr
    assert "Traceback" not in proc.stderr
    spec = str(REPO / "manifests" / "examples" / "hello.yaml")
    proc = run("diff", spec, "--kubeconfig", kc)
    assert proc.returncode == 4 and "Traceback" not in proc.stderr
