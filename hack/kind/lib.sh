# Sourced by every hack/kind script: the pins, the cache layout and small helpers. Not executable on its own.
#
# Everything built here is cached under ${RAYCTL_CACHE:-~/.cache/rayctl}, keyed by these pins (binaries in
# bin/<name>-<version>/, images in dockerd's own data root kind/docker/ with tags that carry the pins and a hash of
# their build inputs), so bumping a pin rebuilds exactly what depends on it.

# ---- pins ---------------------------------------------------------------------------------------------------
KIND_VERSION=v0.33.0            # sigs.k8s.io/kind (CLI and its node base image files)
K8S_VERSION=v1.36.3             # node image: kubelet, kubeadm, kubectl, kube-proxy + control plane (one go build)
ETCD_VERSION=v3.6.16            # built by hack/controlplane/build.sh
ETCD_TAG=3.6.8-0                # the etcd image tag kubeadm v1.36.3 asks for (`kubeadm config images list`)
COREDNS_VERSION=v1.14.2         # minimal CoreDNS (coredns-min/: only the plugins kubeadm's Corefile uses)
PAUSE_TAGS=(3.10.2 3.10)        # kubeadm's pause tag and kind's containerd sandbox_image
CRICTL_VERSION=v1.36.0          # sigs.k8s.io/cri-tools: kind's `load` asks the node for image IDs with crictl
KUBERAY_VERSION=v1.6.2          # operator (v1.7.0's source is refused by the Go proxy: hack/controlplane/README.md)
RAY_VERSION=2.60.0              # the Ray CPU images (docker/Dockerfile.cpu), pins from requirements/serve.txt
TORCH_VERSION=2.13.0            # hack/install-serve-deps.sh's torch (CPU import path only, see docker/Dockerfile.cpu)
DEBIAN_SUITE=bookworm           # debootstrap base of every image (python3.11 like the Ray images)
CLUSTER_NAME=${RAYCTL_KIND_CLUSTER:-rayctl}
# --------------------------------------------------------------------------------------------------------------

KIND_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$KIND_DIR/../.." && pwd)"
CACHE="${RAYCTL_CACHE:-$HOME/.cache/rayctl}"
BIN="$CACHE/bin"
KCACHE="$CACHE/kind"                 # everything of the kind loop
STATE="$KCACHE/run"                  # dockerd pid/config/log, the egress-guard record
DOCKER_DATA="$KCACHE/docker"         # dockerd data root: the image cache (kept across runs, keyed by tags)
WORKDIR="$KCACHE/build"              # build contexts and Go wrapper modules
LOGS="$KCACHE/logs"
WHEELS="$CACHE/wheels"               # pip wheelhouses for the Ray images, keyed by a hash of their requirements
export DOCKER_HOST="unix://$STATE/docker.sock"   # our own dockerd only, never a system one
export DOCKER_BUILDKIT=0                          # Debian's docker.io has no buildx
export KIND_EXPERIMENTAL_PROVIDER=docker

# Image names. The node and Ray image tags carry a content key (see content_key), so a changed input rebuilds.
IMG_DEBIAN="rayctl.local/debian:$DEBIAN_SUITE"
IMG_STATIC="rayctl.local/static-base:$DEBIAN_SUITE"
IMG_OPERATOR="rayctl.local/kuberay-operator:$KUBERAY_VERSION"

mkdir -p "$BIN" "$STATE" "$DOCKER_DATA" "$WORKDIR" "$LOGS" "$WHEELS"

log() { echo "kind: $*" >&2; }
die() { echo "kind: error: $*" >&2; exit 1; }

# go_env: the Go caches shared with hack/controlplane/build.sh (one module download and compile cache for both).
go_env() {
  command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
  command -v go >/dev/null || die "'go' not found (need go >= 1.26 at /usr/local/go/bin)"
  export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build-cache"
  export GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -modcacherw" CGO_ENABLED=0
  export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"
  mkdir -p "$GOMODCACHE" "$GOCACHE"
}

# module_dir MODULE@VERSION: the extracted module source in the Go module cache (downloads it once).
module_dir() { go_env; go mod download -json "$1" | jq -er .Dir; }

# content_key FILE|DIR|STRING...: a short hash of build inputs, for image tags and cache directories.
content_key() {
  local a
  for a in "$@"; do
    if [[ -d $a ]]; then (cd "$a" && find . -type f -not -path "*/__pycache__/*" -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    elif [[ -f $a ]]; then sha256sum < "$a"
    else printf '%s\n' "$a"; fi
  done | sha256sum | cut -c1-12
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# timed NAME CMD...: run CMD, print "TIMING NAME Ns" (the numbers in hack/kind/README.md come from these lines).
# (odd local names: bash locals are dynamically scoped, so the timed function would see a plain `name`)
timed() {
  local _timed_name=$1 _timed_t0 _timed_rc; shift
  _timed_t0=$(date +%s)
  "$@" && _timed_rc=0 || _timed_rc=$?
  log "TIMING $_timed_name $(( $(date +%s) - _timed_t0 ))s$([[ $_timed_rc == 0 ]] || echo " (FAILED rc=$_timed_rc)")"
  return "$_timed_rc"
}

dockerd_running() { [[ -f $STATE/dockerd.pid ]] && kill -0 "$(cat "$STATE/dockerd.pid")" 2>/dev/null; }
require_dockerd() { dockerd_running || die "our dockerd is not running: hack/kind/dockerd.sh start"; }

KIND_BIN="$BIN/kind-$KIND_VERSION/kind"
KUBECTL_BIN="$BIN/kubectl-$K8S_VERSION/kubectl"

# prune_old REPO TAG [GLOB]: drop every other tag of REPO that matches GLOB (default: all; older keys) and dangling
# layers, so the data root stays bounded. GLOB keeps sibling images apart: ray-cpu's `deps` and `apps` targets share
# a repository, and building one must not untag the other.
prune_old() {
  local repo=$1 keep=$2 glob=${3:-*} t
  for t in $(docker image ls "$repo" --format '{{.Tag}}'); do
    [[ $t == "$keep" || $t == "<none>" ]] && continue
    # shellcheck disable=SC2053  # $glob is a pattern on purpose
    [[ $t == $glob ]] || continue
    docker image rm "$repo:$t" >/dev/null 2>&1 && log "removed old image $repo:$t"
  done
  docker image prune -f >/dev/null 2>&1 || true
}
