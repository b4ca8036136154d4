#!/usr/bin/env bash
# A real image registry for the `docker` molecule scenario (issue #6): Debian's
# docker-registry on the host's loopback only (127.0.0.1:${HEDGE_REGISTRY_PORT:-5000}),
# basic auth from an htpasswd file, holding gpt-hedge:v7.5 and gpt-hedge:v7.6
# built from the simulator's origin tags (docker/engine/Dockerfile).
# Prints the registry address. Idempotent: reuses a registry that answers and
# images whose inputs did not change.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${HEDGE_REGISTRY_PORT:-5000}"
ADDR="127.0.0.1:${PORT}"
STATE="${HEDGE_REGISTRY_STATE:-/var/lib/gpt-hedge-registry}"
USER_NAME="${HEDGE_REGISTRY_USER:-hedge-ci}"
# A throwaway credential for the throwaway registry; molecule reads it from this file.
PASSWORD_FILE="$STATE/password"
# FROM the runtime-box image (scripts/build_box_image.sh): python3 and supervisord, no network.
BASE_IMAGE="${BASE_IMAGE:-gpt-hedge-box:latest}"

if ! command -v docker-registry >/dev/null || ! command -v htpasswd >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry apache2-utils >/dev/null
fi
mkdir -p "$STATE/data"
if [ ! -s "$PASSWORD_FILE" ]; then
  (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$PASSWORD_FILE")
fi
htpasswd -Bbc "$STATE/htpasswd" "$USER_NAME" "$(cat "$PASSWORD_FILE")" 2>/dev/null

cat >"$STATE/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/data
  delete:
    enabled: true
http:
  addr: $ADDR
auth:
  htpasswd:
    realm: gpt-hedge-ci
    path: $STATE/htpasswd
YAML

answers() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/v2/" || true)" = 401 ]; }
if ! answers; then
  nohup docker-registry serve "$STATE/config.yml" >"$STATE/registry.log" 2>&1 &
  for _ in $(seq 1 50); do answers && break; sleep 0.2; done
  answers || { echo "registry on $ADDR did not answer; see $STATE/registry.log" >&2; exit 1; }
fi
docker login -u "$USER_NAME" --password-stdin "$ADDR" <"$PASSWORD_FILE" >/dev/null

# Engine images, one per origin tag of the simulator.
work="$(mktemp -d /tmp/gpt-hedge-engine.XXXXXX)"
trap 'rm -rf "$work"' EXIT
python3 tests/box/make_origin.py --dest "$work/origin.git" >/dev/null
for version in v7.5 v7.6; do
  mkdir -p "$work/$version"
  git -C "$work/origin.git" archive "$version" | tar -x -C "$work/$version"
  cp docker/engine/Dockerfile docker/engine/supervisord.conf "$work/$version/"
  hash="$( (docker image inspect -f "{{.Id}}" "$BASE_IMAGE"; cd "$work/$version" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16)"
  ref="$ADDR/gpt-hedge:$version"
  if [ "$(docker image inspect -f '{{index .Config.Labels "org.gpt-hedge.inputs"}}' "$ref" 2>/dev/null || true)" != "$hash" ]; then
    docker build --network none -q -f "$work/$version/Dockerfile" --build-arg BASE_IMAGE="$BASE_IMAGE" \
      --build-arg VERSION="$version" --label "org.gpt-hedge.inputs=$hash" -t "$ref" "$work/$version" >/dev/null
  fi
  docker push -q "$ref" >/dev/null
done
# A tag whose image is another release (v7.6's, labelled v7.6): GATE preflight.image_version.
docker tag "$ADDR/gpt-hedge:v7.6" "$ADDR/gpt-hedge:v7.9-mislabelled"
docker push -q "$ADDR/gpt-hedge:v7.9-mislabelled" >/dev/null
docker logout "$ADDR" >/dev/null
echo "$ADDR"
