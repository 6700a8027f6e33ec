#!/usr/bin/env bash
# Build (or find cached) everything the kind loop runs, offline apart from the Go proxy, PyPI and Debian's mirror:
# binaries, the node image, the KubeRay operator image and the Ray CPU image(s). Then write and print
# $RAYCTL_CACHE/kind/images.env (what tests/kind and `rayctl dev up` need: image tags, tool paths, the operator's
# module source for its RBAC). Starts our dockerd when it is not running and stops it again at exit.
#   hack/kind/build.sh [--with-torch]     # --with-torch: also the classifier's image (torch, sentence-transformers)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
with_torch=0
[[ ${1:-} == --with-torch ]] && with_torch=1
T0=$(date +%s)
started=0
if ! dockerd_running; then
  bash "$KIND_DIR/dockerd.sh" start >/dev/null
  started=1
  # teardown, not just `dockerd.sh stop`: it also undoes what dockerd did to the host (FORWARD policy DROP,
  # ip_forward, its iptables chains and bridges); the image cache stays
  trap 'bash "$KIND_DIR/teardown.sh" >&2' EXIT
fi
timed binaries bash "$KIND_DIR/binaries.sh"
node=$(timed node-image bash "$KIND_DIR/node-image.sh")
operator_img=$(timed operator-image bash "$KIND_DIR/operator-image.sh")
ray=$(timed ray-image bash "$KIND_DIR/ray-image.sh" serve)
torch=
[[ $with_torch == 1 ]] && torch=$(timed ray-image-torch bash "$KIND_DIR/ray-image.sh" torch)
source_dir=$(module_dir "github.com/ray-project/kuberay/ray-operator@$KUBERAY_VERSION")
cat > "$KCACHE/images.env" <<ENV
NODE_IMAGE=$node
OPERATOR_IMAGE=$operator_img
RAY_IMAGE=$ray
RAY_TORCH_IMAGE=$torch
OPERATOR_SOURCE=$source_dir
KIND=$KIND_BIN
KUBECTL=$KUBECTL_BIN
DOCKER_HOST=$DOCKER_HOST
ENV
log "TIMING build-all $(( $(date +%s) - T0 ))s"
cat "$KCACHE/images.env"
