"""`hello` on a real local Ray Serve (conftest's `serve_env`), over HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.serve


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def test_builder_rejects_unknown_args_and_bad_types(serve_deps: None) -> None:
    from serve_apps.hello import app_builder

    with pytest.raises(ValueError, match="'greeting'"):
        app_builder({"greeting": "x"})
    with pytest.raises(ValueError, match="message"):
        app_builder({"message": 3})
    with pytest.raises(ValueError, match="device"):
        app_builder({"device": "tpu"})
    app_builder({"message": "hi", "device": "cpu"})


def test_hello_get_and_post(serve_env) -> None:
    url = serve_env.deploy(
        {
            "name": "t-hello",
            "route_prefix": "/t-hello",
            "import_path": "serve_apps.hello:app_builder",
            "args": {"message": "hi from test", "device": "cpu"},
        }
    )
    try:
        assert http("GET", url) == (200, {"message": "hi from test"})
        assert http("POST", url, b'{"anything": 1}', {"content-type": "application/json"}) == (
            200,
            {"message": "hi from test"},
        )
        status, body = http("PUT", url, b"{}")
        assert status == 405 and body["error"]["type"] == "method_not_allowed"
    finally:
        serve_env.delete("t-hello")


def test_fuzz_hello(serve_env) -> None:
    """>= 1 000 hostile requests (tests/serve/fuzz.py): a POST body, when there is one, must be JSON; no 5xx."""
    from serve_apps import _common
    from tests.serve.fuzz import Target, fuzz_and_assert

    url = serve_env.deploy(
        {
            "name": "t-hello-fuzz",
            "route_prefix": "/t-hello-fuzz",
            "import_path": "serve_apps.hello:app_builder",
            "args": {"device": "cpu"},
        }
    )
    try:
        target = Target(
            "hello",
            "",
            valid=[{"name": "world"}, {"text": "hi", "n": [1, 2]}],
            max_body=_common.DEFAULT_MAX_BODY_BYTES,
            max_depth=getattr(_common, "MAX_JSON_DEPTH", 64),
            text_paths=[("name",)],
            allow_empty=True,
        )
        fuzz_and_assert(url, target, concurrency=8)
    finally:
        serve_env.delete("t-hello-fuzz")


def test_app_modules_import_light(serve_deps: None) -> None:
    """Importing the bundled apps (as Serve's builder task and `rayctl render` users do) loads no model library;
    `rayctl run`'s modules do not even load ray until the command runs."""
    import subprocess
    import sys

    apps = (
        "import sys, serve_apps.hello, serve_apps.pipeline, serve_apps.classifier, serve_apps.ab_router;"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', 'vaderSentiment', 'sumy', 'vllm')"
        " if m in sys.modules]; assert not heavy, heavy"
    )
    cli = "import sys, rayctl.localrun, rayctl.cli.run_cmd; assert 'ray' not in sys.modules"
    for code in (apps, cli):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
