"""Adding an application type touches one registry module plus its serve app: a toy type kept outside rayctl
($RAYCTL_APP_MODULES) renders, validates and answers `rayctl run --smoke` on a real local Ray Serve."""

from __future__ import annotations

import os
from pathlib import Path

from rayctl.localrun import free_port
from tests.serve.test_run_cmd import _port_open, rayctl
from tests.unit.test_workflow_cli import TOY_REGISTRY

TOY_SERVE_APP = '''"""The toy app's Serve side: validates its args with the registry module's contract."""
from ray import serve
from starlette.requests import Request

from toy_echo_registry import CONTRACT


@serve.deployment(ray_actor_options={"num_cpus": 0.1})
class Echo:
    def __init__(self, greeting: str) -> None:
        self._greeting = greeting

    async def __call__(self, request: Request) -> dict:
        body = await request.json()
        return {"echo": f"{self._greeting} {body.get('text', '')}"}


def app_builder(args: dict | None = None) -> serve.Application:
    args = CONTRACT.parse(args)
    return Echo.bind(args["greeting"])
'''


def test_toy_app_type_runs_and_answers(serve_deps: None, tmp_path: Path) -> None:
    (tmp_path / "toy_echo_registry.py").write_text(TOY_REGISTRY)
    (tmp_path / "toy_echo_app.py").write_text(TOY_SERVE_APP)
    env = {"RAYCTL_APP_MODULES": "toy_echo_registry",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), str(tmp_path)])}
    spec = tmp_path / "echo.yaml"
    assert rayctl("init", str(spec), "--app-type", "echo", env=env).returncode == 0
    spec.write_text(spec.read_text().replace("type: echo", "type: echo\n      greeting: hello from a toy"))
    port = free_port()
    proc = rayctl("run", str(spec), "--smoke", "--port", str(port), timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert f"echo: POST http://127.0.0.1:{port}/echo/echo -> 200" in proc.stdout, proc.stdout
    assert '"echo": "hello from a toy toy"' in proc.stdout.replace("'", '"') or \
        "hello from a toy toy" in proc.stdout, proc.stdout
    assert not _port_open(port)
