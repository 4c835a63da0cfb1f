"""Neutron ports through the driver's own calls, on the real kernel.

The driver plugs ports at spawn and at every later start, hot-plugs with
attach/detach_interface and removes host devices at destroy. A peer
namespace on a test bridge stands in for the rest of the network.
"""

from nova import exception
from nova import objects
from nova.network import model

from tests.functional import driver_base
from tests.functional.network import base as net_base


class TestDriverNetwork(driver_base.DriverTestCase,
                        net_base.NetworkTestCase):

    def setUp(self):
        super().setUp()
        self.octet = int(net_base.short_id()[:2], 16)
        self.bridge = self.make_bridge()
        self.peer = self.make_peer(self.bridge, self.ip(1) + '/24')

    def ip(self, host):
        return '198.19.%d.%d' % (self.octet, host)

    def vif(self, host, **kwargs):
        kwargs.setdefault('gateway', self.ip(1))
        return self.make_vif(self.bridge, self.ip(host),
                             '198.19.%d.0/24' % self.octet, **kwargs)

    def container_of(self, instance):
        return 'nova-%s' % instance.uuid

    def assert_reachable(self, instance, host):
        self.assertTrue(self.peer.ping(self.ip(host)),
                        'peer cannot ping %s' % self.ip(host))
        self.assert_tcp(self.peer, self.container_of(instance),
                        self.ip(host))

    def test_spawn_plugs_and_every_start_replugs(self):
        vif = self.vif(20, mtu=1400, dns=[self.ip(53)])
        instance = self.instance()
        instance.info_cache = objects.InstanceInfoCache(
            network_info=model.NetworkInfo([vif]))
        self.spawn(instance, network_info=[vif])
        name = self.container_of(instance)
        self.assertIn('inet %s/24' % self.ip(20),
                      self.exec(name, 'ip -o addr show dev eth0'))
        self.assertIn('mtu 1400', self.exec(name, 'ip -o link show eth0'))
        self.assertIn(vif['address'],
                      self.exec(name, 'ip -o link show eth0'))
        self.assertIn('nameserver %s' % self.ip(53),
                      self.exec(name, 'cat /etc/resolv.conf'))
        self.assert_reachable(instance, 20)
        diagnostics = self.driver.get_diagnostics(instance)
        self.assertGreater(diagnostics[vif['devname'] + '_rx_packets'], 0)
        self.assertGreater(diagnostics[vif['devname'] + '_tx_bytes'], 0)

        self.driver.power_off(instance, timeout=2)
        # The host side went with the stopped container's namespace.
        self.assertNotIn(vif['devname'], net_base.host_links())
        self.driver.power_on(self.context, instance, [vif])
        self.assert_reachable(instance, 20)
        for reboot_type in ('SOFT', 'HARD'):
            self.driver.reboot(self.context, instance, [vif], reboot_type)
            self.assert_reachable(instance, 20)

        self.driver.destroy(self.context, instance, [vif])
        self.assertNotIn(vif['devname'], net_base.host_links())

    def test_two_instances_reach_each_other(self):
        first = self.spawn(network_info=[self.vif(21)])
        self.spawn(network_info=[self.vif(22)])
        output = self.exec(self.container_of(first),
                           'ping -c 1 -W 2 %s' % self.ip(22), check=False)
        # NET_RAW is dropped: ping from inside is refused; TCP works.
        self.assertIn('permission denied', output.lower())
        self.assertTrue(self.peer.ping(self.ip(21)))
        self.assertTrue(self.peer.ping(self.ip(22)))

    def test_attach_and_detach_interface(self):
        first = self.vif(23, dns=[self.ip(53)])
        instance = self.instance()
        instance.info_cache = objects.InstanceInfoCache(
            network_info=model.NetworkInfo([first]))
        self.spawn(instance, network_info=[first])
        extra = self.vif(24, gateway=None, dns=[self.ip(54)])
        self.driver.attach_interface(self.context, instance,
                                     self.image_meta, extra)
        name = self.container_of(instance)
        self.assertIn('inet %s/24' % self.ip(24),
                      self.exec(name, 'ip -o addr show dev eth1'))
        self.assertIn(extra['devname'], net_base.host_links())
        # The DNS servers of both ports, whether or not the instance's
        # cache holds the new port yet (here it does not).
        resolv_conf = self.exec(name, 'cat /etc/resolv.conf')
        self.assertIn('nameserver %s' % self.ip(53), resolv_conf)
        self.assertIn('nameserver %s' % self.ip(54), resolv_conf)
        instance.info_cache.network_info = model.NetworkInfo([first, extra])

        self.driver.detach_interface(self.context, instance, extra)
        self.assertNotIn(extra['devname'], net_base.host_links())
        self.assertNotIn('eth1', self.exec(name, 'ip -o link'))
        resolv_conf = self.exec(name, 'cat /etc/resolv.conf')
        self.assertIn('nameserver %s' % self.ip(53), resolv_conf)
        self.assertNotIn('nameserver %s' % self.ip(54), resolv_conf)

    def test_bad_port_fails_spawn_and_leaves_nothing(self):
        good = self.vif(25)
        bad = self.vif(26)
        bad['type'] = 'vhostuser'
        instance = self.instance()
        self.assertRaises(exception.VirtualInterfacePlugException,
                          self.driver.spawn, self.context, instance,
                          self.image_meta, [], None, {}, [good, bad])
        self.assertNoContainer(instance)
        self.assertNotIn(good['devname'], net_base.host_links())

    def test_address_outside_subnet_is_refused(self):
        vif = self.make_vif(self.bridge, '198.19.250.9',
                            '198.19.%d.0/24' % self.octet)
        instance = self.instance()
        self.assertRaises(exception.VirtualInterfacePlugException,
                          self.driver.spawn, self.context, instance,
                          self.image_meta, [], None, {}, [vif])
        self.assertNoContainer(instance)

    def test_vif_plugged_event_timeout_is_fatal(self):
        self.useFixture(driver_base.config_fixture.Config(
            driver_base.CONF)).config(vif_plugging_timeout=1,
                                      vif_plugging_is_fatal=True)
        vif = self.vif(27, active=False)
        instance = self.instance()
        self.driver.virtapi = _NoEventsVirtAPI()
        self.assertRaises(exception.VirtualInterfaceCreateException,
                          self.driver.spawn, self.context, instance,
                          self.image_meta, [], None, {}, [vif])
        self.assertNoContainer(instance)
        self.assertNotIn(vif['devname'], net_base.host_links())
        self.assertEqual([('network-vif-plugged', vif['id'])],
                         self.driver.virtapi.waited_for)


class _NoEventsVirtAPI(driver_base.fake_virt.FakeVirtAPI):
    """Neutron never confirms: the wait times out as Nova's would."""

    def __init__(self):
        super().__init__()
        self.waited_for = []

    def wait_for_instance_event(self, instance, event_names, **kwargs):
        self.waited_for = list(event_names)
        return _Timeout()


class _Timeout:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            raise exception.InstanceEventTimeout()
        return False


