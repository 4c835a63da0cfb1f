"""Network info to plain port specs: pure logic."""
import testtools

from nova_pydock.network import exception
from nova_pydock.network import spec
from tests.unit.network import fakes


class TestPortSpecs(testtools.TestCase):

    def test_one_vif(self):
        vif = fakes.vif(subnets=[fakes.subnet(
            '198.18.0.0/24', ['198.18.0.10'], gateway='198.18.0.1',
            routes=[('198.19.0.0/16', '198.18.0.254')])], mtu=1450)
        self.assertEqual([{
            'port_id': fakes.PORT_A,
            'devname': 'tap11111111-aa',
            'ifname': 'eth0',
            'mac': 'fa:16:3e:00:00:01',
            'mtu': 1450,
            'tx_checksum': True,
            'addresses': ['198.18.0.10/24'],
            'routes': [
                {'dst': '198.19.0.0/16', 'gateway': '198.18.0.254'},
                {'dst': '0.0.0.0/0', 'gateway': '198.18.0.1',
                 'default': True}],
        }], spec.port_specs([vif]))

    def test_dual_stack_and_order(self):
        """Default routes per IP version from the first VIF with one."""
        first = fakes.vif(fakes.PORT_A, [
            fakes.subnet('198.18.0.0/24', ['198.18.0.10'])])
        second = fakes.vif(fakes.PORT_B, [
            fakes.subnet('198.19.0.0/24', ['198.19.0.10'],
                         gateway='198.19.0.1'),
            fakes.subnet('fd00:1::/64', ['fd00:1::10'],
                         gateway='fd00:1::1')], mac='FA:16:3E:00:00:02')
        third = fakes.vif('33333333-cccc-4ccc-8ccc-000000000003', [
            fakes.subnet('198.18.9.0/24', ['198.18.9.10'],
                         gateway='198.18.9.1')], mac='fa:16:3e:00:00:03')
        specs = spec.port_specs([first, second, third])
        self.assertEqual(['eth0', 'eth1', 'eth2'],
                         [s['ifname'] for s in specs])
        self.assertEqual([], specs[0]['routes'])
        self.assertEqual(
            [{'dst': '0.0.0.0/0', 'gateway': '198.19.0.1', 'default': True},
             {'dst': '::/0', 'gateway': 'fd00:1::1', 'default': True}],
            specs[1]['routes'])
        self.assertEqual([], specs[2]['routes'])
        self.assertEqual(['198.19.0.10/24', 'fd00:1::10/64'],
                         specs[1]['addresses'])
        self.assertEqual('fa:16:3e:00:00:02', specs[1]['mac'])
        self.assertNotIn('gateways', specs[1])

    def test_subnet_without_port_address_gives_no_routes(self):
        vif = fakes.vif(subnets=[
            fakes.subnet('198.18.0.0/24', ['198.18.0.10']),
            fakes.subnet('198.19.0.0/24', [], gateway='198.19.0.1',
                         routes=[('198.18.128.0/24', '198.19.0.2')])])
        self.assertEqual([], spec.port_specs([vif])[0]['routes'])

    def test_no_subnets_is_an_l2_port(self):
        port = spec.port_specs([fakes.vif()])[0]
        self.assertEqual(([], [], None),
                         (port['addresses'], port['routes'], port['mtu']))

    def test_userspace_ovs_datapath_turns_checksum_offload_off(self):
        vif = fakes.v4_vif(vif_type='ovs',
                           details={'datapath_type': 'netdev'})
        self.assertFalse(spec.port_specs([vif])[0]['tx_checksum'])
        vif = fakes.v4_vif(vif_type='ovs',
                           details={'datapath_type': 'system'})
        self.assertTrue(spec.port_specs([vif])[0]['tx_checksum'])

    def test_attach_spec_picks_its_name_later(self):
        port = spec.add_default_routes([spec.port_spec(fakes.v4_vif())])[0]
        self.assertIsNone(port['ifname'])
        self.assertEqual([{'dst': '0.0.0.0/0', 'gateway': '198.18.0.1',
                           'default': True}], port['routes'])

    def test_empty(self):
        self.assertEqual([], spec.port_specs([]))
        self.assertEqual([], spec.port_specs(None))


