"""Pipeline latency through Serve vs the critical path of the same code measured directly.

    python bench/pipeline_latency.py [--requests 200] [--sentences 40 75 110] [--high-throughput]

For each text size (in sentences), one run measures:
  * serve: end-to-end HTTP latency of `POST /analyze` (one request at a time), p50/p99;
  * direct: in this process, the same Preprocessor / SentimentAnalyzer / Summarizer classes (the deployments'
    own code, CPU fallbacks) timed one by one on the same texts; per request
    critical path = preprocess + max(sentiment, summary), p50/p99.
Goal: serve p50 (and p99) <= 1.1x direct. The ratio is the Serve overhead (HTTP ingress, 3 handle hops, 4
processes) relative to the work: it shrinks as the texts (the work) grow. --high-throughput runs the local Ray as
`serve.highThroughput: true` does (HAProxy ingress, direct gRPC between replicas).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# bench/ (the script's own folder) is on sys.path: its shared helper imports directly
from serve_mode import add_high_throughput_flag
from serve_mode import serve_env as high_throughput_env

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

_SENTENCES = [
    "The launch of the new product was a great success and customers are delighted with its quality.",
    "Critics complained that the battery life is disappointing and the price is far too high.",
    "Engineers spent months improving the scheduler so that requests are handled quickly.",
    "The quarterly report shows steady growth in every region, despite a difficult market.",
    "Support teams answered thousands of tickets, and most users rated the help as excellent.",
    "A minor outage on Tuesday frustrated some clients, but it was resolved within an hour.",
    "Analysts expect the company to expand into three new countries next year.",
    "The design team won an award for the clean and friendly interface.",
]
MAX_TOKENS = 4096


def texts_of(n_sentences: int, count: int) -> list[str]:
    import random

    rng = random.Random(n_sentences)
    return [" ".join(rng.choice(_SENTENCES) for _ in range(n_sentences)) for _ in range(count)]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


class Direct:
    """The deployments' own classes (CPU fallbacks) called in this process, one stage after the other."""

    def __init__(self) -> None:
        from serve_apps.pipeline import Preprocessor, SentimentAnalyzer, Summarizer

        self.pre = Preprocessor.func_or_class("cpu", None, MAX_TOKENS)
        self.sent = SentimentAnalyzer.func_or_class("cpu", None)
        self.summ = Summarizer.func_or_class("cpu", None, 2)

    def critical_path(self, text: str) -> float:
        """preprocess + max(sentiment, summary), in seconds."""
        t0 = time.perf_counter()
        p = self.pre.process_sync(text)
        t1 = time.perf_counter()
        self.sent.analyze_sync(p["text"])
        t2 = time.perf_counter()
        self.summ.summarize_sync(p["text"])
        t3 = time.perf_counter()
        return (t1 - t0) + max(t2 - t1, t3 - t2)


def serve_latency(url: str, text: str) -> float:
    body = json.dumps({"text": text}).encode()
    req = urllib.request.Request(url, data=body, method="POST", headers={"content-type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as resp:
        resp.read()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--sentences", type=int, nargs="+", default=[40, 75, 110])
    add_high_throughput_flag(ap)
    args = ap.parse_args()
    from rayctl import localrun

    serve_env = high_throughput_env(args)

    app = {
        "name": "bench-pipeline",
        "route_prefix": "/bench-pipeline",
        "import_path": "serve_apps.pipeline:app_builder",
        "args": {"device": "cpu", "max_input_tokens": MAX_TOKENS},
    }
    mode = "high-throughput (HAProxy, direct gRPC)" if args.high_throughput else "default (Python proxy)"
    print(f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f} requests={args.requests} serve mode={mode}", flush=True)
    direct = Direct()
    results: dict[int, dict[str, list[float]]] = {}
    with localrun.deployed({"applications": [app]}, serve_env=serve_env) as local:
        url = f"http://{local.host}:{local.port}/bench-pipeline/analyze"
        for n in args.sentences:
            texts = texts_of(n, args.requests)
            for text in texts[:20]:  # warm up both
                serve_latency(url, text)
                direct.critical_path(text)
            # Paired and interleaved: each text through Serve, then directly, so neighbours' load hits both alike.
            serve_s, direct_s = [], []
            for text in texts:
                serve_s.append(serve_latency(url, text))
                direct_s.append(direct.critical_path(text))
            results[n] = {"serve": serve_s, "direct": direct_s}
    for n in args.sentences:
        s, d = results[n]["serve"], results[n]["direct"]
        s50, s99, d50, d99 = pct(s, 50), pct(s, 99), pct(d, 50), pct(d, 99)
        verdict = "MET" if s50 / d50 <= 1.1 else "MISSED"
        print(
            f"{n:4d} sentences: serve p50 {s50 * 1000:7.1f} ms p99 {s99 * 1000:7.1f} ms | direct "
            f"preprocess+max(sentiment,summary) p50 {d50 * 1000:7.1f} ms p99 {d99 * 1000:7.1f} ms | "
            f"ratio p50 {s50 / d50:.2f}x p99 {s99 / d99:.2f}x (goal <= 1.1x: {verdict}) | "
            f"serve overhead p50 {(s50 - d50) * 1000:.1f} ms "
            f"(mean {(statistics.mean(s) - statistics.mean(d)) * 1000:.1f} ms)",
            flush=True,
        )
    print(f"load at end={os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
