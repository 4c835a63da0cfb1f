"""The demo network on the host: its OVS bridges and the host's port.

The physical bridge carries the provider network ``physnet`` ("demo");
the host's internal port on it holds the gateway address, so that the
host reaches instances on their fixed IPs. The integration bridge and the
tunnel bridge (VXLAN project networks) are the OVS agent's; ``down``
removes all three. Compute hosts 2..N (``hosts.py``) have a physical
bridge each, patched to host 1's: one flat network, as the switch
between machines would make it.
"""
import ipaddress
import os
import time

import config
from processes import run

VSCTL = ['ovs-vsctl', '--timeout=20']


def _add_bridge(name):
    run(VSCTL + ['--may-exist', 'add-br', name, '--', 'set', 'bridge',
                 name, 'datapath_type=netdev'])


def _patch(bridge, port, peer):
    run(VSCTL + ['--may-exist', 'add-port', bridge, port, '--', 'set',
                 'interface', port, 'type=patch', 'options:peer=%s' % peer])


def wait_for_device(name, timeout=5):
    """Until the kernel has the device Open vSwitch makes for a port."""
    deadline = time.monotonic() + timeout
    while not os.path.exists('/sys/class/net/' + name):
        if time.monotonic() > deadline:
            return
        time.sleep(0.1)


def ensure(s, hosts):
    """The physical bridges, patched together, and the host's port,
    addressed and up."""
    _add_bridge(s['phys_bridge'])
    for host in hosts[1:]:
        _add_bridge(host.phys_bridge)
        near, far = host.patch_ports
        _patch(s['phys_bridge'], near, far)
        _patch(host.phys_bridge, far, near)
    run(VSCTL + ['--may-exist', 'add-port', s['phys_bridge'],
                 s['host_port'], '--', 'set', 'interface',
                 s['host_port'], 'type=internal'])
    prefix = ipaddress.ip_network(s['subnet']).prefixlen
    wait_for_device(s['host_port'])
    run(['ip', 'addr', 'replace', '%s/%d' % (s['gateway'], prefix),
         'dev', s['host_port']])
    run(['ip', 'link', 'set', s['host_port'], 'up'])


def remove(s, hosts):
    """Delete this cloud's bridges (their ports go with them); the names
    of those that existed."""
    if not os.path.exists(config.OVSDB_SOCKET):
        return []
    for host in (h for h in hosts if h.index > 1):
        # its patch on host 1's physical bridge
        run(VSCTL + ['--if-exists', 'del-port', s['phys_bridge'],
                     host.patch_ports[0]], check=False)
    removed = []
    for br in [name for host in hosts for name in (
            host.int_bridge, host.tun_bridge, host.phys_bridge)]:
        if run(VSCTL + ['br-exists', br], check=False).returncode == 0:
            run(VSCTL + ['--if-exists', 'del-br', br])
            removed.append(br)
    return removed
