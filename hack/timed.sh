# Sourced by hack/controlplane/build.sh and hack/helm/build.sh: one timed build step.
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
