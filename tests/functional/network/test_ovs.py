"""The Open vSwitch path, with os-vif, on a userspace (netdev) datapath.

This kernel has no openvswitch module; ``tools/ensure-ovs`` starts
Debian's ovsdb-server and ovs-vswitchd by hand, and the bridges here use
the ``netdev`` datapath, which forwards in ovs-vswitchd itself. The tests
skip, saying why, when OVS cannot be started.
"""
import functools
import json
import os
import subprocess
import sys

import os_vif
from oslo_config import cfg
from vif_plug_ovs import ovs as vif_plug_ovs
from vif_plug_ovs import privsep as ovs_privsep

from tests.functional.network import base
from tests.functional.network import in_process_privsep

OVSDB_SOCK = '/var/run/openvswitch/db.sock'
ENSURE_OVS = os.path.join(base.engine.REPO, 'tools', 'ensure-ovs')


@functools.cache
def ovs_available():
    """None when OVS answers, else why not."""
    try:
        result = subprocess.run([ENSURE_OVS], capture_output=True, text=True,
                                timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return 'tools/ensure-ovs failed: %s' % e
    if result.returncode:
        return 'tools/ensure-ovs: %s' % (result.stdout + result.stderr)
    return None


def vsctl(*args, check=True):
    return base.run('ovs-vsctl', '--timeout=20', *args, check=check)


class OpenVSwitchTestCase(base.NetworkTestCase):
    """A netdev OVS bridge of the test's own with a peer on it."""

    def setUp(self):
        # Before the base class's timeout: the first call may install OVS.
        why = ovs_available()
        super().setUp()
        if why:
            self.skipTest(why)
        conf = cfg.CONF
        conf.register_opts(vif_plug_ovs.OvsPlugin.CONFIG_OPTS,
                           group='os_vif_ovs')
        self.useFixture(in_process_privsep.InProcessPrivsep(
            ovs_privsep.vif_plug))
        conf.set_override('ovsdb_connection', 'unix:' + OVSDB_SOCK,
                          group='os_vif_ovs')
        self.addCleanup(conf.clear_override, 'ovsdb_connection',
                        group='os_vif_ovs')
        os_vif.initialize(reset=True)
        self.bridge = 'pyo' + base.short_id()
        vsctl('add-br', self.bridge, '--', 'set', 'bridge', self.bridge,
              'datapath_type=netdev')
        self.addCleanup(vsctl, '--if-exists', 'del-br', self.bridge,
                        check=False)
        base.run('ip', 'link', 'set', self.bridge, 'up')
        self.octet = 100 + int(base.short_id()[:2], 16) % 100
        self.peer = self.make_ovs_peer('198.18.%d.1/24' % self.octet)

    def make_ovs_peer(self, address):
        suffix = base.short_id()
        name = 'pydock-peer-' + suffix
        host, inner = 'pyh' + suffix, 'pyi' + suffix
        base.run('ip', 'netns', 'add', name)
        self.addCleanup(base.run, 'ip', 'netns', 'del', name, check=False)
        base.run('ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name',
                 inner)
        self.addCleanup(base.run, 'ip', 'link', 'del', host, check=False)
        base.run('ip', 'link', 'set', inner, 'netns', name)
        base.run('ip', 'link', 'set', host, 'up')
        vsctl('add-port', self.bridge, host)
        ns = ('ip', 'netns', 'exec', name)
        base.run(*ns, 'ip', 'addr', 'add', address, 'dev', inner)
        base.run(*ns, 'ip', 'link', 'set', inner, 'up')
        # Like the container ends, the peer's must fill in checksums
        # itself for the userspace datapath.
        base.run(*ns, sys.executable, '-c',
                 'from nova_pydock.network import plumbing; '
                 'plumbing.set_tx_checksum(%r, False)' % inner)
        return base.Peer(name, address)

    def ovs_vif(self, host, hybrid=False):
        vif = self.make_vif(
            self.bridge, '198.18.%d.%d' % (self.octet, host),
            '198.18.%d.0/24' % self.octet,
            gateway='198.18.%d.1' % self.octet, vif_type='ovs',
            details={'port_filter': hybrid, 'ovs_hybrid_plug': hybrid,
                     'datapath_type': 'netdev'})
        vif['ovs_interfaceid'] = vif['id']
        return vif

    def interface(self, name):
        out = vsctl('--format=json', '--columns=name,external_ids',
                    'list', 'Interface', name)
        data = json.loads(out)['data'][0]
        return dict(data[1][1])


class TestOpenVSwitch(OpenVSwitchTestCase):

    def test_port_with_neutron_external_ids(self):
        container = self.start_container()
        instance = self.make_instance()
        vif = self.ovs_vif(10)
        self.plug(instance, [vif], container)
        tap = vif['devname']
        self.assertIn(tap, vsctl('list-ports', self.bridge).split())
        self.assertEqual({'iface-id': vif['id'],
                          'attached-mac': vif['address'],
                          'iface-status': 'active',
                          'vm-uuid': instance.uuid},
                         {k: v for k, v in self.interface(tap).items()
                          if k in ('iface-id', 'attached-mac',
                                   'iface-status', 'vm-uuid')})
        self.assertTrue(self.peer.ping('198.18.%d.10' % self.octet))
        self.assert_tcp(self.peer, container, '198.18.%d.10' % self.octet)
        self.network.unplug(instance, [vif])
        self.assertNotIn(tap, vsctl('list-ports', self.bridge).split())
        self.assertNotIn(tap, base.host_links())

    def test_hybrid_port(self):
        """ovs_hybrid_plug: tap on qbr, qvb/qvo pair into OVS (os-vif)."""
        container = self.start_container()
        instance = self.make_instance()
        vif = self.ovs_vif(11, hybrid=True)
        self.plug(instance, [vif], container)
        qbr, qvb, qvo = (('%s%s' % (p, vif['id']))[:14]
                         for p in ('qbr', 'qvb', 'qvo'))
        link = json.loads(base.run('ip', '-j', 'link', 'show',
                                   vif['devname']))[0]
        self.assertEqual(qbr, link['master'])
        self.assertIn(qvo, vsctl('list-ports', self.bridge).split())
        self.assertEqual(vif['id'], self.interface(qvo)['iface-id'])
        self.assertTrue(self.peer.ping('198.18.%d.11' % self.octet))
        self.assert_tcp(self.peer, container, '198.18.%d.11' % self.octet)
        self.network.unplug(instance, [vif])
        links = base.host_links()
        for name in (vif['devname'], qbr, qvb, qvo):
            self.assertNotIn(name, links)
        self.assertNotIn(qvo, vsctl('list-ports', self.bridge).split())
