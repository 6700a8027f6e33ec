"""Every CPU-runnable example's rendered serveConfigV2 deploys on real Ray Serve and answers a request.

All examples go into one Serve config (one local Ray, to keep the suite short), exactly as `rayctl render
--profile cpu` embeds them, only renamed so their names and routes don't collide. The LLM examples need their
Hugging Face weights, which cannot be downloaded here; tests/serve/test_llm_app.py covers that app on a tiny model.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from rayctl.apps import app_types
from rayctl.apps.llm import CONTRACT as LLM_CONTRACT
from rayctl.localrun import free_port
from rayctl.workflow import render_file
from tests.serve.test_run_cmd import _port_open, rayctl

REPO = Path(__file__).resolve().parents[2]
CPU_EXAMPLES = ["hello", "pipeline", "classifier", "ab-router", "autoscaled-cpu"]


BUNDLED = [cls for cls in app_types().values() if cls.CONTRACT is not None]


@pytest.mark.parametrize("cls", BUNDLED, ids=lambda c: c.TYPE)
def test_bundled_builders_enforce_their_registry_contract(serve_deps: None, cls: type) -> None:
    """The builder in serve_apps validates with the same contract the renderer and validator read."""
    module_name, _, attr = cls.IMPORT_PATH.partition(":")
    builder = getattr(importlib.import_module(module_name), attr)
    with pytest.raises(ValueError, match=r"unknown arg\(s\) 'no_such_arg'"):
        builder({"no_such_arg": 1})
    required = [a.name for a in cls.CONTRACT.args if a.required]
    if required:
        with pytest.raises(ValueError, match=f"missing required arg '{required[0]}'"):
            builder({})


def test_cpu_examples_deploy_and_answer(serve_deps: None, tmp_path: Path) -> None:
    applications = []
    for name in CPU_EXAMPLES:
        config = render_file(REPO / "manifests" / "examples" / f"{name}.yaml", profile="cpu").rendered.serve_config
        for app in config["applications"]:
            app["name"] = f"{name}-{app['name']}"
            app["route_prefix"] = f"/{name}{app['route_prefix'].rstrip('/')}"
            for deployment in app.get("deployments", []):  # fit all of them on a 2-core test machine
                deployment.pop("ray_actor_options", None)
                if "autoscaling_config" in deployment:
                    deployment["autoscaling_config"]["max_replicas"] = 2
            applications.append(app)
    merged = tmp_path / "serve.json"
    merged.write_text(json.dumps({"applications": applications}))
    port = free_port()
    proc = rayctl("run", "--serve-config", str(merged), "--smoke", "--port", str(port), timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for app in applications:
        assert any(line.startswith(f"{app['name']}:") and "-> 200" in line for line in proc.stdout.splitlines()), \
            (app["name"], proc.stdout[-3000:])
    assert not _port_open(port)


@pytest.mark.parametrize("name", ["llama-8b", "llama-70b-tp4"])
def test_llm_examples_render_for_the_llm_builder(serve_deps: None, name: str) -> None:
    """The LLM examples' args go through serve_apps.llm's own argument handling (no deploy: no weights here)."""
    config = render_file(REPO / "manifests" / "examples" / f"{name}.yaml", profile="cpu").rendered.serve_config
    args = config["applications"][0]["args"]
    assert set(args) <= LLM_CONTRACT.names()
    assert args["device"] == "cpu"
