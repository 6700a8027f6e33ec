#!/usr/bin/env bash
# Undo everything the kind loop started on this machine, also after a failure or a crash (best effort, every step
# runs): kind clusters and containers of OUR dockerd, its networks, dockerd itself (by pid file), the egress guard and
# Docker's iptables chains, leftover mounts under our data/exec roots, the docker0 / br-* bridges it made, and the
# host settings it changed (ip_forward, FORWARD policy, the empty /lib/modules). The image cache (data root) stays.
#   hack/kind/teardown.sh          # exit 1 when something could not be removed (it says what)
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
EXEC_ROOT=/run/rayctl-dockerd
declare -A pre=()
if [[ -f $STATE/prestate ]]; then
  while IFS='=' read -r k v; do pre[$k]=$v; done < "$STATE/prestate"
fi
bridges=()
if dockerd_running && docker version >/dev/null 2>&1; then
  if [[ -x $KIND_BIN ]]; then
    for c in $("$KIND_BIN" get clusters 2>/dev/null); do
      "$KIND_BIN" delete cluster --name "$c" --kubeconfig "$STATE/teardown-kubeconfig" >/dev/null 2>&1 \
        && log "teardown: kind cluster $c deleted"
    done
  fi
  ids=$(docker ps -aq)   # a private daemon: every container is ours
  [[ -n $ids ]] && docker rm -f -v $ids >/dev/null 2>&1 && log "teardown: removed containers $(echo $ids)"
  for n in $(docker network ls --filter type=custom -q); do
    bridges+=("br-${n:0:12}")
    docker network rm "$n" >/dev/null 2>&1
  done
fi
bash "$KIND_DIR/dockerd.sh" stop
rm -f "$STATE/teardown-kubeconfig"

# iptables: our guard rule, then Docker's chains, but only when no other dockerd is left that still uses them
if [[ -f $STATE/egress-guard ]]; then
  up=$(cat "$STATE/egress-guard")
  while iptables -D DOCKER-USER -o "$up" -j REJECT 2>/dev/null; do :; done
  rm -f "$STATE/egress-guard"
fi
if pgrep -x dockerd >/dev/null; then
  log "teardown: another dockerd runs on this machine: its iptables chains and docker0 are left alone"
elif iptables-save 2>/dev/null | grep -qE 'DOCKER|docker0'; then
  policy=${pre[forward_policy]:-ACCEPT}
  iptables-save | grep -vE 'DOCKER|docker0|br-[0-9a-f]{12}' | sed "s/^:FORWARD DROP/:FORWARD $policy/" | iptables-restore \
    && log "teardown: Docker's iptables rules and chains removed (FORWARD policy $policy)"
fi

# mounts dockerd/containerd/kind left behind (a crash skips their cleanup): deepest first
for root in "$DOCKER_DATA" "$EXEC_ROOT" /run/docker/netns; do
  awk -v r="$root" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null && log "teardown: unmounted $m"
  done
done
rm -rf "$EXEC_ROOT" 2>/dev/null

if ! pgrep -x dockerd >/dev/null; then
  ip link show docker0 >/dev/null 2>&1 && ip link delete docker0 && log "teardown: docker0 removed"
  for b in "${bridges[@]}" $(ip -o link show type bridge 2>/dev/null | awk -F': ' '{print $2}' | grep -E '^br-[0-9a-f]{12}$'); do
    ip link show "$b" >/dev/null 2>&1 && ip link delete "$b" && log "teardown: bridge $b removed"
  done
fi
if [[ -n ${pre[ip_forward]:-} && $(cat /proc/sys/net/ipv4/ip_forward) != "${pre[ip_forward]}" ]]; then
  sysctl -qw "net.ipv4.ip_forward=${pre[ip_forward]}" && log "teardown: net.ipv4.ip_forward=${pre[ip_forward]} restored"
fi
if [[ ${pre[lib_modules]:-absent} == absent && -d /lib/modules ]] && rmdir /lib/modules 2>/dev/null; then
  log "teardown: removed the empty /lib/modules Docker created for kind's bind mount"
fi

# what is left?
left=()
dockerd_running && left+=("dockerd pid $(cat "$STATE/dockerd.pid")")
if [[ -f $STATE/egress-guard ]] || iptables -S DOCKER-USER >/dev/null 2>&1 && ! pgrep -x dockerd >/dev/null; then
  iptables -S DOCKER-USER >/dev/null 2>&1 && left+=("iptables chain DOCKER-USER")
fi
pgrep -x dockerd >/dev/null || { ip link show docker0 >/dev/null 2>&1 && left+=("link docker0"); }
m=$(awk -v r="$DOCKER_DATA" 'index($2, r) == 1' /proc/mounts | wc -l); (( m > 0 )) && left+=("$m mounts under $DOCKER_DATA")
if [[ ${#left[@]} -gt 0 ]]; then log "teardown: LEFT BEHIND: ${left[*]}"; exit 1; fi
rm -f "$STATE/prestate"
log "teardown: clean (no dockerd of ours, no DOCKER-USER chain, no docker0, no mounts)"