class TestMetadataRoute(testtools.TestCase):
    """169.254.169.254 via the subnet's DHCP port, as Neutron offers it."""

    METADATA = {'dst': '169.254.169.254/32', 'gateway': '198.18.0.2'}

    def _vif(self, port_id=fakes.PORT_A, cidr='198.18.0.0/24', host=10,
             dhcp_server='198.18.0.2', routes=(), mac='fa:16:3e:00:00:01'):
        net = cidr.rsplit('.', 1)[0]
        return fakes.vif(port_id, [fakes.subnet(
            cidr, ['%s.%d' % (net, host)], gateway=net + '.1',
            routes=routes, dhcp_server=dhcp_server)], mac=mac)

    def test_via_the_dhcp_port(self):
        routes = spec.port_specs([self._vif()], 'dhcp')[0]['routes']
        self.assertEqual(
            [self.METADATA, {'dst': '0.0.0.0/0', 'gateway': '198.18.0.1',
                             'default': True}], routes)

    def test_none_by_default_and_when_off(self):
        for specs in (spec.port_specs([self._vif()]),
                      spec.port_specs([self._vif()], 'none')):
            self.assertEqual(['0.0.0.0/0'],
                             [r['dst'] for r in specs[0]['routes']])
            self.assertNotIn('metadata_server', specs[0])

    def test_no_dhcp_port_no_route(self):
        specs = spec.port_specs([self._vif(dhcp_server=None)], 'dhcp')
        self.assertEqual(['0.0.0.0/0'],
                         [r['dst'] for r in specs[0]['routes']])

    def test_first_port_with_a_dhcp_port_only(self):
        first = self._vif(dhcp_server=None)
        second = self._vif(fakes.PORT_B, '198.19.0.0/24',
                           dhcp_server='198.19.0.3', mac='fa:16:3e:00:00:02')
        third = self._vif('33333333-cccc-4ccc-8ccc-000000000003',
                          '198.18.9.0/24', dhcp_server='198.18.9.3',
                          mac='fa:16:3e:00:00:03')
        specs = spec.port_specs([first, second, third], 'dhcp')
        self.assertEqual(
            [[], [{'dst': '169.254.169.254/32', 'gateway': '198.19.0.3'}],
             []],
            [[r for r in s['routes'] if not r.get('default')]
             for s in specs])

    def test_host_route_of_the_subnet_wins(self):
        vif = self._vif(routes=[('169.254.169.254/32', '198.18.0.254')])
        routes = spec.port_specs([vif], 'dhcp')[0]['routes']
        self.assertEqual([{'dst': '169.254.169.254/32',
                           'gateway': '198.18.0.254'}],
                         [r for r in routes if not r.get('default')])

    def test_ipv6_subnet_gives_none(self):
        vif = fakes.vif(subnets=[fakes.subnet(
            'fd00:1::/64', ['fd00:1::10'], gateway='fd00:1::1',
            dhcp_server='fd00:1::2')])
        routes = spec.port_specs([vif], 'dhcp')[0]['routes']
        self.assertEqual(['::/0'], [r['dst'] for r in routes])

    def test_attach_spec(self):
        port = spec.shared_routes([spec.port_spec(
            self._vif(), metadata_route='dhcp')])[0]
        self.assertIn(self.METADATA, port['routes'])
        self.assertNotIn('metadata_server', port)

    def test_bad_dhcp_server(self):
        self.assertRaises(exception.InvalidVIF, spec.port_specs,
                          [self._vif(dhcp_server='nonsense')], 'dhcp')
        self.assertRaises(exception.AddressNotInSubnet, spec.port_specs,
                          [self._vif(dhcp_server='198.19.0.2')], 'dhcp')


class TestNames(testtools.TestCase):

    def test_devname_from_nova(self):
        self.assertEqual('tap11111111-aa', spec.devname(fakes.vif()))

    def test_devname_without_one(self):
        vif = fakes.vif()
        vif['devname'] = None
        self.assertEqual('nic11111111-aa', spec.devname(vif))

    def test_bad_devname(self):
        vif = fakes.vif()
        for name in ('tap-much-too-long', 'tap/x', 'tap x'):
            vif['devname'] = name
            self.assertRaises(exception.InvalidVIF, spec.devname, vif)

    def test_ifb_name(self):
        self.assertEqual('ifb11111111-aa', spec.ifb_name(fakes.vif()))


