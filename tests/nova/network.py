"""A Neutron network the containers really join, for tests on Nova's harness.

Nova 34 refuses Linux bridge ports (``binding:vif_type=bridge`` raises in
``nova.network.neutron``), so a port that goes through Nova is an Open
vSwitch port: :class:`OvsNetwork` makes an OVS bridge on the userspace
(``netdev``) datapath (``tools/ensure-ovs`` starts Debian's OVS without a
kernel module), a peer network namespace on it standing in for the rest of
the network, and a network, subnet and unbound port in Nova's
``NeutronFixture`` whose binding names that bridge. nova-compute binds the
port, the driver plugs it through os-vif and its privsep daemon. With
``hybrid=True`` the binding asks for the hybrid plug (``ovs_hybrid_plug``):
Nova hands over a Linux bridge VIF (os-vif ``VIFBridge``), a ``qbr``
bridge that a ``qvb``/``qvo`` veth pair joins to Open vSwitch. Traffic
stays in 198.18.0.0/15, between namespaces the test made.
"""
import copy
import functools
import os
import subprocess
import sys
import time
import uuid

import fixtures
from nova.tests.fixtures import neutron as neutron_fixture

from tests import engine

OVSDB_SOCKET = '/var/run/openvswitch/db.sock'
ENSURE_OVS = os.path.join(engine.REPO, 'tools', 'ensure-ovs')
BUSYBOX = '/bin/busybox'


def run(*command, check=True):
    result = subprocess.run(command, capture_output=True, text=True,
                            timeout=60, check=False)
    if check and result.returncode:
        raise AssertionError('%s failed (%d): %s'
                             % (' '.join(command), result.returncode,
                                result.stderr.strip()))
    return result.stdout


