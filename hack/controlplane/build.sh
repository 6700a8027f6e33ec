#!/usr/bin/env bash
# Build the pinned binaries of the e2e test control plane from the Go module proxy.
#
#   hack/controlplane/build.sh            # build whatever is missing
#   hack/controlplane/build.sh etcd kwok  # only these (names: kube-apiserver kube-controller-manager
#                                         #   kube-scheduler etcd kwok kuberay-operator, and the kind node's
#                                         #   kubelet kubeadm kubectl kube-proxy: see hack/kind/)
#   hack/controlplane/build.sh --print-paths [NAME...]  # print "NAME VERSION PATH" (default: the control plane's)
#
# Output: ${RAYCTL_CACHE:-$HOME/.cache/rayctl}/bin/<name>-<version>/<name>. A binary that is already there is
# not rebuilt (that is the cache); the directory is keyed by version, so bumping a pin below rebuilds it.
# GOMODCACHE/GOCACHE live under the same cache dir, so a rebuild after a pin bump is incremental.
# Needs only the Go toolchain (go >= 1.26) and a Go module proxy; nothing is downloaded from GitHub.
set -euo pipefail

# ---- pins (tests/e2e/controlplane.py asks `build.sh --print-paths` for the resulting paths) ----
K8S_VERSION=v1.36.3        # k8s.io/kubernetes: kube-apiserver, kube-controller-manager, kube-scheduler (+ node binaries)
ETCD_VERSION=v3.6.16       # go.etcd.io/etcd/server/v3 (main package at the module root)
KWOK_VERSION=v0.8.0        # sigs.k8s.io/kwok/cmd/kwok
# github.com/ray-project/kuberay/ray-operator (main package at the module root). The target is v1.7.0 (the CRDs in
# ../shared are v1.7.0), but the Go module proxy refuses its source:
#   reading .../ray-operator/@v/v1.7.0.zip: 403 Forbidden: This module version is not available.
# (same for v1.7.1, v1.7.0-rc.*, and the release commit 59d663ae as a pseudo-version). v1.6.2 is the newest real
# release the proxy serves, so it is the pin until v1.7.0 can be fetched; RAYCTL_KUBERAY_VERSION=v1.7.0 tries it.
KUBERAY_VERSION=v1.6.2
# RAYCTL_KUBERAY_VERSION=vX.Y.Z builds/uses another *real* operator release; tests/e2e/controlplane.py honours it.
KUBERAY_VERSION="${RAYCTL_KUBERAY_VERSION:-$KUBERAY_VERSION}"
# ---------------------------------------------------------------------------------------

CACHE="${RAYCTL_CACHE:-$HOME/.cache/rayctl}"
BIN="$CACHE/bin"
WORK="$CACHE/build"
# Staging modules (k8s.io/api, ...) are published as v0.<minor>.<patch> for k8s v1.<minor>.<patch>.
STAGING_VERSION="v0.${K8S_VERSION#v1.}"

version_of() {
  case "$1" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kubeadm|kubectl|kube-proxy) echo "$K8S_VERSION" ;;
    etcd) echo "$ETCD_VERSION" ;;
    kwok) echo "$KWOK_VERSION" ;;
    kuberay-operator) echo "$KUBERAY_VERSION" ;;
    *) echo "unknown binary: $1" >&2; return 1 ;;
  esac
}
ALL=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok kuberay-operator)
# The kind node image (hack/kind/) also needs these; they are built from the same wrapper module, and every k8s
# binary that is missing is built by ONE `go build` (shared packages compile once; see build_k8s_all).
K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubeadm kubectl kube-proxy)
NODE=(kubelet kubeadm kubectl kube-proxy)

