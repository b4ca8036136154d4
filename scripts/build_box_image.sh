#!/usr/bin/env bash
# Build the runtime-box image gpt-hedge-box (tagged :latest and :<inputs hash>)
# only when its inputs change. The base is a debootstrap of bookworm from the
# Debian mirror configured in apt's sources (no image registry needed).
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE="${BOX_IMAGE:-gpt-hedge-box}"
# docker-compose (v1, with python3-docker) lets a box run the runbook's option B
# against the host's engine (molecule scenario `docker`).
PACKAGES=supervisor,git,python3,python3-venv,python3-pytest,make,curl,jq,procps,ca-certificates,docker-compose,python3-docker
# The base is named after its package list, so a new list builds a new base.
BASE_IMAGE="${BASE_IMAGE:-gpt-hedge-base:bookworm-$(echo "$PACKAGES" | sha256sum | cut -c1-8)}"

mirror() {
  local uri
  uri="$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -1 || true)"
  if [ -z "$uri" ]; then
    uri="$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' | grep -v security | head -1 || true)"
  fi
  echo "${uri:?no Debian mirror found in apt sources}"
}

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  if [[ "$BASE_IMAGE" == gpt-hedge-base:bookworm* ]]; then
    rootfs="$(mktemp -d /tmp/gpt-hedge-rootfs.XXXXXX)"
    echo "== debootstrap bookworm ($PACKAGES) from $(mirror)"
    debootstrap --variant=minbase --include="$PACKAGES" bookworm "$rootfs" "$(mirror)" >/tmp/debootstrap.log 2>&1 \
      || { tail -20 /tmp/debootstrap.log; exit 1; }
    tar -C "$rootfs" -c . | docker import - "$BASE_IMAGE" >/dev/null
    rm -rf "$rootfs"
  else
    docker pull "$BASE_IMAGE"
  fi
fi

hash="$( (echo "$BASE_IMAGE"; cat docker/runtime-box/Dockerfile; \
          find tests/box -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum) \
        | sha256sum | cut -c1-16)"
if docker image inspect "$IMAGE:$hash" >/dev/null 2>&1; then
  echo "== $IMAGE:$hash is up to date"
else
  echo "== building $IMAGE:$hash"
  docker build --network none -q -f docker/runtime-box/Dockerfile --build-arg BASE_IMAGE="$BASE_IMAGE" \
    -t "$IMAGE:$hash" tests/box >/dev/null
fi
docker tag "$IMAGE:$hash" "$IMAGE:latest"
echo "$IMAGE:$hash"
