"""Hostile HTTP through Ray Serve's high-throughput mode (`serve.highThroughput`: HAProxy ingress, direct gRPC,
and the LLM model server itself as the ingress with vLLM's own FastAPI app, RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING).

One `rayctl run --high-throughput` (its own local Ray) serves the pipeline and the LLM app; the same hostile corpus
as the per-app fuzz tests (tests/serve/fuzz.py) goes through HAProxy to both: no 5xx, errors in the apps' shape,
nothing leaked. This is where the LLM app's guard has to sit in the model server (there is no OpenAiIngress), and
where HAProxy meets early 413 answers to 20 MB uploads.
"""

from __future__ import annotations

import dataclasses
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from rayctl.localrun import free_port
from tests.serve.test_llm_app import MODEL_ID, llm_fuzz_targets
from tests.serve.test_pipeline import long_text
from tests.serve.test_run_cmd import _listener, ctrl_c, rayctl_run_in_background

pytestmark = pytest.mark.serve


def _wait_routable(url: str, body: bytes | None = None, tries: int = 60) -> None:
    """HAProxy picks up Serve's route table on its next reload: poll until the app answers (not 404/502/503)."""
    last: Any = None
    for _ in range(tries):
        req = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                if resp.status == 200:
                    return
        except urllib.error.HTTPError as exc:
            last = exc.code
            if exc.code not in (404, 502, 503):
                return
        except OSError as exc:
            last = exc
        time.sleep(1)
    raise AssertionError(f"{url} never became routable: {last}")


def test_fuzz_through_haproxy_and_direct_streaming(serve_deps: None, tiny_model: Path, tmp_path: Path) -> None:
    from serve_apps import _common
    from serve_apps._openai_guard import LLM_MAX_BODY_BYTES
    from tests.serve.fuzz import Target, fuzz_and_assert, hostile_cases

    config = tmp_path / "serve.json"
    config.write_text(json.dumps({"applications": [
        {"name": "pipeline", "route_prefix": "/pipeline", "import_path": "serve_apps.pipeline:app_builder",
         "args": {"device": "cpu"}},
        {"name": "chat", "route_prefix": "/", "import_path": "serve_apps.llm:app_builder",
         "args": {"device": "cpu", "llm_configs": [{
             "model_loading_config": {"model_id": MODEL_ID, "model_source": str(tiny_model)},
             "engine_kwargs": {"max_model_len": 512, "enforce_eager": True, "max_num_seqs": 8},
             "log_engine_metrics": False,
         }]}},
    ]}))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ("--serve-config", str(config), "--high-throughput", "--port", str(port))
    with rayctl_run_in_background(*args, app="chat", env={"VLLM_CPU_KVCACHE_SPACE": "1"}, timeout=1200) as (proc, line):
        if not line:  # rayctl run ended before serving: its stderr says why
            proc.wait(timeout=120)
            assert proc.stderr is not None
            raise AssertionError(f"rayctl run exited {proc.returncode}: {proc.stderr.read()[-4000:]}")
        assert line == f"chat: GET {base}/v1/models", line
        assert _listener(port) == "haproxy"
        _wait_routable(f"{base}/pipeline/analyze", json.dumps({"text": "warm up"}).encode())
        _wait_routable(f"{base}/v1/models")

        pipeline = Target("pipeline-ht", "/pipeline/analyze", valid=[{"text": long_text(3, seed=7)}],
                          max_body=_common.DEFAULT_MAX_BODY_BYTES, max_depth=_common.MAX_JSON_DEPTH,
                          text_paths=[("text",)])
        failed = []
        for target in [pipeline, *llm_fuzz_targets(_common.MAX_JSON_DEPTH, LLM_MAX_BODY_BYTES)]:
            target = dataclasses.replace(target, name=target.name.removesuffix("-ht") + "-ht")
            try:
                fuzz_and_assert(base, target, cases=hostile_cases(target, total=1000), concurrency=4)
            except AssertionError as exc:
                failed.append(str(exc))
        assert not failed, "\n\n".join(failed)

        stderr = ctrl_c(proc)
        assert "chat/LLMServer" in stderr and "OpenAiIngress" not in stderr  # direct streaming indeed