if [[ "${1:-}" == "--print-paths" ]]; then
  shift
  wanted=("$@")
  [[ ${#wanted[@]} -eq 0 ]] && wanted=("${ALL[@]}")
  for name in "${wanted[@]}"; do echo "$name $(version_of "$name") $BIN/$name-$(version_of "$name")/$name"; done
  exit 0
fi

command -v go >/dev/null || { echo "build.sh: 'go' not found in PATH (need go >= 1.26)" >&2; exit 1; }
export GOMODCACHE="$CACHE/go/mod"
export GOCACHE="$CACHE/go/build-cache"
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"
mkdir -p "$BIN" "$WORK" "$GOMODCACHE" "$GOCACHE"
NICE=(nice -n 10)
BUILD_FLAGS=(-trimpath -ldflags="-s -w")

target_of() { echo "$BIN/$1-$(version_of "$1")/$1"; }

# install_built NAME TMPFILE: move a freshly built binary into its versioned dir atomically.
install_built() {
  local dest; dest="$(target_of "$1")"
  mkdir -p "$(dirname "$dest")"
  chmod 0755 "$2"
  mv -f "$2" "$dest"
  echo "build.sh: installed $dest"
}

# k8s_wrapper: a throwaway module that requires k8s.io/kubernetes and maps every k8s.io/* staging module
# (k/k's go.mod points them at ./staging/...) to its published version. The replace list comes from k/k's
# own go.mod, so it follows the pinned release.
k8s_wrapper() {
  # "-all": the wrapper lists every binary of K8S_BINARIES as a tool (an older 3-tool wrapper lacks the go.sum
  # entries kubelet needs, and a build may still be running in it, so it gets a new directory).
  local dir="$WORK/kubernetes-$K8S_VERSION-all"
  if [[ -f "$dir/.ready" ]]; then echo "$dir"; return; fi
  rm -rf "$dir"; mkdir -p "$dir"
  (
    cd "$dir"
    local kmod
    kmod="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
    [[ -f "$kmod" ]] || { echo "build.sh: could not download k8s.io/kubernetes@$K8S_VERSION go.mod" >&2; exit 1; }
    local gover godebug
    gover="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$kmod" | head -1)"
    godebug="$(grep -E '^godebug ' "$kmod" || true)"
    {
      echo "// Generated by hack/controlplane/build.sh; not part of the repository."
      echo "module rayctl.local/k8s-controlplane-build"
      echo
      echo "go ${gover:-1.26.0}"
      [[ -n "$godebug" ]] && echo "$godebug"
      echo
      echo "require k8s.io/kubernetes $K8S_VERSION"
      echo
      echo "tool ("
      local b
      for b in "${K8S_BINARIES[@]}"; do echo "	k8s.io/kubernetes/cmd/$b"; done
      echo ")"
      echo
      echo "replace ("
      # lines like: "	k8s.io/api => ./staging/src/k8s.io/api"
      sed -n '/^replace (/,/^)/p' "$kmod" | awk -v v="$STAGING_VERSION" \
        '$2 == "=>" && $3 ~ /^\.\/staging\// { printf "\t%s => %s %s\n", $1, $1, v }'
      echo ")"
    } > go.mod
    echo "build.sh: wrapper module $dir/go.mod: $(grep -c ' => ' go.mod) staging replaces -> $STAGING_VERSION" >&2
    "${NICE[@]}" go mod tidy >&2
    touch .ready
  ) >&2 || return 1
  echo "$dir"
}

# k8s_ldflags: the version stamps kubeadm/kubelet check against each other (component-base and client-go).
k8s_ldflags() {
  local minor pkg flags="-s -w"
  minor="$(echo "$K8S_VERSION" | cut -d. -f2)"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags="$flags -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  echo "$flags"
}

# build_k8s_all NAME...: one `go build -o DIR/` for every named k8s binary, then install each.
build_k8s_all() {
  local dir out name pkgs=()
  dir="$(k8s_wrapper)"
  out="$(mktemp -d "$dir/.out.XXXXXX")"
  for name in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$name"); done
  if ! (cd "$dir" && "${NICE[@]}" go build -trimpath -ldflags="$(k8s_ldflags)" -o "$out/" "${pkgs[@]}"); then
    rm -rf "$out"
    return 1
  fi
  for name in "$@"; do install_built "$name" "$out/$name"; done
  rm -rf "$out"
}

build_etcd() {
  # server/go.mod has replace directives (../api, ...), so `go install` refuses it: use a wrapper module.
  local dir="$WORK/etcd-$ETCD_VERSION" tmp
  if [[ ! -f "$dir/.ready" ]]; then
    rm -rf "$dir"; mkdir -p "$dir"
    (
      cd "$dir"
      printf 'module rayctl.local/etcd-build\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n\ntool go.etcd.io/etcd/server/v3\n' \
        "$ETCD_VERSION" > go.mod
      "${NICE[@]}" go mod tidy
      touch .ready
    )
  fi
  tmp="$(mktemp "$dir/.etcd.XXXXXX")"
  (cd "$dir" && "${NICE[@]}" go build "${BUILD_FLAGS[@]}" -o "$tmp" go.etcd.io/etcd/server/v3)
  install_built etcd "$tmp"
}

# go_install NAME PKG@VERSION: modules without replace directives build directly with go install.
go_install() {
  local name="$1" pkg="$2" gobin
  gobin="$(mktemp -d "$WORK/.gobin.XXXXXX")"
  if ! GOBIN="$gobin" "${NICE[@]}" go install "${BUILD_FLAGS[@]}" "$pkg"; then
    rm -rf "$gobin"
    return 1
  fi
  local built; built="$(find "$gobin" -maxdepth 1 -type f | head -1)"
  [[ -n "$built" ]] || { echo "build.sh: go install $pkg produced no binary" >&2; rm -rf "$gobin"; return 1; }
  install_built "$name" "$built"
  rm -rf "$gobin"
}

# kwok needs its lifecycle stages in --config; copy kwok's own default stages (the set kwokctl uses:
# node-initialize, node-heartbeat-with-lease, pod-ready, pod-complete, pod-delete) from the pinned module.
ensure_kwok_stages() {
  local dest; dest="$(dirname "$(target_of kwok)")/stages"
  local files=(node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
               pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml)
  local f missing=0
  for f in "${files[@]}"; do [[ -f "$dest/$(basename "$f")" ]] || missing=1; done
  [[ $missing == 0 ]] && return 0
  local src
  src="$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$src/kustomize/stage" ]] || { echo "build.sh: kwok module source not found for stages" >&2; return 1; }
  mkdir -p "$dest"
  for f in "${files[@]}"; do
    install -m 0644 "$src/kustomize/stage/$f" "$dest/$(basename "$f")"
  done
  echo "build.sh: kwok stages in $dest"
}

