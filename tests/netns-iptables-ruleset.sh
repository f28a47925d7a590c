#!/usr/bin/env bash
# Smoke test of rampart.firewall.iptables_ruleset against real iptables, in a private network
# namespace (the host's own firewall is never touched). Needs root, iptables and ip(8).
#   tests/netns-iptables-ruleset.sh            # the iptables alternative in use (nft on Debian 12)
#   tests/netns-iptables-ruleset.sh legacy     # iptables-legacy-save / -restore
# Nothing is persisted to /etc: every task sets persist_path (a temporary file: no boot service
# is enabled for it) or persist=false; the backup files it creates are removed at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
ns="rampart-ruleset-$$"
work=$(mktemp -d /tmp/rampart-netns.XXXXXX)

cleanup() {
  ip netns del "$ns" 2>/dev/null || true
  if [ -f "$work/backups" ]; then
    while read -r f; do [ -n "$f" ] && rm -f -- "$f"; done < "$work/backups"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ]; then
  echo "netns smoke test: needs root, skipped" >&2
  exit 0
fi

backend=${1:-default}
mkdir -p "$work/collections/ansible_collections/rampart" "$work/bin"
if [ "$backend" = legacy ]; then
  for f in iptables-save iptables-restore ip6tables-save ip6tables-restore; do
    ln -s "$(command -v "${f%%-*}-legacy-${f#*-}")" "$work/bin/$f"
  done
fi
ln -s "$root" "$work/collections/ansible_collections/rampart/firewall"
ip netns add "$ns"

# podman/netavark chains as they are live before the module runs.
cat > "$work/netavark.v4" <<'EOF'
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:NETAVARK-HOSTPORT-DNAT - [0:0]
:NETAVARK-HOSTPORT-MASQ - [0:0]
:NETAVARK-HOSTPORT-SETMARK - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT
-A OUTPUT -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT
-A POSTROUTING -j NETAVARK-HOSTPORT-MASQ
-A NETAVARK-HOSTPORT-MASQ -m comment --comment "netavark portfw masq mark" -m mark --mark 0x2000/0x2000 -j MASQUERADE
-A NETAVARK-HOSTPORT-SETMARK -j MARK --set-xmark 0x2000/0x2000
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:NETAVARK_FORWARD - [0:0]
-A FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD
COMMIT
EOF
PATH="$work/bin:$PATH" ip netns exec "$ns" iptables-restore < "$work/netavark.v4"

cat > "$work/rules.v4.j2" <<'EOF'
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp --icmp-type echo-request -j ACCEPT
{% for port in ports %}
-A INPUT -p tcp --dport {{ port }} -j ACCEPT
{% endfor %}
COMMIT
EOF

cat > "$work/playbook.yml" <<'EOF'
- name: Smoke test of rampart.firewall.iptables_ruleset
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    work: "{{ lookup('ansible.builtin.env', 'RAMPART_WORK') }}"
    ports: [22, 80, 443]
    web: |
      *filter
      :INPUT   DROP   [0:0]
      :FORWARD DROP   [0:0]
      :OUTPUT  ACCEPT [0:0]
      -A INPUT -i lo -j ACCEPT
      -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
      -A INPUT -p icmp --icmp-type echo-request -j ACCEPT
      -A INPUT -p tcp --dport 22 -j ACCEPT
      -A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT
      COMMIT
      *nat
      :PREROUTING ACCEPT [0:0]
      :INPUT ACCEPT [0:0]
      :OUTPUT ACCEPT [0:0]
      :POSTROUTING ACCEPT [0:0]
      -A POSTROUTING -o eth0 -j MASQUERADE
      COMMIT
  tasks:
    - name: Check mode predicts a change and changes nothing
      rampart.firewall.iptables_ruleset:
        content: "{{ web }}"
        persist_path: "{{ work }}/persisted.v4"
      check_mode: true
      diff: true
      register: r
    - name: Assert check mode
      ansible.builtin.assert:
        that:
          - r is changed
          - r.persist_changed
          - r.diff | length == 3
          - r.kept_chains | length == 4
          - "'{{ work }}/persisted.v4' is not ansible.builtin.exists"

    - name: Apply (user spelling), netavark chains kept
      rampart.firewall.iptables_ruleset:
        content: "{{ web }}"
        persist_path: "{{ work }}/persisted.v4"
        backup: true
      register: r
    - name: Record the backup
      ansible.builtin.lineinfile:
        path: "{{ work }}/backups"
        line: "{{ r.backup_file }}"
        create: true
        mode: "0600"
    - name: Assert apply
      ansible.builtin.assert:
        that:
          - r is changed
          - r.persist_changed
          - r.tables == ['nat', 'filter']
          - r.kept_chains | map(attribute='chain') | list == ['NETAVARK-HOSTPORT-DNAT', 'NETAVARK-HOSTPORT-MASQ', 'NETAVARK-HOSTPORT-SETMARK', 'NETAVARK_FORWARD']
          - "'NETAVARK' not in lookup('ansible.builtin.file', work ~ '/persisted.v4')"
          - lookup('ansible.builtin.file', r.backup_file) is search('NETAVARK_FORWARD')

    - name: Re-apply is unchanged
      rampart.firewall.iptables_ruleset:
        content: "{{ web }}"
        persist_path: "{{ work }}/persisted.v4"
      register: r
    - name: Assert idempotence
      ansible.builtin.assert:
        that:
          - r is not changed
          - not r.persist_changed

    - name: Gather
      rampart.firewall.iptables_ruleset:
        state: gathered
      register: live
    - name: Assert gathered
      ansible.builtin.assert:
        that:
          - live is not changed
          - live.gathered.filter.INPUT.policy == 'DROP'
          - live.gathered.filter.FORWARD.rules[0] is search('NETAVARK_FORWARD')
          - live.gathered.filter.NETAVARK_FORWARD.foreign
          - live.gathered.nat.POSTROUTING.rules == ['-j NETAVARK-HOSTPORT-MASQ', '-o eth0 -j MASQUERADE']

    - name: Render a ruleset on the target
      ansible.builtin.template:
        src: "{{ work }}/rules.v4.j2"
        dest: "{{ work }}/rules.v4"
        mode: "0600"
    - name: Apply it from src (filter only, nat untouched)
      rampart.firewall.iptables_ruleset:
        src: "{{ work }}/rules.v4"
        persist_path: "{{ work }}/persisted.v4"
      register: r
    - name: Assert src
      ansible.builtin.assert:
        that:
          - r is changed
          - r.tables == ['filter']
    - name: Same rules rendered on the controller
      rampart.firewall.iptables_ruleset:
        content: "{{ lookup('ansible.builtin.template', work ~ '/rules.v4.j2') }}"
        persist_path: "{{ work }}/persisted.v4"
      register: r
    - name: Assert unchanged
      ansible.builtin.assert:
        that: r is not changed

    - name: A ruleset the parser rejects
      rampart.firewall.iptables_ruleset:
        content: "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 70000 -j ACCEPT\nCOMMIT\n"
        persist: false
      register: r
      ignore_errors: true
    - name: Assert parse error
      ansible.builtin.assert:
        that:
          - r is failed
          - r.lineno == 3
          - r.field == '--dport'
          - r.value == '70000'

    - name: A ruleset the kernel rejects (missing ipset)
      rampart.firewall.iptables_ruleset:
        content: "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -m set --match-set nosuchset src -j DROP\nCOMMIT\n"
        persist: false
      register: r
      ignore_errors: true
    - name: Assert restore --test error
      ansible.builtin.assert:
        that:
          - r is failed
          - r is not changed
          - r.line == '-A INPUT -m set --match-set nosuchset src -j DROP'
          - r.msg is search('line 6 of the desired ruleset')
          - r.before is search('NETAVARK_FORWARD')

    - name: IPv6
      rampart.firewall.iptables_ruleset:
        family: ipv6
        persist: false
        content: |
          *filter
          :INPUT DROP [0:0]
          :FORWARD DROP [0:0]
          :OUTPUT ACCEPT [0:0]
          -A INPUT -i lo -j ACCEPT
          -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
          -A INPUT -p ipv6-icmp -j ACCEPT
          -A INPUT -p tcp --dport 22 -j ACCEPT
          COMMIT
      register: r
    - name: Read the live IPv6 ruleset with ip6tables-save
      ansible.builtin.command: ip6tables-save
      changed_when: false
      register: saved
    - name: IPv6 again, in ip6tables-save spelling
      rampart.firewall.iptables_ruleset:
        family: ipv6
        persist: false
        content: "{{ saved.stdout }}"
      register: r2
    - name: Assert IPv6
      ansible.builtin.assert:
        that:
          - r is changed
          - r2 is not changed

    - name: Own every chain
      rampart.firewall.iptables_ruleset:
        src: "{{ work }}/rules.v4"
        persist_path: "{{ work }}/persisted.v4"
        preserve_chains: []
      register: r
    - name: Assert foreign chains gone
      ansible.builtin.assert:
        that:
          - r is changed
          - r.kept_chains == []
          - "'NETAVARK' not in r.after"
EOF

cd "$work"
ip netns exec "$ns" env PATH="$work/bin:$PATH" RAMPART_WORK="$work" ANSIBLE_COLLECTIONS_PATH="$work/collections" \
  ANSIBLE_PYTHON_INTERPRETER="$venv/bin/python" ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false \
  "$venv/bin/ansible-playbook" -i localhost, "$work/playbook.yml"
echo "netns smoke test ($backend): passed"
