#!/usr/bin/env bash
# Build the pinned chart tooling (real Helm v4, the helm-unittest plugin, chart-testing `ct`) from the Go module
# proxy, the way hack/controlplane/build.sh builds the test control plane.
#
#   hack/helm/build.sh                 # build whatever is missing
#   hack/helm/build.sh helm ct         # only these (names: helm helm-unittest ct)
#   hack/helm/build.sh --print-paths   # print "NAME VERSION PATH" of every pinned artefact, build nothing
#
# Output, keyed by pins (a bump rebuilds; a binary already there is the cache and is not rebuilt):
#   ${RAYCTL_CACHE:-$HOME/.cache/rayctl}/bin/helm-<v>/helm
#   .../bin/helm-unittest-<v>/helm-unittest          the plugin binary
#   .../bin/helm-unittest-<v>/plugins/unittest/      a ready Helm plugin dir (plugin.yaml + the binary):
#                                                    HELM_PLUGINS=.../bin/helm-unittest-<v>/plugins  helm unittest ...
#   .../bin/ct-<v>/ct
#   .../bin/ct-<v>/etc/{chart_schema.yaml,lintconf.yaml}   ct's config files, from the same ct module
#                                                    (ct --chart-yaml-schema .../etc/chart_schema.yaml
#                                                        --lint-conf .../etc/lintconf.yaml)
# `ct lint` also runs `helm`, `yamllint` and `yamale` from PATH; those two come from PyPI (pins in
# requirements, see tests/helm/test_tools.py), not from here.
# Needs only the Go toolchain (go >= 1.26) and a Go module proxy; nothing is downloaded from GitHub and no
# plugin install hook runs (helm-unittest's own hook downloads a release binary; ours is built here).
#
# Offline use (as tests/helm/test_tools.py runs them; checked inside `unshare -n`, i.e. with no network at all):
#   HELM_PLUGINS=<helm-plugins dir> helm unittest CHART
#   PATH=<helm dir>:<venv>/bin:$PATH ct lint --charts CHART \
#       --chart-yaml-schema <ct-etc>/chart_schema.yaml --lint-conf <ct-etc>/lintconf.yaml \
#       --validate-maintainers=false --check-version-increment=false
# ct wants a git repo (any clone); --charts skips its diff against origin/<target-branch> ("targetBranch
# 'origin/main' does not exist" on a clone without that remote branch), and --validate-maintainers=false skips the
# GitHub API lookup of each maintainer ("could not parse git repository domain for "origin"").
# Build times on the 2-core box, measured while 3-5 other Go builds ran (load 20-65), so wall times are inflated:
#   shared ~/.cache/rayctl Go caches (other k8s builds in them):  helm 284s, helm-unittest 293s, ct 40s
#   empty caches (RAYCTL_CACHE=/tmp/x, downloads included):        helm 1591s, then helm-unittest 346s; ct 275s
#   CPU of the empty-cache helm + helm-unittest build: 6m27s user + 1m20s sys, i.e. about 4 min wall on 2 idle cores.
set -euo pipefail

# ---- pins ------------------------------------------------------------------------------------------
HELM_VERSION=v4.3.1            # helm.sh/helm/v4/cmd/helm (no replace directives: go install works)
HELM_UNITTEST_VERSION=v1.1.2   # github.com/helm-unittest/helm-unittest: its go.mod has a replace directive
                               # (yaml-jsonpath), so `go install ...@v1.1.2` refuses it; built inside the module.
                               # NB: it renders with its own Helm *v3* library (helm.sh/helm/v3 v3.21.3 in its
                               # go.mod), not with the helm binary above.
CT_VERSION=v3.14.0             # github.com/helm/chart-testing/v3/ct: built inside the module too (go install
                               # needs the proxy's version list, which it refuses for this module; see build_ct)
# ----------------------------------------------------------------------------------------------------

CACHE="${RAYCTL_CACHE:-$HOME/.cache/rayctl}"
BIN="$CACHE/bin"
WORK="$CACHE/build"
ALL=(helm helm-unittest ct)

version_of() {
  case "$1" in
    helm) echo "$HELM_VERSION" ;;
    helm-unittest) echo "$HELM_UNITTEST_VERSION" ;;
    ct) echo "$CT_VERSION" ;;
    *) echo "build.sh: unknown tool: $1 (known: ${ALL[*]})" >&2; return 1 ;;
  esac
}
target_of() { echo "$BIN/$1-$(version_of "$1")/$1"; }
plugins_dir() { echo "$BIN/helm-unittest-$HELM_UNITTEST_VERSION/plugins"; }
ct_etc_dir() { echo "$BIN/ct-$CT_VERSION/etc"; }

if [[ "${1:-}" == "--print-paths" ]]; then
  for name in "${ALL[@]}"; do echo "$name $(version_of "$name") $(target_of "$name")"; done
  echo "helm-plugins $HELM_UNITTEST_VERSION $(plugins_dir)"
  echo "ct-etc $CT_VERSION $(ct_etc_dir)"
  exit 0
fi

# shellcheck source=hack/gobuild.sh
source "$(dirname "${BASH_SOURCE[0]}")/../gobuild.sh"
go_env
NICE=(nice -n 10)

# module_dir MODULE@VERSION: download a module (read-only, into GOMODCACHE) and print its source dir.
module_dir() {
  local dir
  dir="$(go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$dir" ]] || { echo "build.sh: could not download $1" >&2; return 1; }
  echo "$dir"
}

build_helm() {
  # Same ldflags as Helm's Makefile for a tagged release (version without "+unreleased" metadata), so that
  # `helm version` reports v4.3.1 and `ct` (which asks `helm version --template '{{ .Version }}'`) sees it.
  go_install helm "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" -trimpath \
    "-ldflags=-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.metadata= -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
}