is_k8s() { local b; for b in "${K8S_BINARIES[@]}"; do [[ $1 == "$b" ]] && return 0; done; return 1; }

build_one() {
  case "$1" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kubeadm|kubectl|kube-proxy) build_k8s_all "$1" ;;
    etcd) build_etcd ;;
    kwok) go_install kwok "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" && ensure_kwok_stages ;;
    # the module root is package main; the binary is named after the last path element (ray-operator)
    kuberay-operator) go_install kuberay-operator "github.com/ray-project/kuberay/ray-operator@$KUBERAY_VERSION" ;;
  esac
}

# shellcheck source=hack/timed.sh
source "$(dirname "${BASH_SOURCE[0]}")/../timed.sh"
names=("$@")
[[ ${#names[@]} -eq 0 ]] && names=("${ALL[@]}")
for name in "${names[@]}"; do version_of "$name" >/dev/null || exit 2; done
failed=()
# Every missing Kubernetes binary in one go build (the linker runs per binary, the compiler once per package).
missing_k8s=()
for name in "${names[@]}"; do
  if is_k8s "$name" && [[ ! -x "$(target_of "$name")" ]]; then missing_k8s+=("$name"); fi
done
if [[ ${#missing_k8s[@]} -gt 1 ]]; then
  echo "build.sh: building ${missing_k8s[*]} $K8S_VERSION in one go build ..."
  run_timed "${missing_k8s[*]}" "$K8S_VERSION" build_k8s_all "${missing_k8s[@]}"
  [[ $TIMED_RC == 0 ]] || failed+=("${missing_k8s[@]}")
fi
for name in "${names[@]}"; do
  if [[ " ${failed[*]} " == *" $name "* ]]; then continue; fi
  target="$(target_of "$name")"
  if [[ -x "$target" ]]; then
    echo "build.sh: $name $(version_of "$name"): cached at $target"
    if [[ $name == kwok ]] && ! ensure_kwok_stages; then failed+=("kwok-stages"); fi
    continue
  fi
  echo "build.sh: building $name $(version_of "$name") ..."
  run_timed "$name" "$(version_of "$name")" build_one "$name"
  if [[ $TIMED_RC != 0 ]]; then
    if [[ $name == kuberay-operator ]]; then
      echo "build.sh: (if the proxy refuses this version, RAYCTL_KUBERAY_VERSION=vX.Y.Z selects another real" \
        "operator release for build.sh, tests/e2e/controlplane.py and the e2e tests)" >&2
    fi
    failed+=("$name")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "build.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "build.sh: all binaries present under $BIN"
