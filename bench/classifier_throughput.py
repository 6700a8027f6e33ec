"""Batched classifier throughput: Serve with @serve.batch vs the same deployment with batching off vs the bare model.

    python bench/classifier_throughput.py [--concurrency 64] [--rounds 4] [--duration 5] [--max-batch-size 64]
        [--words 40] [--high-throughput]

One run, three modes measured in interleaved rounds (medians; ratios within the run, absolute numbers depend on
the machine and on its neighbours):
  1. `serve, batched`: BatchClassifier over HTTP, `concurrency` clients in closed loop, max_batch_size=N.
  2. `serve, batching off`: the same running deployment after a live user_config update to max_batch_size=1.
  3. `bare model`: the same encoder + prototype head called in this process with full batches of N, no Serve,
     with torch limited to the replica's thread count (Ray sets OMP_NUM_THREADS to the replica's num_cpus), and
     also with every core, and at batch size 1 (what batching itself buys the model here), for reference.
Goals: (1) >= 4x (2), and (1) >= 0.8x (3, same threads). --high-throughput runs the local Ray as
`serve.highThroughput: true` does (HAProxy ingress, user code on the replica's main loop).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# bench/ (the script's own folder) is on sys.path: its shared helper imports directly
from serve_mode import add_high_throughput_flag
from serve_mode import serve_env as high_throughput_env

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


class BareModel:
    """The replica's own model code (encoder + prototype head) called in this process with full batches."""

    def __init__(self) -> None:
        from serve_apps.classifier import PrototypeHead, load_encoder

        self.head = PrototypeHead(load_encoder(None, "cpu"), LABELS)

    def throughput(self, texts: list[str], batch: int, duration_s: float, threads: int) -> float:
        import torch

        torch.set_num_threads(threads)
        self.head(texts[:batch])  # warm up at this thread count
        done = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < duration_s:
            self.head([texts[(done + j) % len(texts)] for j in range(batch)])
            done += batch
        return done / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per mode per round")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--max-batch-size", type=int, default=64)
    ap.add_argument("--wait", type=float, default=0.01, help="batch_wait_timeout_s")
    ap.add_argument("--words", type=int, default=40, help="words per text")
    ap.add_argument("--replica-cpus", type=float, default=1.0)
    add_high_throughput_flag(ap)
    args = ap.parse_args()
    from rayctl import localrun

    serve_env = high_throughput_env(args)

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
        f"load={os.getloadavg()[0]:.1f} cpus={os.cpu_count()} concurrency={args.concurrency} duration={args.duration}s "
        f"max_batch_size={args.max_batch_size} wait={args.wait}s words/text={args.words} "
        f"replica num_cpus={args.replica_cpus} (torch threads {replica_threads}) "
        f"serve mode={'high-throughput' if args.high_throughput else 'default'}",
        flush=True,
    )
    bare = BareModel()
    rows: dict[str, list[float]] = {"batched": [], "off": [], "bare1": [], "bare_all": [], "bare_b1": []}
    batch_means: dict[str, list[float]] = {"batched": [], "off": []}
    with localrun.deployed({"applications": [app]}, progress=None, serve_env=serve_env) as local:
        url = f"http://{local.host}:{local.port}/bench-classifier/classify"

        def knobs(size: int, wait: float) -> None:
            dep = {**app["deployments"][0], "user_config": {"max_batch_size": size, "batch_wait_timeout_s": wait}}
            local.deploy({"applications": [dict(app, deployments=[dep])]}, keep_others=True)
            local.wait_ready([app["name"]])
            time.sleep(1.0)

        asyncio.run(closed_loop(url, texts, args.concurrency, 3.0))  # warm up
        # Neighbours share this machine: interleave short rounds of every mode and compare medians, so a burst of
        # outside load hits all modes alike instead of one whole measurement.
        for r in range(args.rounds):
            knobs(args.max_batch_size, args.wait)
            res = asyncio.run(closed_loop(url, texts, args.concurrency, args.duration))
            rows["batched"].append(res["rps"])
            batch_means["batched"].append(res["mean_batch"])
            knobs(1, 0.0)
            res = asyncio.run(closed_loop(url, texts, args.concurrency, args.duration))
            rows["off"].append(res["rps"])
            batch_means["off"].append(res["mean_batch"])
            rows["bare1"].append(bare.throughput(texts, args.max_batch_size, args.duration, replica_threads))
            rows["bare_all"].append(bare.throughput(texts, args.max_batch_size, args.duration, os.cpu_count() or 1))
            rows["bare_b1"].append(bare.throughput(texts, 1, args.duration, replica_threads))
            print(
                f"round {r + 1}: batched {rows['batched'][-1]:7.1f} req/s (mean batch {batch_means['batched'][-1]:.1f})"
                f" | batching off {rows['off'][-1]:7.1f} req/s | bare {replica_threads} thread(s) "
                f"{rows['bare1'][-1]:7.1f}/s, {os.cpu_count()} threads {rows['bare_all'][-1]:7.1f}/s, "
                f"batch 1 {rows['bare_b1'][-1]:7.1f}/s | "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"median serve, batched       : {med['batched']:8.1f} req/s")
    print(f"median serve, batching off  : {med['off']:8.1f} req/s")
    n = args.max_batch_size
    print(f"median bare model, {replica_threads} thread(s): {med['bare1']:8.1f} texts/s (batches of {n})")
    print(f"median bare model, {os.cpu_count()} threads  : {med['bare_all']:8.1f} texts/s")
    print(f"median bare model, batch 1    : {med['bare_b1']:8.1f} texts/s ({replica_threads} thread(s))")
    r1 = med["batched"] / max(med["off"], 1e-9)
    r2 = med["batched"] / med["bare1"]
    r3 = med["batched"] / med["bare_all"]
    print(f"batched / batching off              = {r1:.2f}x  (goal >= 4x: {'MET' if r1 >= 4 else 'MISSED'})")
    print(f"batched / bare model (same threads) = {r2:.2f}x  (goal >= 0.8x: {'MET' if r2 >= 0.8 else 'MISSED'})")
    print(f"batched / bare model (all cores)    = {r3:.2f}x")
    print(
        f"bare model batch {n} / batch 1      = {med['bare1'] / med['bare_b1']:.2f}x  (what batching itself buys this "
        "model on this hardware: the ceiling for batched / batching off)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
