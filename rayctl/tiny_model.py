"""A tiny random Llama + a locally trained BPE tokenizer, built offline (no Hugging Face access): what LLM apps
serve under the CPU profile when the spec names no `cpuModel` (rayctl's CPU image ships it at
`rayctl.spec.profile.TINY_MODEL_PATH`; `rayctl run` builds it into the user cache).

`build_tiny_model(path)` writes a HF model directory that vLLM (CPU build) and transformers can load:
LlamaConfig(hidden_size=64, 2 heads of head_dim 32, 2 layers, float32), random weights from a fixed seed,
and a `tokenizers` BPE tokenizer trained on generated text, saved as a PreTrainedTokenizerFast with a chat
template.

`ensure_tiny_model(cache_dir=None)` builds it once into a cache dir keyed by the build recipe version and
returns the path (safe against concurrent builders: built in a temp dir, then renamed).

Run `python -m rayctl.tiny_model [DIR]` to build it by hand (needs torch, transformers and tokenizers).
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from rayctl.cache import user_cache

RECIPE_VERSION = "1"
MODEL_NAME = "tiny-llama"
VOCAB_SIZE = 512
MAX_POSITIONS = 2048
SEED = 1234

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}{{ eos_token }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

_WORDS = [
    "the",
    "a",
    "an",
    "ray",
    "serve",
    "model",
    "token",
    "tiny",
    "llama",
    "cpu",
    "gpu",
    "fast",
    "slow",
    "request",
    "reply",
    "stream",
    "batch",
    "queue",
    "engine",
    "hello",
    "world",
    "data",
    "text",
    "sample",
    "random",
    "value",
    "cluster",
    "node",
    "worker",
    "head",
    "port",
    "route",
    "app",
    "deploy",
    "test",
    "bench",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "red",
    "green",
    "blue",
    "cat",
    "dog",
    "sun",
    "moon",
    "star",
    "tree",
    "river",
]


def _corpus(n_lines: int = 3000, seed: int = SEED) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for _ in range(n_lines):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(4, 16))]
        if rng.random() < 0.3:
            words.append(str(rng.randint(0, 999)))
        line = " ".join(words)
        lines.append(line[0].upper() + line[1:] + rng.choice([".", "!", "?", ","]))
    return lines


def build_tokenizer(out_dir: Path) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    special = ["<unk>", "<s>", "</s>", "<pad>", "<|system|>", "<|user|>", "<|assistant|>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        additional_special_tokens=["<|system|>", "<|user|>", "<|assistant|>"],
        model_max_length=MAX_POSITIONS,
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(str(out_dir))
    return fast


def build_tiny_model(out_dir: str | Path) -> Path:
    """Write the tiny model (config, safetensors weights, tokenizer, generation config) into `out_dir`."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(out)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,  # head_dim 32 (vLLM's CPU attention needs >= 32)
        num_key_value_heads=2,
        head_dim=32,
        max_position_embeddings=MAX_POSITIONS,
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        torch_dtype="float32",
    )
    torch.manual_seed(SEED)
    model = LlamaForCausalLM(config).to(torch.float32).eval()
    model.save_pretrained(str(out), safe_serialization=True)
    GenerationConfig(
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id
    ).save_pretrained(str(out))
    return out


def default_cache_dir() -> Path:
    return user_cache("tiny-models", "RAYCTL_TINY_MODEL_CACHE")


def ensure_tiny_model(cache_dir: str | Path | None = None) -> Path:
    """Build the tiny model once (per recipe version) and return its directory."""
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    target = root / f"{MODEL_NAME}-v{RECIPE_VERSION}"
    if (target / "config.json").exists() and any(target.glob("*.safetensors")):
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{MODEL_NAME}-", dir=root))
    try:
        build_tiny_model(tmp)
        try:
            tmp.rename(target)
        except OSError:  # another builder won the race
            if not (target / "config.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


if __name__ == "__main__":
    print(build_tiny_model(sys.argv[1]) if len(sys.argv) > 1 else ensure_tiny_model())
