"""The demo network on the host: its OVS bridges and the host's port.

The physical bridge carries the provider network ``physnet`` ("demo");
the host's internal port on it holds the gateway address, so that the
host reaches instances on their fixed IPs. The integration bridge and the
tunnel bridge (VXLAN project networks) are the OVS agent's; ``down``
removes all three.
"""
import ipaddress
import os
import time

import config
from processes import run

VSCTL = ['ovs-vsctl', '--timeout=20']


def ensure(s):
    """The physical bridge and the host's port, addressed and up."""
    run(VSCTL + ['--may-exist', 'add-br', s['phys_bridge'], '--', 'set',
                 'bridge', s['phys_bridge'], 'datapath_type=netdev'])
    run(VSCTL + ['--may-exist', 'add-port', s['phys_bridge'],
                 s['host_port'], '--', 'set', 'interface',
                 s['host_port'], 'type=internal'])
    prefix = ipaddress.ip_network(s['subnet']).prefixlen
    for _ in range(50):
        if os.path.exists('/sys/class/net/' + s['host_port']):
            break
        time.sleep(0.1)
    run(['ip', 'addr', 'replace', '%s/%d' % (s['gateway'], prefix),
         'dev', s['host_port']])
    run(['ip', 'link', 'set', s['host_port'], 'up'])


def remove(s):
    """Delete this cloud's bridges; the names of those that existed."""
    if not os.path.exists(config.OVSDB_SOCKET):
        return []
    removed = []
    for br in (s['int_bridge'], s['tun_bridge'], s['phys_bridge']):
        if run(VSCTL + ['br-exists', br], check=False).returncode == 0:
            run(VSCTL + ['--if-exists', 'del-br', br])
            removed.append(br)
    return removed
