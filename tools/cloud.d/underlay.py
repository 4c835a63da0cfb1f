"""The network between the compute hosts' VXLAN tunnel endpoints.

Project (VXLAN) networks cross between hosts as in a multi-node
Neutron: each host's OVS agent has a ``local_ip`` of its own and tunnels
to every other agent's. Here all hosts share one Open vSwitch on the
userspace datapath, whose tunnels take the source and the route of the
outer packet from the kernel: an endpoint address must be a local
address on the internal port of an OVS bridge, and the route to it
names the bridge the encapsulated packet leaves by.

So the cloud has one underlay bridge (``s['underlay_bridge']``) that
holds every host's endpoint address (``hosts.Host.tunnel_ip``, /32 each)
on its internal port, and one flow that turns what leaves that port back
into it: an encapsulated packet enters the bridge from its own port (the
route to any endpoint is local), comes back to it, and Open vSwitch
decapsulates it there for the tunnel port of the host it is addressed to
(local and remote IP, VNI). ARP for the endpoints takes the same way
(the kernel answers, ``accept_local``: the asking address is its own
too). Nothing of it reaches another machine, and another cloud's
endpoints (addresses of its own demo subnet) are apart.
"""
import os

import bridges
import config
from processes import run

VSCTL = ['ovs-vsctl', '--timeout=20']
#: what leaves the internal port comes back to it
HAIRPIN = 'priority=100,in_port=LOCAL,actions=IN_PORT'


def _sysctl(dev, key, value):
    with open('/proc/sys/net/ipv4/conf/%s/%s' % (dev, key), 'w') as f:
        f.write(value)


def ensure(s, hosts):
    """The underlay bridge with the endpoint address of each host."""
    br = s['underlay_bridge']
    run(VSCTL + ['--may-exist', 'add-br', br, '--', 'set', 'bridge', br,
                 'datapath_type=netdev'])
    run(['ovs-ofctl', 'add-flow', br, HAIRPIN])
    bridges.wait_for_device(br)
    _sysctl(br, 'accept_local', '1')
    _sysctl(br, 'rp_filter', '0')
    for host in hosts:
        run(['ip', 'addr', 'replace', '%s/32' % host.tunnel_ip, 'dev', br])
    run(['ip', 'link', 'set', br, 'up'])


def remove_hosts(s, hosts):
    """Take the endpoint addresses of ``hosts`` away (their machines are
    gone); the names of those that were there."""
    br = s['underlay_bridge']
    if not os.path.exists('/sys/class/net/' + br):
        return []
    gone = []
    for host in hosts:
        if run(['ip', 'addr', 'del', '%s/32' % host.tunnel_ip, 'dev', br],
               check=False).returncode == 0:
            gone.append(host.tunnel_ip)
    return gone


def remove(s):
    """Delete the underlay bridge (its addresses go with it); its name if
    it existed."""
    if not os.path.exists(config.OVSDB_SOCKET):
        return []
    br = s['underlay_bridge']
    if run(VSCTL + ['br-exists', br], check=False).returncode != 0:
        return []
    run(VSCTL + ['--if-exists', 'del-br', br])
    return [br]
