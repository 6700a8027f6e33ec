#!/usr/bin/env bash
# Install the pinned Prometheus + promtool (Debian's `prometheus` package) and the prometheus-operator CRDs that the
# monitoring tests use, into the rayctl cache. Idempotent: a second run only checks what is there.
#
#   hack/install-prometheus.sh                # install what is missing
#   hack/install-prometheus.sh --print-paths  # print "NAME PATH" of every pinned artefact, install nothing
#   hack/install-prometheus.sh --promtool3    # also build promtool 3.x from the Go module proxy (not used by the
#                                             # tests: Debian's build lacks Kubernetes discovery, 3.x checks it;
#                                             # measured ~34 min cold on a saturated 2-core machine, ~240 MB modules)
#
# Prometheus: the .deb is downloaded with `apt-get download` (no root, no dpkg database, no service started) and its
# two static binaries are unpacked to ${RAYCTL_CACHE:-~/.cache/rayctl}/bin/prometheus-<version>/{prometheus,promtool}.
# CRDs: the prometheus-operator module from the Go module proxy (its example/prometheus-operator-crd/ folder), into
# the shared Go module cache; the CRD folder path is printed. Also the KubeRay operator's source at the control plane's
# pin (hack/controlplane/build.sh), whose metric definitions the tests read.
set -euo pipefail

PROMETHEUS_DEB_VERSION=2.42.0+ds-5+deb12u1    # Debian 12 (bookworm) `prometheus`
PROMETHEUS_OPERATOR_VERSION=v0.85.0           # github.com/prometheus-operator/prometheus-operator
PROMTOOL3_VERSION=v0.316.0                    # github.com/prometheus/prometheus module = Prometheus 3.16.0

CACHE="${RAYCTL_CACHE:-$HOME/.cache/rayctl}"
PROM_DIR="$CACHE/bin/prometheus-${PROMETHEUS_DEB_VERSION%%+*}"
export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build-cache" GOTOOLCHAIN=local GOFLAGS=-mod=mod
export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"
OPERATOR_DIR="$GOMODCACHE/github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION"
CRD_DIR="$OPERATOR_DIR/example/prometheus-operator-crd"
KUBERAY_VERSION="$("$(dirname "${BASH_SOURCE[0]}")/controlplane/build.sh" --print-paths | awk '$1 == "kuberay-operator" {print $2}')"
KUBERAY_DIR="$GOMODCACHE/github.com/ray-project/kuberay/ray-operator@$KUBERAY_VERSION"
PROMTOOL3="$CACHE/bin/promtool-$PROMTOOL3_VERSION/promtool"

if [[ "${1:-}" == "--print-paths" ]]; then
  echo "prometheus $PROM_DIR/prometheus"
  echo "promtool $PROM_DIR/promtool"
  echo "prometheus-operator-crds $CRD_DIR"
  echo "kuberay-operator-source $KUBERAY_DIR"
  echo "promtool3 $PROMTOOL3"
  exit 0
fi

work=""
cleanup() { [[ -z "$work" ]] || rm -rf "$work"; rm -rf "$PROM_DIR.tmp"; }
trap cleanup EXIT

install_prometheus() {
  if [[ -x "$PROM_DIR/prometheus" && -x "$PROM_DIR/promtool" ]]; then
    echo "prometheus: cached in $PROM_DIR"
    return
  fi
  command -v apt-get >/dev/null || { echo "install-prometheus: apt-get not found (Debian/Ubuntu needed)" >&2; exit 1; }
  work="$(mktemp -d)"
  echo "prometheus: downloading Debian's prometheus=$PROMETHEUS_DEB_VERSION"
  # apt drops privileges to _apt for downloads; a fresh mktemp dir is not writable for it, so allow that user in.
  chmod 0777 "$work"
  download() { (cd "$work" && apt-get download -q "prometheus=$PROMETHEUS_DEB_VERSION" >/dev/null 2>"$work/apt.err"); }
  if ! download; then
    # A fresh image often has no package lists yet: refresh them once (needs root), then retry.
    if [[ "$(id -u)" == 0 ]] && apt-get update -q >/dev/null 2>>"$work/apt.err" && download; then
      :
    else
      cat "$work/apt.err" >&2
      echo "install-prometheus: apt-get download prometheus=$PROMETHEUS_DEB_VERSION failed (try: apt-get update)" >&2
      exit 1
    fi
  fi
  dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
  mkdir -p "$PROM_DIR.tmp"
  install -m 0755 "$work/root/usr/bin/prometheus" "$work/root/usr/bin/promtool" "$PROM_DIR.tmp/"
  rm -rf "$PROM_DIR"
  mv "$PROM_DIR.tmp" "$PROM_DIR"
  "$PROM_DIR/promtool" --version | head -1
}

install_operator_crds() {
  if [[ -f "$CRD_DIR/monitoring.coreos.com_podmonitors.yaml" ]]; then
    echo "prometheus-operator CRDs: cached in $CRD_DIR"
    return
  fi
  echo "prometheus-operator CRDs: downloading github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION"
  go_download "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION"
  [[ -f "$CRD_DIR/monitoring.coreos.com_podmonitors.yaml" ]] || {
    echo "install-prometheus: no CRDs in $CRD_DIR after the download" >&2; exit 1; }
}

go_download() {  # MODULE@VERSION: into the shared module cache (a no-op when it is there)
  command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
  command -v go >/dev/null || { echo "install-prometheus: 'go' not found (need go >= 1.26)" >&2; exit 1; }
  (cd / && go mod download "$1")
}

install_kuberay_source() {
  if [[ -d "$KUBERAY_DIR/controllers/ray/metrics" ]]; then
    echo "KubeRay operator source: cached in $KUBERAY_DIR"
    return
  fi
  echo "KubeRay operator source: downloading github.com/ray-project/kuberay/ray-operator@$KUBERAY_VERSION"
  go_download "github.com/ray-project/kuberay/ray-operator@$KUBERAY_VERSION"
}

install_promtool3() {
  if [[ -x "$PROMTOOL3" ]]; then
    echo "promtool 3: cached in $PROMTOOL3"
    return
  fi
  command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
  echo "promtool 3: building github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL3_VERSION (slow when cold)"
  work="$(mktemp -d)"
  (cd / && CGO_ENABLED=0 GOBIN="$work" nice -n 10 go install -trimpath -ldflags="-s -w" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL3_VERSION")
  mkdir -p "$(dirname "$PROMTOOL3")"
  mv "$work/promtool" "$PROMTOOL3"
}

install_prometheus
install_operator_crds
install_kuberay_source
if [[ "${1:-}" == "--promtool3" ]]; then
  install_promtool3
fi
