#!/usr/bin/env bash
# Debian packages the kind loop needs: Docker engine (dockerd, containerd, runc), debootstrap (the base image),
# iptables (the egress guard), jq, gcc (the static pause binary). Idempotent: installs only what is missing.
#   hack/kind/install-deps.sh      (root; .ci/run calls it)
set -euo pipefail
need=()
for pair in dockerd:docker.io debootstrap:debootstrap iptables:iptables jq:jq gcc:gcc runc:runc; do
  command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if [[ ${#need[@]} -eq 0 ]]; then echo "install-deps: docker.io debootstrap iptables jq gcc present"; exit 0; fi
[[ $(id -u) == 0 ]] || { echo "install-deps: need root to apt-get install ${need[*]}" >&2; exit 1; }
t0=$(date +%s)
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
echo "install-deps: installed ${need[*]} in $(( $(date +%s) - t0 ))s"
