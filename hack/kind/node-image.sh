#!/usr/bin/env bash
# The kind node image, built with no container registry (hack/kind/README.md explains every step and trap):
#   1. rayctl.local/debian:bookworm   debootstrap minbase from the machine's Debian mirror, `docker import`
#   2. rayctl.local/static-base       passwd/group/nsswitch/CA certs only (a distroless-static stand-in)
#   3. rayctl.local/kindbase:...      kind's images/base/files + Debian's containerd/runc/CNI plugins + crictl
#   4. component images               kube-apiserver/-controller-manager/-scheduler/-proxy, etcd, coredns, pause and
#                                     mini-kindnet, tagged as kubeadm v1.36.3 and kind expect them
#   5. rayctl.local/kind-node:...     assembled the way `kind build node-image` does, importing 4. from our dockerd
#                                     instead of pulling
#
#   hack/kind/node-image.sh               # build what is missing; prints the node image tag on stdout
#   hack/kind/node-image.sh --print-tag   # the tag only (no docker needed)
#   hack/kind/node-image.sh --base-only   # only the Debian and static base images (no Kubernetes binary needed)
# Needs: hack/kind/binaries.sh done, our dockerd running (hack/kind/dockerd.sh start).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KINDBASE_KEY=$(content_key "$KIND_DIR/images/kindbase" "$KIND_VERSION $CRICTL_VERSION $DEBIAN_SUITE")
IMG_KINDBASE="rayctl.local/kindbase:$KIND_VERSION-$KINDBASE_KEY"
NODE_KEY=$(content_key "$KIND_DIR/mini-kindnet" "$KIND_DIR/node-image.sh" \
  "$KINDBASE_KEY $K8S_VERSION $ETCD_VERSION $ETCD_TAG $COREDNS_VERSION ${PAUSE_TAGS[*]}")
NODE_IMAGE="rayctl.local/kind-node:$K8S_VERSION-$NODE_KEY"
if [[ ${1:-} == --print-tag ]]; then echo "$NODE_IMAGE"; exit 0; fi
require_dockerd

K8S_BIN() { echo "$BIN/$1-$K8S_VERSION/$1"; }
ETCD=$BIN/etcd-$ETCD_VERSION/etcd COREDNS=$BIN/coredns-min-$COREDNS_VERSION/coredns PAUSE=$BIN/pause-$K8S_VERSION/pause
CRICTL=$BIN/crictl-$CRICTL_VERSION/crictl
check_binaries() {
  local b f
  for b in kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubeadm kubectl; do
    [[ -x $(K8S_BIN "$b") ]] || die "$(K8S_BIN "$b") missing: hack/kind/binaries.sh"
  done
  for f in "$ETCD" "$COREDNS" "$PAUSE" "$CRICTL"; do [[ -x $f ]] || die "$f missing: hack/kind/binaries.sh"; done
}

ctx() { local d="$WORKDIR/ctx/$1"; rm -rf "$d"; mkdir -p "$d"; echo "$d"; }

debian_base() {
  have_image "$IMG_DEBIAN" && return 0
  exec 8>"$WORKDIR/.debian-base.lock"; flock 8   # ray-image.sh may build it concurrently
  have_image "$IMG_DEBIAN" && return 0
  command -v debootstrap >/dev/null || die "debootstrap missing: hack/kind/install-deps.sh"
  local root=$WORKDIR/rootfs-$DEBIAN_SUITE mirror
  mirror=${DEBIAN_MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)}
  [[ -n $mirror ]] || mirror=http://deb.debian.org/debian
  rm -rf "$root"; mkdir -p "$root"
  log "debootstrap $DEBIAN_SUITE from $mirror (log: $LOGS/debootstrap.log)"
  nice -n 10 debootstrap --variant=minbase "$DEBIAN_SUITE" "$root" "$mirror" > "$LOGS/debootstrap.log" 2>&1 \
    || { tail -20 "$LOGS/debootstrap.log" >&2; die "debootstrap failed"; }
  # the host's apt sources (suite, -updates, -security), so images built FROM it can apt-get install
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/"; rm -f "$root/etc/apt/sources.list"
  fi
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
  tar -C "$root" --numeric-owner -c . | docker import - "$IMG_DEBIAN" >/dev/null
  rm -rf "$root"
}

