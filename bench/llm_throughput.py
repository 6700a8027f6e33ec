"""Tokens/s through Ray Serve vs the bare vLLM engine, same tiny model, same load, same run.

    python bench/llm_throughput.py [--concurrency 8] [--requests 64] [--max-tokens 128] [--app vllm|llm|both]

1. bare: vLLM `AsyncLLM` in this process, `concurrency` requests in flight at a time;
2. serve: a local Ray (127.0.0.1, free ports) with the bundled app deployed declaratively exactly as from
   serveConfigV2 (`serve_apps.vllm_app`: POST /generate; and/or `serve_apps.llm`: OpenAI /v1/completions),
   driven over HTTP with the same prompts, greedy sampling (so both do identical work) and concurrency.
Rounds alternate bare / serve (medians reported); prints tokens/s and the serve/bare ratio (goal >= 0.9).
Runs on CPU (vLLM CPU build, float32).

--high-throughput runs the local Ray as `serve.highThroughput: true` does (HAProxy ingress, direct gRPC, LLM direct
streaming). Results on the 2-core dev box are in the README (Benchmarks); --cpu-profile prints CPU seconds per
process for each phase. On two cores the bare engine's worker (pinned to one core) and its scheduler already keep
the machine busy, so every CPU-second Serve spends per request (proxy, replica) comes out of generation; the
high-throughput mode removes most of it (no Python proxy, no ingress hop for LLM apps).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

# bench/ (the script's own folder) is on sys.path: its shared helper imports directly
from serve_mode import add_high_throughput_flag
from serve_mode import serve_env as high_throughput_env

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

for _k, _v in {
    "RAY_AUTH_MODE": "disabled",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "VLLM_CPU_KVCACHE_SPACE": "1",
    "VLLM_NO_USAGE_STATS": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ.setdefault(_k, _v)

ENGINE_KWARGS = {"max_model_len": 512, "enforce_eager": True, "max_num_seqs": 16}


def prompts(n: int) -> list[str]:
    words = ["the", "ray", "serve", "model", "token", "engine", "cluster", "node", "worker", "stream", "batch", "queue"]
    return [" ".join(words[(i + j) % len(words)] for j in range(8 + i % 5)) for i in range(n)]


async def run_bounded(n: int, concurrency: int, one: Any) -> tuple[int, float]:
    sem = asyncio.Semaphore(concurrency)

    async def guarded(i: int) -> int:
        async with sem:
            return int(await one(i))

    t0 = time.perf_counter()
    counts = await asyncio.gather(*[guarded(i) for i in range(n)])
    return sum(counts), time.perf_counter() - t0


class BareEngine:
    """vLLM AsyncLLM in this process, with the same engine kwargs the Serve apps get."""

    def __init__(self, model: str) -> None:
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        self.engine = AsyncLLM.from_engine_args(AsyncEngineArgs(model=model, dtype="float32", **ENGINE_KWARGS))

    async def run(self, ps: list[str], concurrency: int, max_tokens: int, warmup: bool) -> dict[str, float]:
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        sp = SamplingParams(temperature=0.0, max_tokens=max_tokens, output_kind=RequestOutputKind.FINAL_ONLY)

        async def one(i: int) -> int:
            final = None
            async for out in self.engine.generate(ps[i], sp, request_id=f"bare-{i}-{time.monotonic_ns()}"):
                final = out
            return len(final.outputs[0].token_ids) if final else 0

        if warmup:
            await run_bounded(concurrency, concurrency, one)
        tokens, secs = await run_bounded(len(ps), concurrency, one)
        return {"tokens": tokens, "seconds": secs, "tok_s": tokens / secs}

    def close(self) -> None:
        self.engine.shutdown()
        gc.collect()


def start_serve() -> Any:
    import ray
    from ray import serve

    from rayctl.localrun import free_port

    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
    ray.init(
        num_cpus=8,
        num_gpus=0,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",  # keep Ray on loopback
        _metrics_export_port=free_port(),
        runtime_env={"env_vars": {"PYTHONPATH": os.environ["PYTHONPATH"]}},
        logging_level="WARNING",
    )
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port}, proxy_location="HeadOnly")
    return f"http://127.0.0.1:{port}"


def deploy(apps: list[dict[str, Any]], timeout_s: float = 900) -> None:
    """Deploy all apps in one declarative config (as KubeRay does) and wait until every one is RUNNING."""
    from ray import serve
    from ray.serve.context import _get_global_client
    from ray.serve.schema import ServeDeploySchema

    _get_global_client().deploy_apps(ServeDeploySchema.model_validate({"applications": apps}))
    deadline = time.monotonic() + timeout_s
    pending = {app["name"] for app in apps}
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            st = serve.status().applications.get(name)
            if st is not None and st.status == "RUNNING":
                pending.discard(name)
            elif st is not None and st.status == "DEPLOY_FAILED":
                raise RuntimeError(f"deploy of {name} failed: {st}")
        time.sleep(1)
    if pending:
        raise TimeoutError(f"not RUNNING after {timeout_s}s: {sorted(pending)}")


async def bench_http(
    url: str, ps: list[str], concurrency: int, max_tokens: int, kind: str, warmup: bool
) -> dict[str, float]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=600, limits=limits) as client:

        async def one(i: int) -> int:
            if kind == "vllm":
                r = await client.post(
                    f"{url}/generate", json={"prompt": ps[i], "max_tokens": max_tokens, "temperature": 0}
                )
                r.raise_for_status()
                return int(r.json()["tokens"])
            r = await client.post(
                f"{url}/v1/completions",
                json={"model": "tiny", "prompt": ps[i], "max_tokens": max_tokens, "temperature": 0},
            )
            r.raise_for_status()
            return int(r.json()["usage"]["completion_tokens"])

        if warmup:
            await run_bounded(concurrency, concurrency, one)
        tokens, secs = await run_bounded(len(ps), concurrency, one)
    return {"tokens": tokens, "seconds": secs, "tok_s": tokens / secs}


def cpu_snapshot() -> dict[int, tuple[str, float]]:
    """CPU seconds used so far by every process on the machine (for --cpu-profile)."""
    import psutil

    snap = {}
    for proc in psutil.process_iter(["cmdline", "name"]):
        try:
            t = proc.cpu_times()
            name = " ".join(proc.info.get("cmdline") or [])[:60] or (proc.info.get("name") or "?")
            snap[proc.pid] = (name, t.user + t.system + t.children_user + t.children_system)
        except Exception:
            continue
    return snap


def cpu_diff(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], top: int = 8) -> str:
    rows = []
    for pid, (name, t) in after.items():
        used = t - before.get(pid, (name, 0.0))[1]
        if used > 0.02:
            rows.append((used, pid, name))
    rows.sort(reverse=True)
    total = sum(r[0] for r in rows)
    lines = [f"    cpu-s total {total:6.2f}"] + [f"    {u:6.2f}  {pid:>7}  {n}" for u, pid, n in rows[:top]]
    return "\n".join(lines)


def app_config(kind: str, model: str) -> dict[str, Any]:
    if kind == "vllm":
        return {
            "name": "bench-vllm",
            "route_prefix": "/bench-vllm",
            "import_path": "serve_apps.vllm_app:app_builder",
            "args": {"model": model, "device": "cpu", "engine_kwargs": ENGINE_KWARGS, "max_tokens_limit": 4096},
            "deployments": [{"name": "VLLMDeployment", "max_ongoing_requests": 64}],
        }
    return {
        "name": "bench-llm",
        "route_prefix": "/bench-llm",
        "import_path": "serve_apps.llm:app_builder",
        "args": {
            "device": "cpu",
            "llm_configs": [
                {
                    "model_loading_config": {"model_id": "tiny", "model_source": model},
                    "engine_kwargs": ENGINE_KWARGS,
                    "deployment_config": {"max_ongoing_requests": 64},
                    "log_engine_metrics": False,
                }
            ],
        },
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--requests", type=int, default=64, help="requests per round")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (bare, serve...) ; medians reported")
    ap.add_argument("--app", choices=("vllm", "llm", "both"), default="both")
    ap.add_argument("--cpu-profile", action="store_true", help="print CPU seconds per process for each phase")
    ap.add_argument(
        "--pause",
        type=float,
        default=2.0,
        help="seconds between phases: an idle vLLM CPU worker busy-polls for ~1 s after its last step",
    )
    ap.add_argument("--model", help="model dir (default: the tiny test model, built if needed)")
    ap.add_argument("--json", help="also write the results to this file")
    add_high_throughput_flag(ap)
    ap.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="env var for the Ray cluster (e.g. RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD=0); repeatable",
    )
    a = ap.parse_args()
    os.environ.update(high_throughput_env(a))  # inherited by the local Ray's processes
    for item in a.env:
        key, _, value = item.partition("=")
        os.environ[key] = value

    from rayctl.tiny_model import ensure_tiny_model

    model = a.model or str(ensure_tiny_model())
    ps = prompts(a.requests)
    kinds = ("vllm", "llm") if a.app == "both" else (a.app,)

    # Serve apps first (deploying is blocking), then the bare engine in this process; only one engine works
    # at a time. Rounds are interleaved so that background load on the machine hits every mode alike.
    base = start_serve()
    deploy([app_config(kind, model) for kind in kinds])

    async def run_all() -> dict[str, list[dict[str, float]]]:
        bare = BareEngine(model)
        runs: dict[str, list[dict[str, float]]] = {"bare": [], **{f"serve_{k}": [] for k in kinds}}
        try:
            for r in range(a.rounds):
                await asyncio.sleep(a.pause)
                snap = cpu_snapshot() if a.cpu_profile else None
                res = await bare.run(ps, a.concurrency, a.max_tokens, warmup=r == 0)
                runs["bare"].append(res)
                print(f"round {r}: bare        {res['tok_s']:8.1f} tok/s", flush=True)
                if snap is not None:
                    print(cpu_diff(snap, cpu_snapshot()), flush=True)
                for kind in kinds:
                    url = base + app_config(kind, model)["route_prefix"]
                    await asyncio.sleep(a.pause)
                    snap = cpu_snapshot() if a.cpu_profile else None
                    res = await bench_http(url, ps, a.concurrency, a.max_tokens, kind, warmup=r == 0)
                    runs[f"serve_{kind}"].append(res)
                    print(f"round {r}: serve {kind:5s} {res['tok_s']:8.1f} tok/s", flush=True)
                    if snap is not None:
                        print(cpu_diff(snap, cpu_snapshot()), flush=True)
        finally:
            bare.close()
        return runs

    runs = asyncio.run(run_all())
    results: dict[str, Any] = {
        "concurrency": a.concurrency,
        "requests_per_round": a.requests,
        "max_tokens": a.max_tokens,
        "rounds": a.rounds,
        "env": a.env,
        "high_throughput": a.high_throughput,
        "runs": runs,
    }
    bare_med = statistics.median(x["tok_s"] for x in runs["bare"])
    results["bare_tok_s"] = bare_med
    print(f"\nbare vLLM AsyncLLM      : {bare_med:8.1f} tok/s (median of {a.rounds})")
    for kind in kinds:
        med = statistics.median(x["tok_s"] for x in runs[f"serve_{kind}"])
        results[f"serve_{kind}_tok_s"] = med
        results[f"ratio_{kind}"] = med / bare_med
        print(f"serve ({kind:4s} app)      : {med:8.1f} tok/s   ratio serve/bare = {med / bare_med:.3f}")

    import ray
    from ray import serve

    serve.shutdown()
    ray.shutdown()
    print(json.dumps({k: v for k, v in results.items() if k != "runs"}, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
