"""The route to the metadata service, on this machine's kernel.

A peer namespace stands in for Neutron's qdhcp namespace: it holds the
subnet's DHCP port address and 169.254.169.254, and serves a page there
(busybox httpd), as the DHCP agent's haproxy does. The container reaches
it over the route the driver added, as an instance does with DHCP.
"""
import os
import subprocess
import tempfile

from tests.functional.network import base

METADATA_IP = '169.254.169.254'


class TestMetadataRoute(base.SubnetTestCase):

    def setUp(self):
        super().setUp()
        self.dhcp = self.make_peer(self.bridge, self.ip(2) + '/24')
        self.dhcp.sh('ip addr add %s/32 dev $(ls /sys/class/net | '
                     'grep -v lo)' % METADATA_IP)
        self.page = 'metadata-of-%s' % base.short_id()
        self.serve(self.page)

    def serve(self, text):
        """busybox httpd on 169.254.169.254:80 in the peer namespace."""
        root = tempfile.mkdtemp(prefix='pydock-md-')
        self.addCleanup(subprocess.run, ['rm', '-rf', root], check=False)
        os.makedirs(os.path.join(root, 'openstack'))
        with open(os.path.join(root, 'openstack', 'latest'), 'w') as f:
            f.write(text + '\n')
        httpd = subprocess.Popen(
            ['ip', 'netns', 'exec', self.dhcp.name, base.BUSYBOX, 'httpd',
             '-f', '-p', '%s:80' % METADATA_IP, '-h', root])
        self.addCleanup(httpd.wait, 10)
        self.addCleanup(httpd.kill)

    def vif(self, host, dhcp_server):
        vif = self.make_vif(self.bridge, self.ip(host), self.cidr,
                            gateway=self.ip(1))
        if dhcp_server:
            vif['network']['subnets'][0]['meta']['dhcp_server'] = dhcp_server
        return vif

    def fetch(self, container):
        # (busybox 1.35's wget -T crashes: timeout bounds each try)
        return self.exec(container, 'for i in 1 2 3 4 5; do timeout 3 wget '
                         '-qO- http://%s/openstack/latest && break; sleep '
                         '0.3; done' % METADATA_IP, check=False)

    def test_container_reaches_the_proxy_via_the_dhcp_port(self):
        self.conf.config(metadata_route='dhcp', group='pydock')
        container = self.start_container()
        self.plug(self.make_instance(), [self.vif(10, self.ip(2))],
                  container)
        routes = self.exec(container, 'ip route')
        self.assertIn('%s via %s dev eth0' % (METADATA_IP, self.ip(2)),
                      routes)
        # Not via the default gateway (198.19.x.1 has nobody).
        self.assertIn('default via %s dev eth0' % self.ip(1), routes)
        self.assertIn(self.page, self.fetch(container))

    def test_hot_attached_port_gets_it(self):
        self.conf.config(metadata_route='dhcp', group='pydock')
        container = self.start_container()
        instance = self.make_instance()
        vif = self.vif(11, self.ip(2))
        self.network.attach(instance, vif, self.netns(container))
        self.addCleanup(self.network.unplug, instance, [vif])
        self.assertIn('%s via %s dev eth0' % (METADATA_IP, self.ip(2)),
                      self.exec(container, 'ip route'))
        self.assertIn(self.page, self.fetch(container))

    def test_off_by_default(self):
        container = self.start_container()
        self.plug(self.make_instance(), [self.vif(12, self.ip(2))],
                  container)
        self.assertNotIn(METADATA_IP, self.exec(container, 'ip route'))