class TestBadInput(testtools.TestCase):
    """Every bad VIF is a VirtualInterfacePlugException naming the port."""

    def assert_bad(self, exc_class, vif, text):
        error = self.assertRaises(exc_class, spec.port_specs, [vif])
        self.assertIsInstance(
            error, exception.exception.VirtualInterfacePlugException)
        self.assertIn(text, str(error))
        return error

    def test_unsupported_type(self):
        self.assert_bad(exception.UnsupportedVIFType,
                        fakes.v4_vif(vif_type='vhostuser'),
                        "type 'vhostuser'")

    def test_binding_failed(self):
        self.assert_bad(exception.UnsupportedVIFType,
                        fakes.v4_vif(vif_type='binding_failed'),
                        'supported types: bridge, ovs')

    def test_no_network(self):
        vif = fakes.v4_vif()
        vif['network'] = None
        self.assert_bad(exception.VIFWithoutNetwork, vif, fakes.PORT_A)

    def test_no_bridge(self):
        self.assert_bad(exception.InvalidVIF, fakes.v4_vif(bridge=None),
                        'names no bridge')

    def test_bad_mac(self):
        self.assert_bad(exception.InvalidVIF, fakes.v4_vif(mac='nope'),
                        "bad MAC address 'nope'")

    def test_direct_vnic(self):
        self.assert_bad(exception.InvalidVIF,
                        fakes.v4_vif(vnic_type='direct'), "'direct'")

    def test_address_outside_subnet(self):
        vif = fakes.vif(subnets=[fakes.subnet('198.18.0.0/24',
                                              ['198.19.0.10'])])
        self.assert_bad(exception.AddressNotInSubnet, vif,
                        '198.19.0.10 does not belong to its subnet '
                        '198.18.0.0/24')

    def test_v6_address_in_v4_subnet(self):
        vif = fakes.vif(subnets=[fakes.subnet('198.18.0.0/24',
                                              ['fd00::10'])])
        self.assert_bad(exception.AddressNotInSubnet, vif, 'fd00::10')

    def test_bad_address(self):
        # Nova's model checks addresses it is given; a hydrated cache
        # holds whatever was stored.
        vif = fakes.v4_vif()
        vif['network']['subnets'][0]['ips'][0]['address'] = '198.18.0.300'
        self.assert_bad(exception.InvalidVIF, vif, 'bad fixed IP')

    def test_bad_cidr(self):
        vif = fakes.vif(subnets=[fakes.subnet('198.18.0.1/24',
                                              ['198.18.0.10'])])
        self.assert_bad(exception.InvalidVIF, vif, 'bad subnet CIDR')

    def test_gateway_of_other_version(self):
        vif = fakes.vif(subnets=[fakes.subnet(
            '198.18.0.0/24', ['198.18.0.10'], gateway='fd00::1')])
        self.assert_bad(exception.InvalidVIF, vif, 'is not IPv4')

    def test_host_route_without_next_hop(self):
        vif = fakes.v4_vif()
        vif['network']['subnets'][0]['routes'] = [
            fakes.model.Route(cidr='198.19.0.0/24', gateway=None)]
        self.assert_bad(exception.InvalidVIF, vif, 'has no next hop')

    def test_mtu_out_of_range(self):
        self.assert_bad(exception.InvalidVIF, fakes.v4_vif(mtu=20),
                        'MTU 20')
        self.assert_bad(exception.InvalidVIF, fakes.v4_vif(mtu='big'),
                        "MTU 'big'")

    def test_shared_device_name(self):
        first, second = fakes.v4_vif(), fakes.v4_vif(host=11)
        second['id'] = fakes.PORT_B
        error = self.assertRaises(exception.InvalidVIF, spec.port_specs,
                                  [first, second])
        self.assertIn('share a device name', str(error))


class TestBandwidth(testtools.TestCase):

    def test_libvirt_keys(self):
        flavor = fakes.Flavor({
            'quota:vif_inbound_average': '100',
            'quota:vif_inbound_peak': '200',
            'quota:vif_inbound_burst': '64',
            'quota:vif_outbound_average': 50,
            'quota:cpu_quota': '10000'})
        self.assertEqual(
            {'inbound': {'average': 100, 'peak': 200, 'burst': 64},
             'outbound': {'average': 50}},
            spec.bandwidth(flavor))

    def test_none(self):
        self.assertEqual({'inbound': None, 'outbound': None},
                         spec.bandwidth(None))
        self.assertEqual({'inbound': None, 'outbound': None},
                         spec.bandwidth(fakes.Flavor()))

    def test_zero_average_is_no_limit(self):
        flavor = fakes.Flavor({'quota:vif_inbound_average': '0'})
        self.assertIsNone(spec.bandwidth(flavor)['inbound'])

    def test_peak_without_average_is_ignored(self):
        flavor = fakes.Flavor({'quota:vif_outbound_peak': '10'})
        self.assertIsNone(spec.bandwidth(flavor)['outbound'])

    def test_bad_values(self):
        for value in ('fast', '-1', '1.5', None):
            flavor = fakes.Flavor({'quota:vif_inbound_average': value})
            error = self.assertRaises(exception.InvalidBandwidthQuota,
                                      spec.bandwidth, flavor)
            self.assertIn('quota:vif_inbound_average', str(error))


