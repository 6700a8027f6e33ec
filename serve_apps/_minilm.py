"""all-MiniLM-L6-v2 sentence embeddings with numpy alone: the classifier's CPU encoder where torch is not installed.

The CPU image of the kind loop (docker/Dockerfile.cpu, "serve" variant) has numpy and Hugging Face `tokenizers`
but no torch; torch + sentence-transformers would make it a 4 GB image (hack/kind/README.md). This module reads the
same weights (`model.safetensors` of the model folder) and runs the same computation as sentence-transformers'
pipeline for this model (modules.json: BERT -> mean pooling -> L2 normalisation, the last one whenever the folder
lists it, like sentence-transformers): the tokenizer from the folder's
`tokenizer.json`, truncated to `sentence_bert_config.json`'s max_seq_length, a BERT encoder (post-LayerNorm, exact
erf GELU, padding masked out of the attention), the mean over the real tokens. tests/serve/test_minilm_numpy.py
checks it against sentence-transformers on the same folder.

`NumpyEncoder.encode` takes the subset of `SentenceTransformer.encode`'s arguments the classifier uses.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a .safetensors file (8-byte little-endian header length, JSON header, raw little-endian data)."""
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    base = 8 + size
    out: dict[str, np.ndarray] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {meta['dtype']}, not one of {sorted(_DTYPES)}")
        start, end = meta["data_offsets"]
        array = np.frombuffer(raw, dtype=_DTYPES[meta["dtype"]], count=(end - start) // np.dtype(
            _DTYPES[meta["dtype"]]).itemsize, offset=base + start)
        out[name] = array.reshape(meta["shape"]).astype(np.float32 if meta["dtype"] != "I64" else np.int64)
    return out


def _erf(x: np.ndarray) -> np.ndarray:
    """erf with fractional error < 1.2e-7 (Numerical Recipes' erfc Chebyshev fit), below float32's resolution."""
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (
        0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    erfc = t * np.exp(poly)
    return np.where(x >= 0, 1.0 - erfc, erfc - 1.0)


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return np.asarray((x - mean) / np.sqrt(var + eps) * weight + bias)


class NumpyEncoder:
    """A BERT sentence encoder (mean pooling) from a sentence-transformers model folder, in numpy."""

    def __init__(self, folder: str | Path) -> None:
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        config = json.loads((self.folder / "config.json").read_text())
        if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
            raise ValueError(f"{self.folder}: not a BERT model with GELU ({config.get('model_type')})")
        modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((self.folder / "modules.json").read_text())]
        if modules[:2] != ["Transformer", "Pooling"]:
            raise ValueError(f"{self.folder}: modules {modules}, expected Transformer, Pooling[, Normalize]")
        pooling = json.loads((self.folder / "1_Pooling" / "config.json").read_text())
        if not pooling.get("pooling_mode_mean_tokens") or any(
            v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens"
        ):
            raise ValueError(f"{self.folder}: only mean pooling is implemented ({pooling})")
        self.normalize = "Normalize" in modules[2:]  # the folder's own last module: always applied, as in ST
        st_config = json.loads((self.folder / "sentence_bert_config.json").read_text())
        self.max_length = int(st_config.get("max_seq_length") or config["max_position_embeddings"])
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.enable_padding(pad_id=int(config.get("pad_token_id", 0)))  # to the batch's longest
        self.w = read_safetensors(self.folder / "model.safetensors")

    def _forward(self, ids: np.ndarray, types: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w, eps = self.w, self.eps
        batch, length = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        hidden = x.shape[-1]
        head_dim = hidden // self.heads
        # padding keys get the dtype's minimum added, as transformers' extended attention mask does
        bias = (1.0 - mask[:, None, None, :].astype(np.float32)) * np.finfo(np.float32).min

        def split(t: np.ndarray) -> np.ndarray:  # (B, L, H) -> (B, heads, L, head_dim)
            return t.reshape(batch, length, self.heads, head_dim).transpose(0, 2, 1, 3)

        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def dense(t: np.ndarray, name: str, p: str = p) -> np.ndarray:
                # as one 2-D product: numpy's matmul of a (B, L, H) stack with a matrix skips BLAS (13x slower)
                weight = w[f"{p}{name}.weight"]
                flat = t.reshape(-1, t.shape[-1]) @ weight.T + w[f"{p}{name}.bias"]
                return np.asarray(flat.reshape(*t.shape[:-1], weight.shape[0]))

            q = split(dense(x, "attention.self.query"))
            k = split(dense(x, "attention.self.key"))
            v = split(dense(x, "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) * np.float32(1.0 / np.sqrt(head_dim)) + bias  # stays float32
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            probs = scores / scores.sum(axis=-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
            x = _layer_norm(x + dense(context, "attention.output.dense"),
                            w[f"{p}attention.output.LayerNorm.weight"], w[f"{p}attention.output.LayerNorm.bias"], eps)
            inner = _gelu(dense(x, "intermediate.dense"))
            x = _layer_norm(x + dense(inner, "output.dense"), w[f"{p}output.LayerNorm.weight"],
                            w[f"{p}output.LayerNorm.bias"], eps)
        weights = mask[:, :, None].astype(np.float32)
        return (x * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)  # type: ignore[no-any-return]

    def encode(self, sentences: list[str], batch_size: int = 32, normalize_embeddings: bool = False,
               convert_to_numpy: bool = True, **_: Any) -> np.ndarray:
        """Embeddings of `sentences` (n, hidden), float32, in batches of `batch_size`."""
        out = []
        for start in range(0, len(sentences), max(1, batch_size)):
            encoded = self.tokenizer.encode_batch(list(sentences[start : start + max(1, batch_size)]))
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            types = np.array([e.type_ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            out.append(self._forward(ids, types, mask))
        emb = np.concatenate(out).astype(np.float32) if out else np.zeros((0, 384), dtype=np.float32)
        if normalize_embeddings or self.normalize:
            emb = emb / np.clip(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12, None)
        return emb