static_base() {
  have_image "$IMG_STATIC" && return 0
  local r; r=$(ctx static-rootfs)
  mkdir -p "$r"/{etc/ssl/certs,tmp,var/run,usr/local/bin}
  chmod 1777 "$r/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$r/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' > "$r/etc/group"
  echo 'hosts: files dns' > "$r/etc/nsswitch.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"
  tar -C "$r" --numeric-owner -c . | docker import -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "$IMG_STATIC" >/dev/null
}

kindbase() {
  have_image "$IMG_KINDBASE" && return 0
  local d src; d=$(ctx kindbase)
  src=$(module_dir "sigs.k8s.io/kind@$KIND_VERSION")/images/base/files
  cp -r "$src" "$d/files"; chmod -R u+w "$d/files"
  python3 "$KIND_DIR/images/kindbase/patch_kind_files.py" "$d/files"
  cp "$KIND_DIR/images/kindbase/Dockerfile" "$CRICTL" "$d/"
  nice -n 10 docker build --network host --build-arg BASE_IMAGE="$IMG_DEBIAN" -t "$IMG_KINDBASE" "$d" \
    > "$LOGS/kindbase.log" 2>&1 || { tail -30 "$LOGS/kindbase.log" >&2; die "kindbase build failed"; }
}

# simple_image TAG BINARY DEST: FROM static-base, the binary as entrypoint.
simple_image() {
  local tag=$1 bin=$2 dest=$3 d; d=$(ctx "$(echo "$tag" | tr '/:' '__')")
  cp "$bin" "$d/bin"
  printf 'FROM %s\nCOPY bin %s\nENTRYPOINT ["%s"]\n' "$IMG_STATIC" "$dest" "$dest" > "$d/Dockerfile"
  docker build -q -t "$tag" "$d" >/dev/null
}

COMPONENTS=(
  "registry.k8s.io/kube-apiserver:$K8S_VERSION" "registry.k8s.io/kube-controller-manager:$K8S_VERSION"
  "registry.k8s.io/kube-scheduler:$K8S_VERSION" "registry.k8s.io/kube-proxy:$K8S_VERSION"
  "registry.k8s.io/etcd:$ETCD_TAG" "registry.k8s.io/coredns/coredns:$COREDNS_VERSION"
)
for t in "${PAUSE_TAGS[@]}"; do COMPONENTS+=("registry.k8s.io/pause:$t"); done
COMPONENTS+=("rayctl.local/mini-kindnet:$NODE_KEY")

component_images() {
  local c d
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    simple_image "registry.k8s.io/$c:$K8S_VERSION" "$(K8S_BIN "$c")" "/usr/local/bin/$c"
  done
  simple_image "registry.k8s.io/etcd:$ETCD_TAG" "$ETCD" /usr/local/bin/etcd
  simple_image "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" "$COREDNS" /coredns
  d=$(ctx pause); cp "$PAUSE" "$d/pause"   # FROM scratch, runs as 65535 like upstream
  printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' > "$d/Dockerfile"
  docker build -q -t "registry.k8s.io/pause:${PAUSE_TAGS[0]}" "$d" >/dev/null
  for c in "${PAUSE_TAGS[@]:1}"; do docker tag "registry.k8s.io/pause:${PAUSE_TAGS[0]}" "registry.k8s.io/pause:$c"; done
  # kube-proxy needs iptables (Debian 12 defaults to the nft backend, like the host's docker and the node)
  d=$(ctx kube-proxy); cp "$(K8S_BIN kube-proxy)" "$d/kube-proxy"
  cat > "$d/Dockerfile" <<EOF
FROM $IMG_DEBIAN
RUN apt-get update && apt-get install -y --no-install-recommends iptables nftables conntrack ipset kmod \\
    && apt-get clean && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man
COPY kube-proxy /usr/local/bin/kube-proxy
ENTRYPOINT ["/usr/local/bin/kube-proxy"]
EOF
  docker build --network host -q -t "registry.k8s.io/kube-proxy:$K8S_VERSION" "$d" >/dev/null
  # mini-kindnet: kindnetd's module (sigs.k8s.io/kindnet) is not on the Go proxy; see mini-kindnet/
  d=$(ctx mini-kindnet); cp "$(K8S_BIN kubectl)" "$KIND_DIR/mini-kindnet/mini-kindnet.sh" "$d/"
  cat > "$d/Dockerfile" <<EOF
FROM $IMG_DEBIAN
RUN apt-get update && apt-get install -y --no-install-recommends iproute2 \\
    && apt-get clean && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man
COPY kubectl /usr/local/bin/kubectl
COPY mini-kindnet.sh /usr/local/bin/mini-kindnet
RUN chmod 0755 /usr/local/bin/mini-kindnet /usr/local/bin/kubectl
ENTRYPOINT ["/usr/local/bin/mini-kindnet"]
EOF
  docker build --network host -q -t "rayctl.local/mini-kindnet:$NODE_KEY" "$d" >/dev/null
}

