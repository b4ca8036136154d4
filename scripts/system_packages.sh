#!/usr/bin/env bash
# Debian packages the tests need on the machine itself (tests/integration/sshlib.py):
# openssh-server (a real sshd on the loopback), sudo (the operators' become) and
# acl (setfacl: Ansible hands an async module file to the service account).
# Installed only when missing; run before anything else uses apt (scripts/test.sh).
set -euo pipefail
missing=()
command -v /usr/sbin/sshd >/dev/null || missing+=(openssh-server)
command -v sudo >/dev/null || missing+=(sudo)
command -v setfacl >/dev/null || missing+=(acl)
command -v ssh-agent >/dev/null || missing+=(openssh-client)
[ ${#missing[@]} -eq 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
  || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
echo "installed: ${missing[*]}"
