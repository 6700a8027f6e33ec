"""Batched classifier throughput: Serve with @serve.batch vs the same deployment with batching off vs the bare model.

    python bench/classifier_throughput.py [--concurrency 64] [--duration 15] [--max-batch-size 64]

One run, three numbers, ratios between them (absolute numbers depend on the machine):
  1. `serve, batched`: BatchClassifier over HTTP, `concurrency` clients in closed loop, max_batch_size=N.
  2. `serve, batching off`: the same running deployment after a live user_config update to max_batch_size=1.
  3. `bare model`: the same encoder + prototype head called in this process with full batches of N, no Serve,
     with torch limited to the replica's thread count (Ray sets OMP_NUM_THREADS to the replica's num_cpus), and
     also with every core, for reference.
Goals: (1) >= 4x (2), and (1) >= 0.8x (3, same threads).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

LABELS = ["billing", "technical", "account", "shipping", "other"]
_WORDS = [
    "my",
    "invoice",
    "was",
    "charged",
    "twice",
    "this",
    "month",
    "and",
    "the",
    "refund",
    "has",
    "not",
    "arrived",
    "yet",
    "please",
    "help",
    "the",
    "app",
    "crashes",
    "when",
    "I",
    "upload",
    "a",
    "large",
    "file",
    "over",
    "the",
    "mobile",
    "network",
    "since",
    "the",
    "last",
    "update",
    "I",
    "cannot",
    "log",
    "in",
    "to",
    "my",
    "account",
    "after",
    "resetting",
    "the",
    "password",
    "and",
    "the",
    "email",
    "never",
    "came",
    "the",
    "parcel",
    "was",
    "shipped",
    "last",
    "week",
    "but",
    "tracking",
    "still",
    "shows",
    "it",
    "waiting",
    "at",
    "the",
    "depot",
    "I",
    "would",
    "like",
    "to",
    "know",
    "whether",
    "you",
    "offer",
    "a",
    "discount",
    "for",
    "students",
    "or",
    "for",
    "annual",
    "plans",
]


def make_texts(n: int, words: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(_WORDS) for _ in range(words)) + f" (ticket {i})" for i in range(n)]


async def closed_loop(url: str, texts: list[str], concurrency: int, duration_s: float) -> dict[str, float]:
    import aiohttp

    done = 0
    sizes: list[int] = []
    errors = 0
    stop = time.perf_counter() + duration_s
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as session:

        async def worker(k: int) -> None:
            nonlocal done, errors
            i = k
            while time.perf_counter() < stop:
                body = json.dumps({"text": texts[i % len(texts)]})
                async with session.post(url, data=body, headers={"content-type": "application/json"}) as r:
                    if r.status == 200:
                        sizes.append((await r.json())["batch_size"])
                        done += 1
                    else:
                        await r.read()
                        errors += 1
                i += concurrency

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return {
        "rps": done / elapsed,
        "requests": done,
        "errors": errors,
        "mean_batch": sum(sizes) / max(1, len(sizes)),
        "max_batch": max(sizes, default=0),
    }


def bare_model(texts: list[str], batch: int, duration_s: float, threads: int | None) -> float:
    import torch

    from serve_apps.classifier import PrototypeHead, load_encoder

    if threads:
        torch.set_num_threads(threads)
    head = PrototypeHead(load_encoder(None, "cpu"), LABELS)
    head(texts[:batch])  # warm up
    done = 0
    i = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < duration_s:
        chunk = [texts[(i + j) % len(texts)] for j in range(batch)]
        head(chunk)
        done += batch
        i += batch
    return done / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--duration", type=float, default=15.0, help="seconds per measurement")
    ap.add_argument("--max-batch-size", type=int, default=64)
    ap.add_argument("--wait", type=float, default=0.01, help="batch_wait_timeout_s")
    ap.add_argument("--words", type=int, default=40, help="words per text")
    ap.add_argument("--replica-cpus", type=float, default=1.0)
    args = ap.parse_args()

    from rayctl import localrun

    texts = make_texts(512, args.words)
    app = {
        "name": "bench-classifier",
        "route_prefix": "/bench-classifier",
        "import_path": "serve_apps.classifier:app_builder",
        "args": {
            "device": "cpu",
            "labels": LABELS,
            "max_batch_size": args.max_batch_size,
            "batch_wait_timeout_s": args.wait,
        },
        "deployments": [{"name": "BatchClassifier", "ray_actor_options": {"num_cpus": args.replica_cpus}}],
    }
    replica_threads = max(1, int(args.replica_cpus))
    print(
        f"cpus={os.cpu_count()} concurrency={args.concurrency} duration={args.duration}s "
        f"max_batch_size={args.max_batch_size} wait={args.wait}s words/text={args.words} "
        f"replica num_cpus={args.replica_cpus} (torch threads {replica_threads})",
        flush=True,
    )
    with localrun.deployed({"applications": [app]}, progress=None) as local:
        url = f"http://{local.host}:{local.port}/bench-classifier/classify"
        asyncio.run(closed_loop(url, texts, args.concurrency, 3.0))  # warm up
        batched = asyncio.run(closed_loop(url, texts, args.concurrency, args.duration))
        print(
            f"serve, batched      : {batched['rps']:8.1f} req/s  mean batch {batched['mean_batch']:.1f} "
            f"(max {batched['max_batch']}), errors {batched['errors']}",
            flush=True,
        )
        off = dict(
            app,
            deployments=[{**app["deployments"][0], "user_config": {"max_batch_size": 1, "batch_wait_timeout_s": 0.0}}],
        )
        local.deploy({"applications": [off]}, keep_others=True)
        local.wait_ready([app["name"]])
        time.sleep(2)
        asyncio.run(closed_loop(url, texts, args.concurrency, 2.0))
        unbatched = asyncio.run(closed_loop(url, texts, args.concurrency, args.duration))
        print(
            f"serve, batching off : {unbatched['rps']:8.1f} req/s  mean batch {unbatched['mean_batch']:.1f} "
            f"(max {unbatched['max_batch']}), errors {unbatched['errors']}",
            flush=True,
        )
    bare_same = bare_model(texts, args.max_batch_size, args.duration, replica_threads)
    print(f"bare model, batch {args.max_batch_size}, {replica_threads} thread(s): {bare_same:8.1f} texts/s", flush=True)
    bare_all = bare_model(texts, args.max_batch_size, args.duration, os.cpu_count())
    print(f"bare model, batch {args.max_batch_size}, {os.cpu_count()} thread(s): {bare_all:8.1f} texts/s", flush=True)
    r1 = batched["rps"] / max(unbatched["rps"], 1e-9)
    r2 = batched["rps"] / bare_same
    r3 = batched["rps"] / bare_all
    print(f"batched / batching off            = {r1:.2f}x  (goal >= 4x: {'MET' if r1 >= 4 else 'MISSED'})")
    print(f"batched / bare model (same threads) = {r2:.2f}x  (goal >= 0.8x: {'MET' if r2 >= 0.8 else 'MISSED'})")
    print(f"batched / bare model (all cores)    = {r3:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
