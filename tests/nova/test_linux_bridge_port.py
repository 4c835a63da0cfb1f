"""A server whose Neutron port is a Linux bridge VIF, through Nova's API.

Nova 34 refuses ``binding:vif_type=bridge``, the binding of Neutron's
removed linuxbridge agent: ``nova.network.neutron`` raises "Linux bridge
VIFs are no longer supported by Nova". The Linux bridge VIF Nova still
builds is the hybrid OVS port (``ovs_hybrid_plug``, as Neutron's OVS agent
binds ports for its iptables_hybrid firewall): os-vif's ``VIFBridge``. The
instance's end sits on a ``qbr`` Linux bridge, which a ``qvb``/``qvo``
veth pair joins to Open vSwitch.
"""
import json

from tests.nova import base
from tests.nova import network


def _link(name):
    return json.loads(network.run('ip', '-j', '-d', 'link', 'show', name))[0]


class TestLinuxBridgePort(base.PyDockTestCase):

    def test_container_on_the_ports_linux_bridge(self):
        net = self.ovs_network(hybrid=True)
        qbr, qvb, qvo = (net.nic_name(p) for p in ('qbr', 'qvb', 'qvo'))
        image = self.docker_image(os_command_line='httpd -f -p 8080 -h /etc')
        server = self.boot(image['id'], self.container_flavor(),
                           networks=[{'port': net.port_id}])

        self.assertHoldsPort(server, net)

        # The host end is a port of the Linux bridge qbr, and only the
        # qvo end of the bridge's veth pair is in Open vSwitch.
        self.assertEqual(qbr, _link(net.devname)['master'])
        self.assertEqual('bridge', _link(qbr)['linkinfo']['info_kind'])
        self.assertEqual(qbr, _link(qvb)['master'])
        self.assertIn(qvo, net.ovs_ports())
        self.assertNotIn(net.devname, net.ovs_ports())

        # Reached at its address from the peer namespace, before and after
        # a restart (which makes a new veth pair onto the same bridge).
        self.assertIn('root:x:0:', net.http_get(net.address, 8080, '/group'))
        server = self.action(server, {'os-stop': None}, 'SHUTOFF')
        server = self.action(server, {'os-start': None}, 'ACTIVE')
        self.assertEqual(qbr, _link(net.devname)['master'])
        self.assertIn('root:x:0:', net.http_get(net.address, 8080, '/group'))

        # Delete leaves neither the container nor any of the port's
        # devices behind.
        self.delete(server)
        self.assertNoContainer(server)
        links = network.host_links()
        for name in (net.devname, qbr, qvb, qvo):
            self.assertNotIn(name, links)
        self.assertNotIn(qvo, net.ovs_ports())
