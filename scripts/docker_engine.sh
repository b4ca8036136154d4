#!/usr/bin/env bash
# Make sure a Docker engine answers (../shared/CONTAINERS.md): install docker.io
# and debootstrap when missing, start dockerd with loopback-only containers.
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
fi
nohup dockerd --bridge=none --iptables=false --ip-forward=false >/var/log/dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 1
done
echo "dockerd did not answer within 60 s; see /var/log/dockerd.log" >&2
exit 1
