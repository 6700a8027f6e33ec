# Sourced by hack/controlplane/build.sh and hack/helm/build.sh: what their Go builds share. The sourcing script sets
# CACHE, BIN, WORK and target_of (NAME -> the binary's versioned path) first.

# go_env: the Go toolchain settings of every build (caches under CACHE, no VCS stamping, static binaries).
go_env() {
  command -v go >/dev/null || { echo "build.sh: 'go' not found in PATH (need go >= 1.26)" >&2; exit 1; }
  export GOMODCACHE="$CACHE/go/mod"
  export GOCACHE="$CACHE/go/build-cache"
  export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
  export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"
  mkdir -p "$BIN" "$WORK" "$GOMODCACHE" "$GOCACHE"
}

# install_built NAME TMPFILE: move a freshly built binary into its versioned dir atomically.
install_built() {
  local dest; dest="$(target_of "$1")"
  mkdir -p "$(dirname "$dest")"
  chmod 0755 "$2"
  mv -f "$2" "$dest"
  echo "build.sh: installed $dest"
}

# go_install NAME PKG@VERSION [GO FLAGS...]: modules without replace directives build directly with go install
# (into a temp GOBIN, then install_built); NICE (an array, may be empty) prefixes the build.
go_install() {
  local name="$1" pkg="$2" gobin
  shift 2
  gobin="$(mktemp -d "$WORK/.gobin.XXXXXX")"
  if ! GOBIN="$gobin" "${NICE[@]}" go install "$@" "$pkg"; then
    rm -rf "$gobin"
    return 1
  fi
  local built; built="$(find "$gobin" -maxdepth 1 -type f | head -1)"
  [[ -n "$built" ]] || { echo "build.sh: go install $pkg produced no binary" >&2; rm -rf "$gobin"; return 1; }
  install_built "$name" "$built"
  rm -rf "$gobin"
}

# run_timed WHAT VERSION COMMAND [ARGS...]: runs COMMAND in a subshell with `set -e` really in force, prints
# "build.sh: TIMING ..." or "build.sh: FAILED ...", and leaves its exit status in TIMED_RC (it always returns 0, so
# that callers under `set -e` go on to the next tool and report every failure at the end).
run_timed() {
  local what=$1 version=$2 start
  shift 2
  start=$(date +%s)
  # Called as a plain command (never inside `if`/`||`, where bash ignores `set -e` even in subshells).
  set +e
  (set -e; "$@")
  TIMED_RC=$?
  set -e
  if [[ $TIMED_RC == 0 ]]; then
    echo "build.sh: TIMING $what $version: $(( $(date +%s) - start ))s"
  else
    echo "build.sh: FAILED $what $version after $(( $(date +%s) - start ))s" >&2
  fi
}
