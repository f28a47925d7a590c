#!/usr/bin/env bash
# Build the test images from Debian packages with debootstrap + `podman import`.
# Nothing can be pulled from a registry on the CI machines, so images are made here.
#
#   images/build.sh [SUITE...]      default: bookworm trixie
#
# SUITE may carry a variant: bookworm-docker is bookworm plus real neighbours, the Docker
# engine (docker.io, with crun as its runtime: runc cannot start containers inside these
# podman containers) and fail2ban (sshd jail on the systemd journal), and /opt/rampart/
# busybox.tar, a Docker image tarball made from busybox-static (no registry to pull from;
# `docker import` it once dockerd runs), and CrowdSec with its firewall bouncer (iptables mode,
# offline: no registration with CrowdSec's online API).
#
# An image is rebuilt only when it is missing or when its recipe (this file) changed:
# the recipe hash is stored as the image label rampart.recipe.
# Image names: localhost/rampart-test:SUITE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/../tests/containers.conf}"

# The harness needs podman's netavark network backend (tests/containers.conf pins it,
# scripts/setup.sh installs it): with CNI, the controller cannot reach containers on
# --internal networks (scripts/fleet.py explains). Say so now, not in a scenario's timeout.
backend=$(podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null || true)
if [ "$backend" != netavark ]; then
  echo "podman's network backend is '$backend' (CONTAINERS_CONF=$CONTAINERS_CONF); the tests need netavark." >&2
  echo "Fix: scripts/setup.sh installs netavark and aardvark-dns; tests/containers.conf sets network_backend = \"netavark\"." >&2
  exit 1
fi

PACKAGES=systemd,systemd-sysv,dbus,iptables,iptables-persistent,ipset,ipset-persistent,python3,python3-apt,iproute2,procps,netcat-openbsd,openssh-server,iputils-ping,kmod
recipe=$(sha256sum "$here/build.sh" | cut -c1-16)

DOCKER_PACKAGES=docker.io,crun,fail2ban,python3-systemd,busybox-static,iputils-ping
# installed after debootstrap, once the offline trick is in place (see below): crowdsec crowdsec-firewall-bouncer