# node_image: kind's pkg/build/nodeimage/buildcontext.go, with `ctr images import` from our dockerd instead of pulls.
node_image() {
  local id=rayctl-node-build-$$ img
  docker rm -f -v "$id" >/dev/null 2>&1 || true
  docker run -d --entrypoint=sleep --name "$id" --security-opt seccomp=unconfined "$IMG_KINDBASE" infinity >/dev/null
  trap 'docker rm -f -v "'"$id"'" >/dev/null 2>&1 || true' EXIT
  for b in kubeadm kubelet kubectl; do
    docker cp "$(K8S_BIN "$b")" "$id:/usr/bin/$b"
    docker exec "$id" chmod 0755 "/usr/bin/$b"
    docker exec "$id" chown root:root "/usr/bin/$b"
  done
  echo -n "$K8S_VERSION" | docker exec -i "$id" cp /dev/stdin /kind/version
  docker exec "$id" mkdir -p /kind/manifests
  sed "s|image: local/mini-kindnet:v1|image: rayctl.local/mini-kindnet:$NODE_KEY|" "$KIND_DIR/mini-kindnet/default-cni.yaml" \
    | docker exec -i "$id" cp /dev/stdin /kind/manifests/default-cni.yaml
  docker exec "$id" grep -q "rayctl.local/mini-kindnet:$NODE_KEY" /kind/manifests/default-cni.yaml
  # no /kind/manifests/default-storage.yaml: kind then applies its legacy host-path StorageClass (no extra image)
  docker exec "$id" bash -c 'nohup containerd > /tmp/containerd.log 2>&1 & echo $! > /tmp/containerd.pid'
  docker exec "$id" bash -c 'for i in $(seq 1 30); do [ -S /run/containerd/containerd.sock ] && ctr version >/dev/null 2>&1 && exit 0; sleep 0.5; done; cat /tmp/containerd.log; exit 1'
  for img in "${COMPONENTS[@]}"; do
    docker save "$img" | docker exec -i "$id" ctr --namespace=k8s.io images import --all-platforms --no-unpack --digests - >/dev/null
  done
  local want have
  want=$(docker exec "$id" kubeadm config images list --kubernetes-version "$K8S_VERSION" | sort)
  have=$(docker exec "$id" ctr --namespace=k8s.io images list -q | grep -v '^sha256:' | sort)
  for img in $want; do grep -qx "$img" <<<"$have" || die "node image lacks $img (kubeadm wants: $want)"; done
  docker exec "$id" bash -c 'p=$(cat /tmp/containerd.pid); kill $p; for i in $(seq 1 20); do kill -0 $p 2>/dev/null || break; sleep 0.5; done; rm -f /tmp/containerd.pid /tmp/containerd.log'
  docker commit \
    --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
    --change 'ENV HTTP_PROXY="" HTTPS_PROXY="" NO_PROXY=""' \
    "$id" "$NODE_IMAGE" >/dev/null
  docker rm -f -v "$id" >/dev/null
  trap - EXIT
}

if [[ ${1:-} == --base-only ]]; then  # the parts that need no Kubernetes binary (e.g. while those still compile)
  timed debian-base debian_base
  timed static-base static_base
  exit 0
fi
if ! have_image "$NODE_IMAGE"; then
  [[ -x $CRICTL ]] || die "$CRICTL missing: hack/kind/binaries.sh"
  timed debian-base debian_base
  timed static-base static_base
  timed kindbase kindbase
  check_binaries
  timed component-images component_images
  timed node-image node_image
  prune_old rayctl.local/kind-node "${NODE_IMAGE##*:}"
  prune_old rayctl.local/kindbase "${IMG_KINDBASE##*:}"
  log "built $NODE_IMAGE ($(docker image inspect -f '{{.Size}}' "$NODE_IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
fi
echo "$NODE_IMAGE"
