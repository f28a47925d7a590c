"""Write the demo's Ansible inventory from its fleet spec (demo/fleet.json).

    python3 demo/inventory.py demo/fleet.json OUT.yml

Groups: single_hosts, routers, bastions (by the "role" of each platform, as playbooks/site.yml
expects), and others. Ansible reaches the containers with the containers.podman.podman
connection. The role variables use the addresses of the spec:
  - demo-web: a web VPS, SSH (brute-force protected), HTTP and HTTPS open;
  - demo-router: NAT for the LAN, port 8080 of its WAN address forwarded to demo-lanclient:80;
    the demo's "internet" is a private network, so it is exempted from the anti-spoofing;
  - demo-bastion: SSH from the inventory group admins only (demo-wanhost), through the address
    sets admins/admins6 filled from the group's facts (demo/site.yml gathers them first), SSH out
    to the internal network;
  - demo-db: a database host (single_host), PostgreSQL's 5432 open to the inventory group web
    (demo-web) only, through the sets web/web6.
Every firewalled host declares what must hold with real packets (<role>_confirm_probes): checked
inside the confirm-or-revert window by the roles, and reported for the whole fleet by
playbooks/reachability.yml. They come from the groups internet (demo-wanhost), lan
(demo-lanclient), web, admins, from the bastion itself, and from the controller. The containers
are reached by name (podman connection), so every probe names the address it probes (host).
The output is JSON, which is YAML too.
"""
import json
import sys


def net(platform, name):
    for entry in platform['networks']:
        if entry['name'] == name:
            return entry
    raise KeyError('%s is not on %s' % (platform['name'], name))


def subnets(entry):
    return [entry['ipv4_address'].rsplit('.', 1)[0] + '.0/24', entry['ipv6_address'].rsplit(':', 1)[0] + ':/64']


def interfaces(address, last):
    """A Jinja expression, evaluated with the host's facts: the interface(s) holding ADDRESS.
    (podman names the interfaces of a container eth0, eth1... in an order of its own.)"""
    return ("{{ ansible_facts.interfaces | map('extract', ansible_facts) | selectattr('ipv4', 'defined')"
            " | selectattr('ipv4.address', 'equalto', '%s') | map(attribute='device') | %s }}" % (address, last))


def probes(fleet):
    """The declared probes of each firewalled host (host -> list), addresses from the fleet spec."""
    def addr(name, network, six=False):
        return net(fleet[name], network)['ipv6_address' if six else 'ipv4_address']
    web4, web6 = addr('demo-web', 'rampart-demo-net'), addr('demo-web', 'rampart-demo-net', True)
    db4, db6 = addr('demo-db', 'rampart-demo-net'), addr('demo-db', 'rampart-demo-net', True)
    wan4, wan6 = addr('demo-wanhost', 'rampart-demo-net'), addr('demo-wanhost', 'rampart-demo-net', True)
    bas4, bas6 = addr('demo-bastion', 'rampart-demo-net'), addr('demo-bastion', 'rampart-demo-net', True)
    inside = addr('demo-internal', 'rampart-demo-internal')
    return {
        'demo-web': [
            {'port': 80, 'host': web4},                                          # from the controller
            {'port': 80, 'from': 'internet', 'host': web4},
            {'port': 80, 'from': 'internet', 'host': web6},
            {'port': 22, 'from': 'internet', 'host': web4},
            {'port': 8080, 'from': 'internet', 'host': web4, 'expect': 'refused'},
            {'port': 8080, 'from': 'internet', 'host': web6, 'expect': 'refused'},
            {'port': 53, 'proto': 'udp', 'from': 'internet', 'host': web4, 'expect': 'refused'},
            {'proto': 'icmp', 'from': 'internet', 'host': web6},
        ],
        'demo-router': [
            # the LAN reaches the internet in both families (NAT: the seen-as address is checked by
            # demo/probes.json). The role sets forwarding inside the window, right after the rules, so
            # these hold on the router's first run too.
            {'port': 8080, 'from': 'lan', 'host': wan4},
            {'port': 8080, 'from': 'lan', 'host': wan6},
            # the port forward to the LAN client, and nothing else from outside
            {'port': 8080, 'from': 'internet', 'host': addr('demo-router', 'rampart-demo-net')},
            {'port': 80, 'from': 'internet', 'host': addr('demo-lanclient', 'rampart-demo-lan'), 'expect': 'refused'},
            {'port': 22, 'from': 'internet', 'host': addr('demo-router', 'rampart-demo-net'), 'expect': 'refused'},
            {'port': 22, 'from': 'lan', 'host': addr('demo-router', 'rampart-demo-lan')},
        ],
        'demo-bastion': [
            {'port': 22, 'from': 'admins', 'host': bas4},
            {'port': 22, 'from': 'admins', 'host': bas6},
            {'port': 22, 'from': 'web', 'host': bas4, 'expect': 'refused'},
            {'port': 22, 'from': 'web', 'host': bas6, 'expect': 'refused'},
            # SSH out to the internal network, nothing else (egress)
            {'port': 22, 'from': 'demo-bastion', 'host': inside},
            {'port': 80, 'from': 'demo-bastion', 'host': inside, 'expect': 'closed'},
            {'port': 80, 'from': 'demo-bastion', 'host': web4, 'expect': 'closed'},
        ],
        'demo-db': [
            {'port': 5432, 'from': 'web', 'host': db4},
            {'port': 5432, 'from': 'web', 'host': db6},
            {'port': 5432, 'from': 'internet', 'host': db4, 'expect': 'refused'},
            {'port': 5432, 'from': 'internet', 'host': db6, 'expect': 'refused'},
            {'port': 5432, 'host': db4, 'expect': 'closed'},                     # the controller is not in web
            {'port': 22, 'from': 'internet', 'host': db4},
        ],
    }


