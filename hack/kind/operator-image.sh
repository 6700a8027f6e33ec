#!/usr/bin/env bash
# rayctl.local/kuberay-operator:<version>: the operator binary hack/controlplane/build.sh builds (CGO_ENABLED=0),
# FROM the static base, USER 65532 (its Deployment is runAsNonRoot). Prints the tag.
#   hack/kind/operator-image.sh [--print-tag]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [[ ${1:-} == --print-tag ]]; then echo "$IMG_OPERATOR"; exit 0; fi
require_dockerd
if ! have_image "$IMG_OPERATOR"; then
  bin=$BIN/kuberay-operator-$KUBERAY_VERSION/kuberay-operator
  [[ -x $bin ]] || die "$bin missing: hack/kind/binaries.sh"
  have_image "$IMG_STATIC" || bash "$KIND_DIR/node-image.sh" --base-only >/dev/null
  d=$WORKDIR/ctx/kuberay-operator; rm -rf "$d"; mkdir -p "$d"; cp "$bin" "$d/manager"
  printf 'FROM %s\nCOPY manager /manager\nUSER 65532:65532\nENTRYPOINT ["/manager"]\n' "$IMG_STATIC" > "$d/Dockerfile"
  docker build -q -t "$IMG_OPERATOR" "$d" >/dev/null
  rm -rf "$d"
fi
echo "$IMG_OPERATOR"
