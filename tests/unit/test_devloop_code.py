"""rayctl.devloop.code: the app directory as a ConfigMap (zip) and its mount on every Ray container."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from rayctl.devloop import code
from rayctl.errors import InputError
from tests.conftest import ROOT


def _rayservice(workers: int = 2, env: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    def template(name: str) -> dict[str, Any]:
        c: dict[str, Any] = {"name": name, "image": "ray"}
        if env is not None:
            c["env"] = [dict(e) for e in env]
        return {"spec": {"containers": [c, {"name": "sidecar", "image": "x"}]}}

    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayService",
        "metadata": {"name": "svc"},
        "spec": {
            "rayClusterConfig": {
                "headGroupSpec": {"template": template("ray-head")},
                "workerGroupSpecs": [
                    {"groupName": f"g{i}", "template": template("ray-worker")} for i in range(workers)
                ],
            }
        },
    }


def _pkg(tmp_path: Path, files: dict[str, bytes]) -> Path:
    root = tmp_path / "myapp"
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def test_serve_apps_bundle_is_importable_from_the_zip(tmp_path: Path) -> None:
    bundle = code.bundle_code(ROOT / "serve_apps")
    assert "serve_apps/__init__.py" in bundle.files and "serve_apps/hello.py" in bundle.files
    assert not any("__pycache__" in f or f.endswith(".pyc") for f in bundle.files)
    cm = bundle.configmap("hello", "ns")
    zip_path = tmp_path / code.ZIP_KEY
    zip_path.write_bytes(base64.b64decode(cm["binaryData"][code.ZIP_KEY]))
    # What serve_apps import from rayctl, read from the sources (not from the closure under test).
    wanted = set()
    for path in (ROOT / "serve_apps").glob("*.py"):
        wanted |= {n for n in code._imports(path.read_text(), f"serve_apps.{path.stem}", False)
                   if n.startswith("rayctl") and code._module_file(ROOT / "rayctl", n)}
    assert {"rayctl.apps.ab", "rayctl.apps.hello", "rayctl.apps.llm"} <= wanted
    assert "rayctl/apps/contract.py" in bundle.files  # through them: the args contract itself
    # A fresh interpreter with only the zip on the path (no repository, no installed rayctl ahead of it) imports
    # serve_apps' own modules and every rayctl module they use from the zip, and the app registry works from it.
    probe = (
        "import importlib, sys, serve_apps._common as c\n"
        f"mods = {sorted(wanted)!r}\n"
        "for m in mods: importlib.import_module(m)\n"
        "from rayctl.apps import app_types\n"
        "types = app_types()\n"
        "print(c.__file__)\n"
        "print(sorted(types))\n"
        "print(sorted({n for n, m in sys.modules.items() if n.startswith('rayctl') and "
        f"not (getattr(m, '__file__', '') or '').startswith({str(zip_path)!r})}}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False,
        env={"PYTHONPATH": str(zip_path), "PATH": "/usr/bin:/bin"}, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    common, types, outside = proc.stdout.splitlines()
    assert common == f"{zip_path}/serve_apps/_common.py"
    from rayctl.apps import app_types

    assert eval(types) == sorted(app_types())  # the registry finds every app type in the zip
    assert outside == "[]", f"rayctl modules imported from outside the zip: {outside}"
    assert not any(f.startswith("rayctl/") and ("/cli/" in f or "/render/" in f) for f in bundle.files)


def test_import_closure_follows_relative_imports_and_skips_type_checking(tmp_path: Path) -> None:
    root = _pkg(tmp_path, {
        "__init__.py": b"",
        "a.py": b"from . import b\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import rayctl.cli\n"
                b"from rayctl.apps.contract import Arg\n",
        "b.py": b"import rayctl.errors\n",
    })  # fmt: skip
    files = set(code.bundle_code(root).files)
    assert {"rayctl/__init__.py", "rayctl/apps/__init__.py", "rayctl/apps/contract.py", "rayctl/errors.py"} <= files
    assert not any(f.startswith("rayctl/cli") for f in files)


def test_an_app_file_that_does_not_parse_is_named(tmp_path: Path) -> None:
    root = _pkg(tmp_path, {"__init__.py": b"", "bad.py": b"def f(:\n"})
    with pytest.raises(InputError, match=r"bad\.py: cannot read the module's imports"):
        code.bundle_code(root)


def test_bundle_is_deterministic_and_names_follow_content(tmp_path: Path) -> None:
    root = _pkg(tmp_path, {"__init__.py": b"", "a.py": b"X = 1\n"})
    first, again = code.bundle_code(root), code.bundle_code(root)
    assert first.data == again.data and first.digest == again.digest
    (root / "a.py").write_bytes(b"X = 2\n")
    changed = code.bundle_code(root)
    assert changed.digest != first.digest
    assert changed.configmap_name("svc") != first.configmap_name("svc")
    assert first.configmap_name("svc") == f"svc-code-{first.digest[:12]}"


@pytest.mark.parametrize(
    ("rel", "included"),
    [
        ("__init__.py", True),
        ("sub/__init__.py", True),
        ("data/labels.json", True),
        ("__pycache__/a.cpython-311.pyc", False),
        ("b.pyc", False),
        (".hidden/x.py", False),
        (".env", False),
        ("node_modules/x.js", False),
    ],
)
def test_what_is_packed(tmp_path: Path, rel: str, included: bool) -> None:
    root = _pkg(tmp_path, {"__init__.py": b"", rel: b"1"})
    assert (f"myapp/{rel}" in code.bundle_code(root).files) is included


def test_configmap_object(tmp_path: Path) -> None:
    bundle = code.bundle_code(_pkg(tmp_path, {"__init__.py": b"", "m.py": b"print(1)\n"}))
    cm = bundle.configmap("svc", "dev")
    assert cm["kind"] == "ConfigMap" and cm["immutable"] is True
    assert cm["metadata"]["namespace"] == "dev"
    assert cm["metadata"]["labels"][code.LABEL_CODE_FOR] == "svc"
    assert cm["metadata"]["annotations"]["rayctl.dev/code-sha256"] == bundle.digest
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(cm["binaryData"][code.ZIP_KEY]))) as zf:
        assert zf.read("myapp/m.py") == b"print(1)\n"


def test_name_is_a_dns_label_for_long_services(tmp_path: Path) -> None:
    bundle = code.bundle_code(_pkg(tmp_path, {"__init__.py": b""}))
    name = bundle.configmap_name("a" * 63)
    assert len(name) <= 63 and name.endswith(bundle.digest[:12])


def test_too_big_for_a_configmap_is_a_clear_error(tmp_path: Path) -> None:
    import os

    root = _pkg(tmp_path, {"__init__.py": b"", "weights.bin": os.urandom(900 * 1024)})  # incompressible
    with pytest.raises(InputError) as info:
        code.bundle_code(root)
    msg = str(info.value)
    assert str(root) in msg and "1 MiB" in msg and "KiB" in msg and "hint:" in msg


@pytest.mark.parametrize(
    ("path", "problem"),
    [("missing", "not found"), ("notpkg", "no __init__.py")],
)
def test_bad_app_dir(tmp_path: Path, path: str, problem: str) -> None:
    (tmp_path / "notpkg").mkdir()
    with pytest.raises(InputError, match=problem):
        code.bundle_code(tmp_path / path)


def test_with_code_configmap_mounts_head_and_every_worker() -> None:
    rs = _rayservice(workers=3)
    out = code.with_code_configmap(rs, "svc-code-abc", "/opt/code")
    cluster = out["spec"]["rayClusterConfig"]
    templates = [cluster["headGroupSpec"]["template"]] + [g["template"] for g in cluster["workerGroupSpecs"]]
    assert len(templates) == 4
    for t in templates:
        assert {"name": code.CODE_VOLUME, "configMap": {"name": "svc-code-abc"}} in t["spec"]["volumes"]
        ray, sidecar = t["spec"]["containers"]
        assert {"name": code.CODE_VOLUME, "mountPath": "/opt/code", "readOnly": True} in ray["volumeMounts"]
        assert {"name": "PYTHONPATH", "value": "/opt/code/app.zip"} in ray["env"]
        assert "volumeMounts" not in sidecar and "env" not in sidecar
    assert "volumes" not in rs["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"], "input mutated"


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        (None, "/c/app.zip"),
        ("/srv/app", "/c/app.zip:/srv/app"),
        ("/c/app.zip:/srv/app", "/c/app.zip:/srv/app"),
        ("/srv/app:/c/app.zip", "/c/app.zip:/srv/app"),
    ],
)
def test_pythonpath_puts_the_zip_first_once(existing: str | None, expected: str) -> None:
    env = None if existing is None else [{"name": "PYTHONPATH", "value": existing}, {"name": "OTHER", "value": "1"}]
    out = code.with_code_configmap(_rayservice(workers=1, env=env), "cm", "/c")
    env_out = out["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["env"]
    assert [e["value"] for e in env_out if e["name"] == "PYTHONPATH"] == [expected]


def test_idempotent_and_replaces_an_older_configmap() -> None:
    once = code.with_code_configmap(_rayservice(), "cm-old", "/c")
    twice = code.with_code_configmap(once, "cm-new", "/c")
    head = twice["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]
    assert head["volumes"] == [{"name": code.CODE_VOLUME, "configMap": {"name": "cm-new"}}]
    assert len(head["containers"][0]["volumeMounts"]) == 1
    assert code.with_code_configmap(twice, "cm-new", "/c") == twice


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda rs: rs.update(kind="RayCluster"), "expected a RayService"),
        (lambda rs: rs["spec"].pop("rayClusterConfig"), "headGroupSpec"),
        (lambda rs: rs["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"].update(containers=[]),
         "no containers"),
    ],
)
def test_with_code_configmap_rejects_bad_input(mutate: Any, problem: str) -> None:
    rs = _rayservice()
    mutate(rs)
    with pytest.raises(InputError, match=problem):
        code.with_code_configmap(rs, "cm", "/c")


def test_relative_mount_path_is_refused() -> None:
    with pytest.raises(InputError, match="absolute"):
        code.with_code_configmap(_rayservice(), "cm", "code")
