#!/usr/bin/env bash
# Build k8s-yaml-read (main.go: YAML read the way kubectl reads it, printed as JSON) from the Go module proxy.
#
#   hack/k8syaml/build.sh                 # build it when missing; prints its path
#   hack/k8syaml/build.sh --print-path    # print the path, build nothing
#
# Output: ${RAYCTL_CACHE:-$HOME/.cache/rayctl}/bin/k8s-yaml-read-<key>/k8s-yaml-read, where <key> is the pin of
# sigs.k8s.io/yaml (go.mod) plus a hash of main.go, go.mod and go.sum: a binary already there is the cache, a
# changed pin or program builds a new one. GOMODCACHE/GOCACHE are shared with hack/controlplane/build.sh.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${RAYCTL_CACHE:-$HOME/.cache/rayctl}"
PIN="$(awk '$1 == "require" && $2 == "sigs.k8s.io/yaml" {print $3}' "$HERE/go.mod")"
DIGEST="$(cat "$HERE/main.go" "$HERE/go.mod" "$HERE/go.sum" | sha256sum | cut -c1-12)"
DEST="$CACHE/bin/k8s-yaml-read-$PIN-$DIGEST/k8s-yaml-read"
if [[ "${1:-}" == "--print-path" ]]; then echo "$DEST"; exit 0; fi
if [[ -x "$DEST" ]]; then echo "$DEST"; exit 0; fi
command -v go >/dev/null || { echo "k8syaml/build.sh: 'go' not found in PATH" >&2; exit 1; }
export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build-cache"
export GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -mod=readonly" CGO_ENABLED=0
export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"
mkdir -p "$(dirname "$DEST")" "$GOMODCACHE" "$GOCACHE"
TMP="$(mktemp "$(dirname "$DEST")/.build.XXXXXX")"
trap 'rm -f "$TMP"' EXIT
(cd "$HERE" && nice -n 10 go build -trimpath -ldflags="-s -w" -o "$TMP" .) >&2
chmod 0755 "$TMP"
mv -f "$TMP" "$DEST"
trap - EXIT
echo "$DEST"