build() {
  local tag=$1 image="localhost/rampart-test:$1"
  local suite=${tag%%-*} variant=""
  [ "$suite" != "$tag" ] && variant=${tag#*-}
  local packages=$PACKAGES
  case "$variant" in
    "") ;;
    docker) packages=$PACKAGES,$DOCKER_PACKAGES ;;
    *) echo "unknown image variant '$variant' (known: docker)" >&2; return 1 ;;
  esac
  if podman image exists "$image"; then
    local have
    have=$(podman image inspect --format '{{ index .Labels "rampart.recipe" }}' "$image" 2>/dev/null || true)
    if [ "$have" = "$recipe" ]; then
      echo "image $image is up to date (recipe $recipe)"
      return 0
    fi
    echo "image $image has recipe '$have', want $recipe: rebuilding"
  fi
  local root
  root=$(mktemp -d "/var/tmp/rampart-rootfs-$tag.XXXXXX")
  trap 'rm -rf "$root"' RETURN
  echo "debootstrap $suite ($tag) into $root"
  local start=$SECONDS
  # iptables-persistent asks a debconf question at install time: pre-answer it.
  DEBIAN_FRONTEND=noninteractive debootstrap --variant=minbase --include="$packages" "$suite" "$root" >"$root.log" 2>&1 \
    || { tail -30 "$root.log"; echo "debootstrap $suite failed (log: $root.log)"; return 1; }
  rm -f "$root.log"
  # A container needs no getty, and must not wait for udev settle or resolve via the host's stub.
  chroot "$root" systemctl mask getty@tty1.service serial-getty@.service systemd-udevd.service \
    systemd-udev-trigger.service systemd-resolved.service systemd-timesyncd.service >/dev/null 2>&1 || true
  chroot "$root" systemctl enable netfilter-persistent.service ssh.service >/dev/null 2>&1 || true
  # iptables-persistent saves the rules it finds at install time, and the chroot shares the build
  # machine's network namespace: its rules (podman's NETAVARK chains when containers run) would load at
  # every boot of every test container. Start from empty tables, as a freshly installed server does.
  printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n' >"$root/etc/iptables/rules.v4"
  printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n' >"$root/etc/iptables/rules.v6"
  : >"$root/etc/iptables/ipsets"
  # sshd host keys are generated at package install; drop them so each container makes its own.
  rm -f "$root"/etc/ssh/ssh_host_*
  mkdir -p "$root/etc/systemd/system/ssh.service.d"
  printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' >"$root/etc/systemd/system/ssh.service.d/keys.conf"
  echo 'rampart-test' >"$root/etc/hostname"
  if [ "$variant" = docker ]; then
    mkdir -p "$root/etc/docker" "$root/opt/rampart/busybox/bin" "$root/opt/rampart/busybox/www"
    # IPv6 with Docker's own ip6tables rules (the default from Docker 27 on; 20.10 needs experimental)
    printf '{"runtimes": {"crun": {"path": "/usr/bin/crun"}}, "default-runtime": "crun", "storage-driver": "vfs", %s}\n' \
      '"ipv6": true, "fixed-cidr-v6": "fd00:d0c::/64", "experimental": true, "ip6tables": true' \
      >"$root/etc/docker/daemon.json"
    printf '[sshd]\nenabled = true\nbackend = systemd\n' >"$root/etc/fail2ban/jail.d/rampart-test.conf"
    chroot "$root" systemctl enable docker.service fail2ban.service >/dev/null 2>&1 || true
    cp "$root/bin/busybox" "$root/opt/rampart/busybox/bin/busybox"
    for applet in sh httpd nc sleep cat echo; do ln -s busybox "$root/opt/rampart/busybox/bin/$applet"; done
    echo 'hello from a docker container' >"$root/opt/rampart/busybox/www/index.html"
    tar -C "$root/opt/rampart/busybox" -cf "$root/opt/rampart/busybox.tar" .
    rm -rf "$root/opt/rampart/busybox"
    # CrowdSec and its firewall bouncer from Debian, offline: a non-empty online_api_credentials.yaml
    # before the install makes the package skip the online registration (it sets up its offline hub);
    # its local API moves to 8089 (Docker publishes 8080 here); the bouncer in iptables mode bans with
    # the sets crowdsec-blacklists / crowdsec6-blacklists and a DROP rule straight in INPUT.
    mkdir -p "$root/etc/crowdsec/bouncers" "$root/etc/crowdsec/acquis.d"
    printf 'url: https://api.crowdsec.net/\nlogin: rampart-offline\npassword: rampart-offline\n' \
      >"$root/etc/crowdsec/online_api_credentials.yaml"
    printf 'source: journalctl\njournalctl_filter:\n  - _SYSTEMD_UNIT=ssh.service\nlabels:\n  type: syslog\n' \
      >"$root/etc/crowdsec/acquis.d/rampart-test.yaml"
    # no service starts inside the chroot (policy-rc.d, read by deb-systemd-invoke)
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod 755 "$root/usr/sbin/policy-rc.d"
    mount -t proc proc "$root/proc"
    DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y --no-install-recommends \
      crowdsec crowdsec-firewall-bouncer >"$root.crowdsec.log" 2>&1 || { tail -30 "$root.crowdsec.log"; umount "$root/proc"; return 1; }
    umount "$root/proc"
    rm -f "$root.crowdsec.log" "$root/usr/sbin/policy-rc.d"
    sed -i 's#127.0.0.1:8080#127.0.0.1:8089#g' "$root/etc/crowdsec/config.yaml" "$root/etc/crowdsec/local_api_credentials.yaml"
    # the package wrote its override (mode, and the api_key of its registration): iptables mode, our port
    sed -i 's/^mode: .*/mode: iptables/' "$root/etc/crowdsec/bouncers/crowdsec-firewall-bouncer.yaml.local"
    grep -q '^api_key: ' "$root/etc/crowdsec/bouncers/crowdsec-firewall-bouncer.yaml.local" \
      || { echo "crowdsec-firewall-bouncer was not registered"; return 1; }
    printf 'api_url: http://127.0.0.1:8089/\n' >>"$root/etc/crowdsec/bouncers/crowdsec-firewall-bouncer.yaml.local"
    # Debian's unit orders the bouncer Before=netfilter-persistent.service and After=network.target, a cycle
    # (netfilter-persistent is Before=network-pre.target): systemd breaks it and restores the persisted rules
    # after Docker and the bouncer started, which drops their rules. As an administrator would: after it.
    sed -e '/^Before=netfilter-persistent.service$/d' -e 's/^After=\(.*\)$/After=\1 netfilter-persistent.service/' \
      "$root/lib/systemd/system/crowdsec-firewall-bouncer.service" >"$root/etc/systemd/system/crowdsec-firewall-bouncer.service"
    chroot "$root" systemctl enable crowdsec.service crowdsec-firewall-bouncer.service >/dev/null 2>&1 || true
  fi
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | podman import \
    --change 'CMD ["/lib/systemd/systemd"]' \
    --change "LABEL rampart.recipe=$recipe" \
    --change "LABEL rampart.suite=$suite" \
    --change "LABEL rampart.variant=$variant" \
    - "$image" >/dev/null
  echo "built $image in $((SECONDS - start)) s (recipe $recipe)"
}

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(bookworm trixie)
# The images are built side by side (debootstrap mostly waits for the mirror); each build's
# status is collected, and any failure fails the whole run.
pids=()
for s in "${suites[@]}"; do build "$s" & pids+=($!); done
rc=0
for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
exit $rc