build_helm_unittest() {
  # The module root is the main module here, so its replace directive applies (go install ignores/refuses it).
  # The module cache is read-only, but go.mod/go.sum are complete, so a -mod=readonly build writes nothing there.
  local src tmp
  src="$(module_dir "github.com/helm-unittest/helm-unittest@$HELM_UNITTEST_VERSION")"
  mkdir -p "$(dirname "$(target_of helm-unittest)")"
  tmp="$(mktemp "$(dirname "$(target_of helm-unittest)")/.helm-unittest.XXXXXX")"
  (cd "$src" && "${NICE[@]}" go build -mod=readonly -trimpath \
      -ldflags="-s -w -X github.com/helm-unittest/helm-unittest/internal/build.version=${HELM_UNITTEST_VERSION#v}" \
      -o "$tmp" ./cmd/helm-unittest)
  install_built helm-unittest "$tmp"
  ensure_unittest_plugin
}

# ensure_unittest_plugin: a Helm plugin dir that Helm v4 loads as is: HELM_PLUGINS=<plugins_dir> makes
# `helm unittest` work with no `helm plugin install` at all (Helm scans HELM_PLUGINS/*/plugin.yaml).
# The upstream plugin.yaml is not used: its install hook (install-binary.sh) downloads a release binary, and its
# platformCommand names per-platform binaries (untt-linux-amd64, ...) that we do not have. This one is the legacy
# (apiVersion-less) format that Helm v4 still loads, with the same name/usage and one command for every platform.
# `helm plugin install <dir> --verify=false` would instead symlink <dir> into $HELM_DATA_HOME/plugins and run
# the hooks (none here); a directory cannot be signature-verified, hence --verify=false there.
ensure_unittest_plugin() {
  local dir; dir="$(plugins_dir)/unittest"
  mkdir -p "$dir"
  cat > "$dir/plugin.yaml.tmp" <<EOF
# Generated by hack/helm/build.sh from helm-unittest $HELM_UNITTEST_VERSION; no install hooks (offline).
name: "unittest"
version: "${HELM_UNITTEST_VERSION#v}"
usage: "unittest for helm charts"
description: "Unit test for helm chart in YAML with ease to keep your chart functional and robust."
ignoreFlags: false
platformCommand:
  - command: "\$HELM_PLUGIN_DIR/untt"
EOF
  mv -f "$dir/plugin.yaml.tmp" "$dir/plugin.yaml"
  ln -f "$(target_of helm-unittest)" "$dir/untt" 2>/dev/null || install -m 0755 "$(target_of helm-unittest)" "$dir/untt"
}

build_ct() {
  # `go install github.com/helm/chart-testing/v3/ct@v3.14.0` fails: it asks the proxy for the module's version
  # list (to check deprecation) and the proxy answers ".../chart-testing/v3/@v/list: 403 Forbidden". The exact
  # version's zip is served, so build inside the downloaded module, like helm-unittest.
  local src tmp
  src="$(module_dir "github.com/helm/chart-testing/v3@$CT_VERSION")"
  mkdir -p "$(dirname "$(target_of ct)")"
  tmp="$(mktemp "$(dirname "$(target_of ct)")/.ct.XXXXXX")"
  (cd "$src" && "${NICE[@]}" go build -mod=readonly -trimpath \
      -ldflags="-s -w -X github.com/helm/chart-testing/v3/ct/cmd.Version=$CT_VERSION" -o "$tmp" ./ct)
  install_built ct "$tmp"
  ensure_ct_etc
}

# ensure_ct_etc: ct refuses to lint without chart_schema.yaml (yamale schema for Chart.yaml) and lintconf.yaml
# (yamllint rules). It searches ., .ct, ~/.ct, /usr/local/etc/ct, /etc/ct; we point it at the copies from the
# pinned ct module instead (--chart-yaml-schema / --lint-conf), so nothing outside the cache is touched.
ensure_ct_etc() {
  local dest; dest="$(ct_etc_dir)"
  [[ -f "$dest/chart_schema.yaml" && -f "$dest/lintconf.yaml" ]] && return 0
  local src; src="$(module_dir "github.com/helm/chart-testing/v3@$CT_VERSION")"
  mkdir -p "$dest"
  install -m 0644 "$src/etc/chart_schema.yaml" "$src/etc/lintconf.yaml" "$dest/"
  echo "build.sh: ct config files in $dest"
}

build_one() {
  case "$1" in
    helm) build_helm ;;
    helm-unittest) build_helm_unittest ;;
    ct) build_ct ;;
  esac
}

# the side files of a cached binary (plugin dir, ct's etc/) are re-made when missing
ensure_side_files() {
  case "$1" in
    helm-unittest) [[ -x "$(plugins_dir)/unittest/untt" && -f "$(plugins_dir)/unittest/plugin.yaml" ]] \
                     || ensure_unittest_plugin ;;
    ct) ensure_ct_etc ;;
  esac
}

names=("$@")
[[ ${#names[@]} -eq 0 ]] && names=("${ALL[@]}")
for name in "${names[@]}"; do version_of "$name" >/dev/null; done
failed=()
for name in "${names[@]}"; do
  target="$(target_of "$name")"
  if [[ -x "$target" ]]; then
    echo "build.sh: $name $(version_of "$name"): cached at $target"
    set +e
    (set -e; ensure_side_files "$name")
    side_rc=$?
    set -e
    [[ $side_rc == 0 ]] || failed+=("$name-files")
    continue
  fi
  echo "build.sh: building $name $(version_of "$name") ..."
  run_timed "$name" "$(version_of "$name")" build_one "$name"
  [[ $TIMED_RC == 0 ]] || failed+=("$name")
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "build.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "build.sh: all chart tools present under $BIN"
