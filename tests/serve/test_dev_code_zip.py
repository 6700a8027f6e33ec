"""The dev loop's code ConfigMap (rayctl/devloop/code.py) is enough for Ray Serve: from the zip alone (no repository
and no installed rayctl on the path, as in the CPU image), the Serve controller's step - import each application's
`import_path` and call its builder with the rendered args - works for every example on its CPU profile."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rayctl.devloop.code import bundle_code
from rayctl.workflow import render_file
from tests.conftest import EXAMPLES, ROOT

EXAMPLE_NAMES = ["hello", "pipeline", "ab-router", "classifier", "llama-8b"]

PROBE = """
import importlib, json, sys
from ray.serve._private.api import call_user_app_builder_with_args_if_necessary as build
out = []
for app in json.load(open(sys.argv[1])):
    module, _, attr = app["import_path"].partition(":")
    built = build(getattr(importlib.import_module(module), attr), app.get("args") or {})
    out.append([app["name"], type(built).__name__])
outside = sorted(n for n, m in sys.modules.items() if n.split(".")[0] in ("rayctl", "serve_apps")
                 and not (getattr(m, "__file__", "") or "").startswith(sys.argv[2]))
print(json.dumps({"built": out, "outside": outside}))
"""


def test_every_example_builds_from_the_code_zip_alone(serve_deps: None, tmp_path: Path) -> None:
    zip_path = tmp_path / "app.zip"
    zip_path.write_bytes(bundle_code(ROOT / "serve_apps").data)
    apps = []
    for name in EXAMPLE_NAMES:
        config = render_file(EXAMPLES / f"{name}.yaml", profile="cpu").require_rendered().serve_config
        apps += config["applications"]
    (tmp_path / "apps.json").write_text(json.dumps(apps))
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "apps.json"), str(zip_path)], capture_output=True, text=True,
        env={"PYTHONPATH": str(zip_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, cwd=tmp_path,
        timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["outside"] == [], f"imported from outside the zip: {result['outside']}"
    assert [name for name, _ in result["built"]] == [a["name"] for a in apps]
    assert {kind for _, kind in result["built"]} == {"Application"}

