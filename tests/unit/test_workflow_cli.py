"""The one workflow behind every verb, CRD sources (`rayctl crds pull`, the cache, folders) and the CLI spelling
kubectl users expect (`-o yaml|json`, `--output-file`, FILE / KEY=VALUE metavars)."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from rayctl.errors import ExitCode, RayctlError
from rayctl.spec.profile import TINY_MODEL_PATH
from rayctl.workflow import InvalidError, prepare
from rayctl.workflow.crds import KNOWN_SHA256, DirCrds, pull_crds
from rayctl.workflow.local import with_local_tiny_model
from tests.cli import run_rayctl, run_subprocess
from tests.conftest import EXAMPLES, RENDERED, ROOT


def rayctl(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return run_rayctl(*args, env=env, cwd=cwd)


@pytest.fixture()
def crd_server(tmp_path: Path, crd_dir: Path) -> Iterator[str]:
    """A loopback HTTP server laid out like KubeRay's raw GitHub files: /<tag>/ray-operator/config/crd/bases/."""
    root = tmp_path / "www"
    bases = root / "v1.7.0" / "ray-operator" / "config" / "crd" / "bases"
    bases.mkdir(parents=True)
    for f in crd_dir.glob("ray.io_*.yaml"):
        shutil.copy(f, bases / f.name)
    broken = root / "v9.9.9" / "ray-operator" / "config" / "crd" / "bases"
    broken.mkdir(parents=True)
    for f in crd_dir.glob("ray.io_*.yaml"):
        (broken / f.name).write_text("kind: ConfigMap\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _manifest(tmp_path: Path) -> Path:
    path = tmp_path / "rs.yaml"
    path.write_text((RENDERED / "hello.yaml").read_text())
    return path


def test_crds_pull_fills_the_cache_and_validate_uses_it(tmp_path: Path, crd_server: str) -> None:
    cache = tmp_path / "cache"
    env = {"RAYCTL_CRD_CACHE": str(cache)}
    manifest = _manifest(tmp_path)
    before = rayctl("validate", str(manifest), "--no-ray-schema", env=env)
    assert before.returncode == 3, before.stderr
    for way in ("--crd-dir", "rayctl crds pull", "--from-cluster"):
        assert way in before.stderr
    pulled = rayctl("crds", "pull", "--base-url", crd_server, env=env)
    assert pulled.returncode == 0, pulled.stderr
    assert sorted(Path(p).name for p in pulled.stdout.split()) == sorted(KNOWN_SHA256["v1.7.0"])
    after = rayctl("validate", str(manifest), "--no-ray-schema", env=env)
    assert after.returncode == 0, after.stderr
    assert f"CRD schema from the rayctl cache ({cache / 'v1.7.0'})" in after.stderr


def test_crds_pull_refuses_what_is_not_a_crd_and_unknown_versions(tmp_path: Path, crd_server: str) -> None:
    with pytest.raises(Exception, match=r"not a ray\.io CustomResourceDefinition"):
        pull_crds("v9.9.9", base_url=crd_server, dest=tmp_path / "x")
    with pytest.raises(Exception, match="HTTP 404"):
        pull_crds("v0.0.1", base_url=crd_server, dest=tmp_path / "y")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_crds_pull_checks_the_known_checksums(tmp_path: Path, crd_server: str, crd_dir: Path) -> None:
    www = next(tmp_path.glob("www"))
    target = www / "v1.7.0" / "ray-operator" / "config" / "crd" / "bases" / "ray.io_rayjobs.yaml"
    target.write_text(target.read_text() + "\n# tampered\n")
    with pytest.raises(Exception, match="checksum mismatch"):
        pull_crds("v1.7.0", base_url=crd_server, dest=tmp_path / "z")


def test_crds_pull_without_network_says_what_to_do(tmp_path: Path) -> None:
    result = rayctl("crds", "pull", "--base-url", "http://127.0.0.1:9", "--dest", str(tmp_path / "d"))
    assert result.returncode == 3 and "cannot download" in result.stderr and "--crd-dir" in result.stderr
    assert "Traceback" not in result.stderr


def test_crds_pull_into_an_unwritable_folder_says_what_to_do(tmp_path: Path, crd_server: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = rayctl("crds", "pull", "--base-url", crd_server, "--dest", str(blocker / "crds"))
    assert result.returncode == 3, result.stderr
    assert "cannot write the CRD files" in result.stderr and "--dest" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_failed_atomic_write_leaves_nothing_behind(tmp_path: Path) -> None:
    from rayctl.cache import write_atomically

    write_atomically(tmp_path / "new" / "a.yaml", b"one")  # the folder is made
    write_atomically(tmp_path / "new" / "a.yaml", b"two")
    assert (tmp_path / "new" / "a.yaml").read_bytes() == b"two"
    (tmp_path / "new" / "taken").mkdir()  # os.replace of a file onto a folder fails
    with pytest.raises(OSError):
        write_atomically(tmp_path / "new" / "taken", b"x")
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["a.yaml", "taken"]


def test_no_home_folder_means_no_cache_never_a_crash(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                     no_home_folder: None) -> None:
    from rayctl.validate import crd as crd_module
    from rayctl.workflow.crds import local_source

    for var in ("RAYCTL_CRD_CACHE", "RAYCTL_PARSED_CRD_CACHE", "RAYCTL_CRD_DIR"):
        monkeypatch.delenv(var, raising=False)
    assert local_source(None) is None
    with pytest.raises(RayctlError, match=r"no home folder.*RAYCTL_CRD_CACHE") as caught:
        pull_crds("v1.7.0", base_url="http://127.0.0.1:9")
    assert "--dest" in str(caught.value)
    crd_module._remember("key", "{}")  # a cache that cannot be kept is skipped
    assert crd_module._cached("key") is None
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # the documented way out
    crd_module._remember("key", '{"kind": "CustomResourceDefinition"}')
    assert crd_module._cached("key") == {"kind": "CustomResourceDefinition"}


TINY_MODEL_CONFIG = {"applications": [{"args": {"model": TINY_MODEL_PATH}}]}
"""A Serve config the CPU profile points at the CPU image's tiny model: `rayctl run` builds it into a user cache."""


def test_tiny_model_without_a_writable_cache_is_an_error_with_the_fix(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("RAYCTL_TINY_MODEL_CACHE", str(tmp_path / "a-file"))  # mkdir below a file fails
    with pytest.raises(RayctlError, match="cannot build the CPU profile's tiny model") as caught:
        with_local_tiny_model(TINY_MODEL_CONFIG)
    assert caught.value.exit_code == ExitCode.INVALID and "RAYCTL_TINY_MODEL_CACHE" in str(caught.value.hint)


def test_tiny_model_without_a_home_folder_is_an_error_with_the_fix(monkeypatch: pytest.MonkeyPatch,
                                                                   no_home_folder: None) -> None:
    monkeypatch.delenv("RAYCTL_TINY_MODEL_CACHE", raising=False)
    with pytest.raises(RayctlError, match="no home folder for rayctl's tiny-models cache") as caught:
        with_local_tiny_model(TINY_MODEL_CONFIG)
    assert caught.value.exit_code == ExitCode.INVALID and "RAYCTL_TINY_MODEL_CACHE" in str(caught.value.hint)


def test_spec_without_crds_is_checked_by_rules_with_a_note(tmp_path: Path) -> None:
    result = rayctl("validate", str(EXAMPLES / "hello.yaml"), "--no-ray-schema",
                    env={"RAYCTL_CRD_CACHE": str(tmp_path / "empty")})
    assert result.returncode == 0, result.stderr
    assert "note: CRD schema not checked" in result.stderr


def test_one_workflow_spec_findings_point_at_spec_lines(tmp_path: Path, crd_dir: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text((EXAMPLES / "llama-70b-tp4.yaml").read_text().replace("gpus: 4", "gpus: 2"))
    with pytest.raises(InvalidError) as caught:
        prepare(spec, crds=DirCrds(crd_dir))
    where = [e.source for e in caught.value.report.errors]
    assert any(w.startswith(f"{spec}:") and w.count(":") >= 2 for w in where), where


def test_prepare_reads_json_manifests(tmp_path: Path, crd_dir: Path) -> None:
    """rayctl's own `render -o json` output (a v1 List) is a manifest `validate` checks, not skips."""
    listing = rayctl("render", str(EXAMPLES / "hello.yaml"), "-o", "json").stdout
    path = tmp_path / "list.json"
    path.write_text(listing)
    prepared = prepare(path, crds=DirCrds(crd_dir))
    assert prepared.report.checked == ["RayService/hello"]


def test_render_o_selects_the_format_and_output_file_writes(tmp_path: Path) -> None:
    as_json = rayctl("render", str(EXAMPLES / "hello.yaml"), "-o", "json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["kind"] == "List"
    as_yaml = rayctl("render", str(EXAMPLES / "hello.yaml"), "-o", "yaml")
    assert next(yaml.safe_load_all(as_yaml.stdout))["kind"] == "RayService"
    target = tmp_path / "out.json"
    written = rayctl("render", str(EXAMPLES / "hello.yaml"), "-o", "json", "--output-file", str(target))
    assert written.returncode == 0 and written.stdout == ""
    assert json.loads(target.read_text())["items"][0]["kind"] == "RayService"


def test_render_o_file_still_works_with_a_deprecation_note(tmp_path: Path) -> None:
    target = tmp_path / "old.yaml"
    result = rayctl("render", str(EXAMPLES / "hello.yaml"), "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert "deprecated" in result.stderr and f"--output-file {target}" in result.stderr
    assert yaml.safe_load_all(target.read_text())


@pytest.mark.parametrize("command", ["render", "validate", "apply", "diff", "run", "init"])
def test_help_metavars_read_file_and_key_value(command: str) -> None:
    text = rayctl(command, "--help", env={"COLUMNS": "200"}).stdout
    assert "FILE" in text
    assert "<str>" not in text and "TEXT" not in text.replace("CONTEXT", "")
    if command != "init":
        assert "KEY=VALUE" in text


@pytest.mark.parametrize("app_type", ["hello", "llm", "vllm", "pipeline", "classifier", "ab", "custom"])
def test_init_app_type_writes_a_valid_spec(tmp_path: Path, app_type: str) -> None:
    target = tmp_path / f"{app_type}.yaml"
    assert rayctl("init", str(target), "--app-type", app_type).returncode == 0
    checked = rayctl("render", str(target))
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize(("where", "words"), [("missing/dir/spec.yaml", "does not exist"), (".", "is a directory")])
def test_init_refuses_missing_dirs_and_directories(tmp_path: Path, where: str, words: str) -> None:
    result = rayctl("init", where, cwd=tmp_path)
    assert result.returncode == 3 and words in result.stderr and "Traceback" not in result.stderr


TOY_REGISTRY = '''"""A toy application type kept outside rayctl (registered through $RAYCTL_APP_MODULES)."""
from typing import Any, Literal

from pydantic import Field

from rayctl.apps.base import BundledApp, Endpoint, SampleRequest, app_type
from rayctl.apps.contract import Arg, Contract, device_arg

CONTRACT = Contract("echo", (Arg("greeting", (str,), "hi"), device_arg("cpu")))


@app_type(import_path="toy_echo_app:app_builder", deployments=("Echo",), contract=CONTRACT,
          endpoint=Endpoint("POST", "/echo"))
class EchoApp(BundledApp):
    """Echoes the request body with a greeting."""

    type: Literal["echo"] = Field(description="Application type.")
    greeting: str = Field("hi", description="What the echo starts with.")

    def serve_args(self, device: str) -> dict[str, Any]:
        return {"greeting": self.greeting, "device": device}

    @classmethod
    def sample_request(cls, args: dict[str, Any]) -> SampleRequest:
        return SampleRequest({"text": "toy"})


APP_TYPE = EchoApp
'''


@pytest.fixture()
def toy_env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "toy_echo_registry.py").write_text(TOY_REGISTRY)
    return {"RAYCTL_APP_MODULES": "toy_echo_registry", "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}


def test_a_toy_app_type_in_one_module_shows_up_everywhere(tmp_path: Path, toy_env: dict[str, str]) -> None:
    # fresh interpreters: the registry reads RAYCTL_APP_MODULES once, on first use
    schema = json.loads(run_subprocess("schema", env=toy_env).stdout)
    assert "EchoApp" in schema["$defs"]
    listing = run_subprocess("init", "--list", env=toy_env).stdout
    assert "echo" in listing and "Echoes the request body" in listing
    spec = tmp_path / "echo.yaml"
    assert run_subprocess("init", str(spec), "--app-type", "echo", env=toy_env).returncode == 0
    rendered = run_subprocess("render", str(spec), env=toy_env)
    assert rendered.returncode == 0, rendered.stderr
    config = yaml.safe_load(next(yaml.safe_load_all(rendered.stdout))["spec"]["serveConfigV2"])
    assert config["applications"][0]["import_path"] == "toy_echo_app:app_builder"
    assert config["applications"][0]["args"] == {"greeting": "hi", "device": "cpu"}
    bad = tmp_path / "bad.yaml"
    bad.write_text(spec.read_text().replace("type: echo", "type: echo\n      greting: x"))
    invalid = run_subprocess("validate", str(bad), "--no-ray-schema", env=toy_env)
    assert invalid.returncode == 3 and "did you mean 'greeting'" in invalid.stderr
    code = "from rayctl.spec.docs import spec_reference; print(spec_reference())"
    docs = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **toy_env}, timeout=60)
    assert "## EchoApp" in docs.stdout