def main(spec_path, out_path):
    with open(spec_path) as handle:
        fleet = {p['name']: p for p in json.load(handle)}
    router, bastion = fleet['demo-router'], fleet['demo-bastion']
    wan, lan = net(router, 'rampart-demo-net'), net(router, 'rampart-demo-lan')
    client = net(fleet['demo-lanclient'], 'rampart-demo-lan')
    internal = net(bastion, 'rampart-demo-internal')
    groups = {'single_hosts': {}, 'routers': {}, 'bastions': {}, 'others': {}}
    for name, plat in fleet.items():
        group = {'single_host': 'single_hosts', 'masquerading_router': 'routers', 'bastion': 'bastions'}.get(plat.get('role'), 'others')
        groups[group][name] = {}
    inventory = {'all': {
        'vars': {
            'ansible_connection': 'containers.podman.podman',
            'ansible_python_interpreter': '/usr/bin/python3',
            'ansible_become': False,
        },
        'children': {
            'single_hosts': {'hosts': groups['single_hosts'], 'vars': {
                'single_host_tcp_ports': [22, 80, 443],
                'single_host_ssh_bruteforce': 'recent',
            }},
            'routers': {'hosts': groups['routers'], 'vars': {
                'masquerading_router_wan_interface': interfaces(wan['ipv4_address'], 'first'),
                'masquerading_router_lan_interfaces': interfaces(lan['ipv4_address'], 'list'),
                'masquerading_router_lan_networks': subnets(lan),
                'masquerading_router_port_forwards': [
                    {'port': 8080, 'to': client['ipv4_address'], 'to_port': 80, 'comment': 'web server on the LAN'},
                    {'port': 8080, 'to': client['ipv6_address'], 'to_port': 80, 'comment': 'web server on the LAN'}],
                'masquerading_router_antispoof_allow': subnets(wan),
            }},
            'bastions': {'hosts': groups['bastions'], 'vars': {
                'bastion_ipsets': [{'name': 'admins', 'members': [{'group': 'admins'}]}],
                'bastion_allowed_networks': [{'set': 'admins'}],
                'bastion_internal_networks': subnets(internal),
            }},
            'others': {'hosts': groups['others']},
            # groups the firewalls name: their hosts' addresses come from their facts
            'admins': {'hosts': {'demo-wanhost': {}}},
            'web': {'hosts': {'demo-web': {}}},
            # where probes come from (<role>_confirm_probes)
            'internet': {'hosts': {'demo-wanhost': {}}},
            'lan': {'hosts': {'demo-lanclient': {}}},
        },
    }}
    if 'demo-db' in groups['single_hosts']:
        groups['single_hosts']['demo-db'] = {
            'single_host_ipsets': [{'name': 'web', 'members': [{'group': 'web'}]}],
            'single_host_tcp_ports': [22, {'port': 5432, 'sources': [{'set': 'web'}], 'comment': 'postgresql'}],
        }
    roles = {'single_hosts': 'single_host', 'routers': 'masquerading_router', 'bastions': 'bastion'}
    for name, declared in probes(fleet).items():
        for group, role in roles.items():
            if name in groups[group]:
                groups[group][name][role + '_confirm_probes'] = declared
    with open(out_path, 'w') as handle:
        json.dump(inventory, handle, indent=2)
        handle.write('\n')


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