@functools.cache
def ovs_unavailable():
    """None when Open vSwitch answers (started if need be), else why not."""
    try:
        result = subprocess.run([ENSURE_OVS], capture_output=True,
                                text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return 'tools/ensure-ovs failed: %s' % e
    if result.returncode:
        return 'tools/ensure-ovs: %s' % (result.stdout + result.stderr)
    return None


def host_links():
    return [line.split(':')[1].strip().split('@')[0]
            for line in run('ip', '-o', 'link').splitlines()]


class OvsNetwork(fixtures.Fixture):
    """An OVS bridge, a peer namespace, and a Neutron port leading there.

    :ivar port_id: the unbound Neutron port to boot a server with.
    :ivar address: the port's fixed IP; :ivar peer_address: the peer's.
    """

    def __init__(self, neutron, hybrid=False):
        super().__init__()
        self.neutron = neutron
        self.hybrid = hybrid

    def _setUp(self):
        suffix = uuid.uuid4().hex[:8]
        octet = 100 + int(suffix[:2], 16) % 100
        self.cidr = '198.18.%d.0/24' % octet
        self.peer_address = '198.18.%d.1' % octet
        self.address = '198.18.%d.10' % octet
        self.bridge = 'pyn' + suffix
        self.namespace = 'pydock-nova-peer-' + suffix
        self._make_bridge()
        self._make_peer('pyh' + suffix, 'pyi' + suffix)
        self._register_port()

    def vsctl(self, *args, check=True):
        return run('ovs-vsctl', '--timeout=20', *args, check=check)

    def _make_bridge(self):
        self.vsctl('add-br', self.bridge, '--', 'set', 'bridge', self.bridge,
                   'datapath_type=netdev')
        self.addCleanup(self.vsctl, '--if-exists', 'del-br', self.bridge,
                        check=False)
        run('ip', 'link', 'set', self.bridge, 'up')

    def _make_peer(self, host_end, inner_end):
        run('ip', 'netns', 'add', self.namespace)
        self.addCleanup(run, 'ip', 'netns', 'del', self.namespace,
                        check=False)
        run('ip', 'link', 'add', host_end, 'type', 'veth', 'peer', 'name',
            inner_end)
        self.addCleanup(run, 'ip', 'link', 'del', host_end, check=False)
        run('ip', 'link', 'set', inner_end, 'netns', self.namespace)
        run('ip', 'link', 'set', host_end, 'up')
        self.vsctl('add-port', self.bridge, host_end)
        ns = ('ip', 'netns', 'exec', self.namespace)
        run(*ns, 'ip', 'link', 'set', 'lo', 'up')
        run(*ns, 'ip', 'addr', 'add', self.peer_address + '/24', 'dev',
            inner_end)
        run(*ns, 'ip', 'link', 'set', inner_end, 'up')
        # A userspace datapath forwards veth packets without computing
        # their checksums: the peer's end must fill them in itself (the
        # driver does the same for container ends).
        run(*ns, sys.executable, '-c',
            'from nova_pydock.network import plumbing; '
            'plumbing.set_tx_checksum(%r, False)' % inner_end)

    def _register_port(self):
        template = neutron_fixture.NeutronFixture
        self.network_id = str(uuid.uuid4())
        self.subnet_id = str(uuid.uuid4())
        self.port_id = str(uuid.uuid4())
        self.network_name = 'pydock-net-' + self.network_id[:8]
        network = copy.deepcopy(template.network_1)
        network.update(id=self.network_id, name=self.network_name,
                       subnets=[self.subnet_id], mtu=1500)
        subnet = copy.deepcopy(template.subnet_1)
        subnet.update(id=self.subnet_id, network_id=self.network_id,
                      name='pydock-subnet', cidr=self.cidr,
                      gateway_ip=self.peer_address, dns_nameservers=[],
                      allocation_pools=[{'start': self.address,
                                         'end': self.address}])
        port = copy.deepcopy(template.port_1)
        raw = uuid.uuid4().bytes
        port.update(
            id=self.port_id, network_id=self.network_id,
            mac_address='fa:16:3e:%02x:%02x:%02x' % tuple(raw[:3]),
            fixed_ips=[{'ip_address': self.address,
                        'subnet_id': self.subnet_id}])
        port['binding:vif_type'] = 'ovs'
        port['binding:vif_details'] = {
            'bridge_name': self.bridge, 'datapath_type': 'netdev',
            'port_filter': False, 'ovs_hybrid_plug': self.hybrid,
        }
        self.mac = port['mac_address']
        self.neutron._networks[self.network_id] = network
        self.neutron._subnets[self.subnet_id] = subnet
        self.neutron._ports[self.port_id] = port

    @property
    def devname(self):
        """The host end of the port's veth pair (Nova's tap name)."""
        return self.nic_name('tap')

    def nic_name(self, prefix):
        """Nova's name for a device of this port: tap, qbr, qvb, qvo."""
        return (prefix + self.port_id)[:14]

    def ovs_ports(self):
        return self.vsctl('list-ports', self.bridge).split()

    def peer_sh(self, command, check=True):
        return run('ip', 'netns', 'exec', self.namespace, BUSYBOX, 'sh',
                   '-c', command, check=check)

    def http_get(self, address, port, path, tries=25):
        """Body of ``GET path`` from ``address:port``, fetched by the peer.

        HTTP/1.0 through busybox ``nc`` (Debian's static busybox ``wget``
        crashes); bounded retries while the service starts.
        """
        request = 'GET %s HTTP/1.0\\r\\n\\r\\n' % path
        output = ''
        for _ in range(tries):
            output = self.peer_sh("printf '%s' | %s nc -w 2 %s %d"
                                  % (request, BUSYBOX, address, port),
                                  check=False)
            # run() reads text: the CRLFs arrive as newlines.
            head, _, body = output.partition('\n\n')
            status = head.split('\n')[0]
            if status.startswith('HTTP/1.') and ' 200 ' in status:
                return body
            time.sleep(0.2)
        raise AssertionError('the peer got no page from %s:%d%s: %r'
                             % (address, port, path, output))
