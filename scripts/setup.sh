#!/usr/bin/env bash
# One-time (idempotent) set-up of a development/test machine.
#  - Debian packages the tests need (podman, runc, debootstrap, iptables, git), installed
#    only when missing and only when running as root on Debian/Ubuntu.
#  - .venv with the pinned tooling (requirements-dev.txt + constraints-dev.txt); rebuilt
#    when those files change (stamp: .venv/.rampart-stamp).
#   scripts/setup.sh [--no-system]     --no-system: skip apt (unit tests, lint, sanity need no root)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

system=1
[ "${1:-}" = "--no-system" ] && system=0

if [ $system = 1 ]; then
  need=()
  for pair in podman:podman runc:runc debootstrap:debootstrap iptables:iptables git:git ip:iproute2 \
              python3:python3 ssh:openssh-client sshpass:sshpass shellcheck:shellcheck; do
    cmd=${pair%%:*}; pkg=${pair#*:}
    command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
  done
  # The harness pins podman's netavark network backend (tests/containers.conf): with it the
  # host's bridge takes the .1 of every --internal network, so the controller reaches the
  # containers over real SSH (molecule/safety). Debian's podman without recommends brings
  # the CNI backend only, whose internal networks give the host no address.
  for pkg in netavark aardvark-dns; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
  done
  # python3 -m venv needs python3-venv on Debian's own Python
  python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
      echo "setup: missing ${need[*]}; install them (as root: apt-get install ${need[*]})" >&2
      exit 1
    fi
    echo "setup: apt-get install ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

stamp=$(cat requirements-dev.txt constraints-dev.txt | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.rampart-stamp 2>/dev/null)" != "$stamp" ]; then
  echo "setup: creating .venv (requirements $stamp)"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt -c constraints-dev.txt 2>&1 \
    | grep -v "is neither a file nor a directory" || true
  .venv/bin/python -c 'import molecule, testinfra, ansible, hypothesis' 
  echo "$stamp" > .venv/.rampart-stamp
fi
