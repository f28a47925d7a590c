#!/bin/sh
# Plays the part of software the collection does not own (run inside a test container):
# the chains and jumps netavark, Docker and fail2ban create, in both families, made with
# plain iptables commands the way those programs do it. Every apply must keep them.
# (On this harness netavark keeps its own chains in the host's namespace, not in the
# containers', so the scenarios bring their own foreign chains.)
set -e
for ipt in iptables ip6tables; do
  $ipt -N NETAVARK_FORWARD 2>/dev/null || true
  $ipt -C FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD 2>/dev/null ||
    $ipt -I FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD
  $ipt -C NETAVARK_FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT 2>/dev/null ||
    $ipt -A NETAVARK_FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
  $ipt -t nat -N NETAVARK-HOSTPORT-DNAT 2>/dev/null || true
  $ipt -t nat -C PREROUTING -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT 2>/dev/null ||
    $ipt -t nat -I PREROUTING -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT
  $ipt -N DOCKER-USER 2>/dev/null || true
  $ipt -C DOCKER-USER -j RETURN 2>/dev/null || $ipt -A DOCKER-USER -j RETURN
  $ipt -C FORWARD -j DOCKER-USER 2>/dev/null || $ipt -I FORWARD -j DOCKER-USER
  $ipt -N f2b-sshd 2>/dev/null || true
  $ipt -C f2b-sshd -j RETURN 2>/dev/null || $ipt -A f2b-sshd -j RETURN
  $ipt -C INPUT -p tcp -m multiport --dports 22 -j f2b-sshd 2>/dev/null ||
    $ipt -I INPUT -p tcp -m multiport --dports 22 -j f2b-sshd
done