class TestDNSAndEvents(testtools.TestCase):

    def test_resolv_conf(self):
        first = fakes.vif(subnets=[
            fakes.subnet('198.18.0.0/24', ['198.18.0.10'],
                         dns=['198.18.0.53', 'fd00::53'])])
        second = fakes.vif(fakes.PORT_B, subnets=[
            fakes.subnet('198.19.0.0/24', ['198.19.0.10'],
                         dns=['198.19.0.53', '198.18.0.53'])])
        content = spec.resolv_conf([first, second])
        self.assertEqual(
            ['nameserver 198.18.0.53', 'nameserver fd00::53',
             'nameserver 198.19.0.53'],
            [line for line in content.splitlines()
             if not line.startswith('#')])
        self.assertTrue(content.endswith('\n'))

    def test_resolv_conf_without_servers(self):
        content = spec.resolv_conf([fakes.v4_vif()])
        self.assertNotIn('nameserver', content)
        self.assertIn('None of its subnets has a DNS server', content)

    def test_bad_dns_server(self):
        vif = fakes.vif(subnets=[fakes.subnet('198.18.0.0/24', [],
                                              dns=['198.18.0.53'])])
        vif['network']['subnets'][0]['dns'][0]['address'] = 'dns.example'
        self.assertRaises(exception.InvalidVIF, spec.resolv_conf, [vif])

    def test_vif_plugged_events(self):
        self.assertEqual(
            [('network-vif-plugged', fakes.PORT_B)],
            spec.vif_plugged_events([fakes.v4_vif(active=True),
                                     fakes.v4_vif(fakes.PORT_B,
                                                  active=False)]))
        self.assertEqual([], spec.vif_plugged_events(None))


class TestHydratedCache(testtools.TestCase):
    """The shape an instance's info cache has after a trip through JSON."""

    CACHE = [{
        'id': fakes.PORT_A,
        'address': 'fa:16:3e:12:34:56',
        'type': 'ovs',
        'devname': 'tap11111111-aa',
        'ovs_interfaceid': fakes.PORT_A,
        'vnic_type': 'normal',
        'active': False,
        'details': {'port_filter': True, 'ovs_hybrid_plug': False,
                    'datapath_type': 'system', 'bridge_name': 'br-int',
                    'connectivity': 'l2'},
        'profile': {},
        'preserve_on_delete': False,
        'meta': {},
        'network': {
            'id': fakes.NET_ID, 'bridge': 'br-int', 'label': 'private',
            'meta': {'injected': False, 'tenant_id': 'p', 'mtu': 1442,
                     'physical_network': None, 'tunneled': True},
            'subnets': [
                {'cidr': '198.18.4.0/26', 'version': 4,
                 'meta': {'dhcp_server': '198.18.4.3'},
                 'gateway': {'address': '198.18.4.1', 'type': 'gateway',
                             'version': 4, 'meta': {}},
                 'dns': [{'address': '198.18.4.2', 'type': 'dns',
                          'version': 4, 'meta': {}}],
                 'routes': [], 'ips': [
                     {'address': '198.18.4.20', 'type': 'fixed',
                      'version': 4, 'meta': {}, 'floating_ips': []}]},
                {'cidr': 'fd00:4::/64', 'version': 6,
                 'meta': {'ipv6_address_mode': 'slaac'},
                 'gateway': {'address': 'fd00:4::1', 'type': 'gateway',
                             'version': 6, 'meta': {}},
                 'dns': [], 'routes': [], 'ips': [
                     {'address': 'fd00:4::f816:3eff:fe12:3456',
                      'type': 'fixed', 'version': 6, 'meta': {},
                      'floating_ips': []}]}]},
    }]

    def test_hydrated(self):
        network_info = fakes.model.NetworkInfo.hydrate(self.CACHE)
        port = spec.port_specs(network_info)[0]
        self.assertEqual(1442, port['mtu'])
        self.assertEqual(['198.18.4.20/26', 'fd00:4::f816:3eff:fe12:3456/64'],
                         port['addresses'])
        self.assertEqual(['0.0.0.0/0', '::/0'],
                         [r['dst'] for r in port['routes']])
        port = spec.port_specs(network_info, 'dhcp')[0]
        self.assertEqual(['169.254.169.254/32', '0.0.0.0/0', '::/0'],
                         [r['dst'] for r in port['routes']])
        self.assertEqual('198.18.4.3', port['routes'][0]['gateway'])
        self.assertEqual('nameserver 198.18.4.2',
                         spec.resolv_conf(network_info).splitlines()[-1])
        self.assertEqual([('network-vif-plugged', fakes.PORT_A)],
                         spec.vif_plugged_events(network_info))
