#!/usr/bin/env bash
# Build every binary the kind loop needs, from the Go module proxy (and gcc for pause), cached by version under
# $RAYCTL_CACHE/bin/<name>-<version>/<name>:
#   - via hack/controlplane/build.sh (same Go caches, ONE go build for every missing Kubernetes binary):
#     kube-apiserver kube-controller-manager kube-scheduler kubelet kubeadm kubectl kube-proxy, etcd, the operator
#   - here: kind, crictl, a minimal CoreDNS (coredns-min/), pause (k/k's build/pause/linux/pause.c, static)
#
#   hack/kind/binaries.sh            # build what is missing (seconds when everything is cached)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
go_env

bash "$REPO_ROOT/hack/controlplane/build.sh" kube-apiserver kube-controller-manager kube-scheduler \
  kubelet kubeadm kubectl kube-proxy etcd kuberay-operator

# go_install NAME VERSION PKG@VERSION: `go install` into bin/NAME-VERSION/ (atomically: a temp GOBIN, then mv).
go_install() {
  local name=$1 version=$2 pkg=$3 dest tmp built
  dest="$BIN/$name-$version/$name"
  [[ -x $dest ]] && return 0
  tmp=$(mktemp -d "$WORKDIR/.gobin.XXXXXX")
  log "building $name $version ($pkg)"
  if ! GOBIN="$tmp" timed "$name-$version" nice -n 10 go install -trimpath -ldflags="-s -w" "$pkg"; then
    rm -rf "$tmp"; return 1
  fi
  built=$(find "$tmp" -maxdepth 1 -type f | head -1)
  mkdir -p "$(dirname "$dest")"; mv -f "$built" "$dest"; rm -rf "$tmp"
}

go_install kind "$KIND_VERSION" "sigs.k8s.io/kind@$KIND_VERSION"
go_install crictl "$CRICTL_VERSION" "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"

# CoreDNS: the full plugin set pulls in every cloud SDK; coredns-min/main.go links only kubeadm's Corefile plugins.
coredns=$BIN/coredns-min-$COREDNS_VERSION/coredns
if [[ ! -x $coredns ]]; then
  d=$WORKDIR/coredns-min-$COREDNS_VERSION
  mkdir -p "$d"
  cp "$KIND_DIR/coredns-min/main.go" "$d/main.go"
  if [[ ! -f $d/go.sum ]]; then
    printf 'module rayctl.local/coredns-min\n\ngo 1.26.0\n\nrequire github.com/coredns/coredns %s\n' \
      "$COREDNS_VERSION" > "$d/go.mod"
    (cd "$d" && nice -n 10 go mod tidy)
  fi
  mkdir -p "$(dirname "$coredns")"
  (cd "$d" && timed coredns-min nice -n 10 go build -trimpath -ldflags="-s -w" -o "$coredns.tmp" .)
  mv -f "$coredns.tmp" "$coredns"
fi

pause=$BIN/pause-$K8S_VERSION/pause
if [[ ! -x $pause ]]; then
  command -v gcc >/dev/null || die "gcc missing (needed for the pause binary): hack/kind/install-deps.sh"
  src=$(module_dir "k8s.io/kubernetes@$K8S_VERSION")/build/pause/linux/pause.c
  mkdir -p "$(dirname "$pause")"
  gcc -Os -Wall -Werror -static -DVERSION="$K8S_VERSION-rayctl" -o "$pause.tmp" "$src"
  strip "$pause.tmp"; mv -f "$pause.tmp" "$pause"
fi
log "binaries ready under $BIN"
