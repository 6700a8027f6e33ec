#!/usr/bin/env bash
# Our own Docker engine for the kind loop: Debian's dockerd started by hand (no systemd here), niced, with its own
# socket ($RAYCTL_CACHE/kind/run/docker.sock), exec root, pid file, log, and a data root that is kept between runs
# ($RAYCTL_CACHE/kind/docker: the image cache).
#
#   hack/kind/dockerd.sh start     # idempotent; prints the export line for DOCKER_HOST
#   hack/kind/dockerd.sh stop      # by pid file only (never by name)
#   hack/kind/dockerd.sh status
#
# Two guards keep test traffic on this machine:
#  - egress: a DOCKER-USER rule REJECTs everything forwarded out of the uplink, so containers reach only each other
#    and the host (image builds that need PyPI/apt use --network host, i.e. the host's own network stack);
#  - runtime: runc-nosysres is the default runtime, because this machine's capability bounding set lacks
#    CAP_SYS_RESOURCE and --privileged containers (kind nodes) fail with "unable to apply caps: operation not
#    permitted" otherwise (hack/kind/README.md, trap A).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

EXEC_ROOT=/run/rayctl-dockerd
PIDF=$STATE/dockerd.pid
GUARD=$STATE/egress-guard   # the uplink the guard rule was added for (teardown removes exactly that rule)

uplink() { ip route show default | awk '{print $5; exit}'; }

start() {
  for t in dockerd iptables jq; do command -v "$t" >/dev/null || die "$t missing: hack/kind/install-deps.sh"; done
  if dockerd_running; then log "dockerd already running: pid $(cat "$PIDF")"; guard; print_env; return; fi
  # what teardown.sh restores: dockerd turns on ip_forward and sets FORWARD's policy to DROP; kind's bind mount of
  # /lib/modules makes Docker create an empty /lib/modules when the host has none
  {
    echo "ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
    echo "forward_policy=$(iptables -S FORWARD 2>/dev/null | awk '$1 == "-P" {print $3; exit}')"
    echo "lib_modules=$([[ -e /lib/modules ]] && echo present || echo absent)"
  } > "$STATE/prestate"
  install -m 0755 "$KIND_DIR/runc-nosysres" "$STATE/runc-nosysres"
  local runc; runc=$(command -v runc) || die "runc missing: hack/kind/install-deps.sh"
  cat > "$STATE/daemon.json" <<EOF
{
  "data-root": "$DOCKER_DATA",
  "exec-root": "$EXEC_ROOT",
  "pidfile": "$PIDF",
  "hosts": ["$DOCKER_HOST"],
  "storage-driver": "overlay2",
  "log-driver": "json-file",
  "log-opts": {"max-size": "10m", "max-file": "2"},
  "iptables": true,
  "ip-forward": true,
  "features": {"buildkit": false},
  "runtimes": {"runc-nosysres": {"path": "$STATE/runc-nosysres", "runtimeArgs": []}},
  "default-runtime": "runc-nosysres"
}
EOF
  local t0; t0=$(date +%s.%N)
  # setsid + nohup: dockerd outlives the calling shell; nice 10: dockerd, containerd and every container inherit it.
  REAL_RUNC="$runc" setsid nohup nice -n 10 dockerd --config-file "$STATE/daemon.json" >>"$LOGS/dockerd.log" 2>&1 </dev/null &
  local i
  for i in $(seq 1 120); do
    docker version --format '{{.Server.Version}}' >/dev/null 2>&1 && break
    if (( i == 120 )); then tail -20 "$LOGS/dockerd.log" >&2; die "dockerd did not answer within 60s ($LOGS/dockerd.log)"; fi
    sleep 0.5
  done
  log "dockerd $(docker version --format '{{.Server.Version}}') pid $(cat "$PIDF") up in" \
    "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s (data root $DOCKER_DATA)"
  guard
  print_env
}

guard() {
  local up i; up=$(uplink)
  [[ -n $up ]] || { log "no default route: no uplink to guard"; return 0; }
  for i in $(seq 1 20); do iptables -L DOCKER-USER -n >/dev/null 2>&1 && break; sleep 0.5; done
  iptables -L DOCKER-USER -n >/dev/null 2>&1 || die "dockerd set up no DOCKER-USER chain: cannot add the egress guard"
  iptables -C DOCKER-USER -o "$up" -j REJECT 2>/dev/null || iptables -I DOCKER-USER -o "$up" -j REJECT
  echo "$up" > "$GUARD"
  log "egress guard: DOCKER-USER rejects forwarding out of $up"
}

print_env() { echo "export DOCKER_HOST=$DOCKER_HOST"; }

stop() {
  [[ -f $PIDF ]] || { log "dockerd not running (no pid file)"; return 0; }
  local pid i; pid=$(cat "$PIDF")
  if ! kill -0 "$pid" 2>/dev/null; then log "dockerd $pid not running"; rm -f "$PIDF"; return 0; fi
  kill -TERM "$pid"
  for i in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { log "dockerd $pid stopped"; rm -f "$PIDF"; return 0; }
    sleep 1
  done
  log "dockerd $pid still running after 60s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 1
  rm -f "$PIDF"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if dockerd_running; then echo "running: pid $(cat "$PIDF")"; else echo "stopped"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
