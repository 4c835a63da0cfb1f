"""The facade's order of work, rollback and error translation.

The privileged plumbing and the host-side backends are replaced by
recording fakes; the real ones are proven by the functional tests.
"""
import errno
import types
from unittest import mock

from nova import exception as nova_exception
from nova.network import model
import testtools

from nova_pydock.network import api
from nova_pydock.network import exception
from nova_pydock.network import netns
from tests.unit.network import fakes

NETNS = '/var/run/docker/netns/abc'


def _nameservers(resolv_conf):
    return [line.split()[1] for line in resolv_conf.splitlines()
            if line.startswith('nameserver ')]


class FakeBackend:
    def __init__(self, calls, fail_on=None):
        self.calls = calls
        self.fail_on = fail_on

    def plug(self, instance, vif, devname):
        self.calls.append(('backend.plug', vif['id']))
        if vif['id'] == self.fail_on:
            raise OSError(errno.ENODEV, 'no bridge')

    def unplug(self, instance, vif, devname):
        self.calls.append(('backend.unplug', vif['id']))


class FakeAnnouncer:
    def __init__(self, calls):
        self.calls = calls

    def start(self, instance, netns, ports):
        self.calls.append(('announce_later', netns,
                           [(p['ifname'], p['mac']) for p in ports]))


class TestContainerNetwork(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.calls = []
        self.plumbing = self.useFixture_plumbing()
        self.backend = FakeBackend(self.calls)
        self.network = api.ContainerNetwork(
            backends={'bridge': self.backend, 'ovs': self.backend},
            announcer=FakeAnnouncer(self.calls))
        self.instance = fakes.Instance(flavor=fakes.Flavor(
            {'quota:vif_inbound_average': '100'}))

    def useFixture_plumbing(self):
        patcher = mock.patch.object(api, 'plumbing', autospec=True)
        plumbing = patcher.start()
        self.addCleanup(patcher.stop)
        patcher = mock.patch.object(api, 'shaping_mod', autospec=True)
        shaping = patcher.start()
        self.addCleanup(patcher.stop)
        calls = self.calls

        def create_port(netns, port):
            calls.append(('create_port', port['devname'], port['ifname']))
            return {'ifname': port['ifname'] or 'eth7', 'created': True}

        plumbing.create_port.side_effect = create_port
        shaping.set_shaping.side_effect = (
            lambda dev, ifb, i, o: calls.append(('set_shaping', dev, i, o)))
        plumbing.activate_port.side_effect = (
            lambda netns, port: calls.append(('activate_port',
                                              port['ifname'])))
        plumbing.delete_port.side_effect = (
            lambda dev, ifb: calls.append(('delete_port', dev, ifb)) or [dev])
        plumbing.write_resolv_conf.side_effect = (
            lambda path, content: calls.append(('resolv', path)))
        return plumbing

    def two_vifs(self):
        return [fakes.v4_vif(), fakes.v4_vif(fakes.PORT_B, host=11,
                                             mac='fa:16:3e:00:00:02')]

    def test_plug_order(self):
        names = self.network.plug(self.instance, self.two_vifs(), NETNS,
                                  resolv_conf_path='/x/resolv.conf')
        self.assertEqual(['eth0', 'eth1'], names)
        shaping = {'average': 100}
        self.assertEqual([
            ('create_port', 'tap11111111-aa', 'eth0'),
            ('backend.plug', fakes.PORT_A),
            ('set_shaping', 'tap11111111-aa', shaping, None),
            ('activate_port', 'eth0'),
            ('create_port', 'tap22222222-bb', 'eth1'),
            ('backend.plug', fakes.PORT_B),
            ('set_shaping', 'tap22222222-bb', shaping, None),
            ('activate_port', 'eth1'),
            ('resolv', '/x/resolv.conf'),
            ('announce_later', NETNS, [('eth0', 'fa:16:3e:00:00:01'),
                                       ('eth1', 'fa:16:3e:00:00:02')]),
        ], self.calls)

    def test_explicit_flavor_wins(self):
        self.network.plug(self.instance, [fakes.v4_vif()], NETNS,
                          flavor=fakes.Flavor())
        self.assertIn(('set_shaping', 'tap11111111-aa', None, None),
                      self.calls)

    def test_failure_removes_all_made_so_far(self):
        self.backend.fail_on = fakes.PORT_B
        error = self.assertRaises(exception.PlugFailed, self.network.plug,
                                  self.instance, self.two_vifs(), NETNS)
        self.assertIsInstance(
            error, nova_exception.VirtualInterfacePlugException)
        self.assertIn('no bridge', str(error))
        self.assertEqual([
            ('backend.unplug', fakes.PORT_A),
            ('delete_port', 'tap11111111-aa', 'ifb11111111-aa'),
            ('backend.unplug', fakes.PORT_B),
            ('delete_port', 'tap22222222-bb', 'ifb22222222-bb'),
        ], self.calls[-4:])
        self.assertNotIn('announce_later', [c[0] for c in self.calls])

    def test_bad_input_creates_nothing(self):
        vifs = self.two_vifs()
        vifs[1]['type'] = 'vhostuser'
        self.assertRaises(exception.UnsupportedVIFType, self.network.plug,
                          self.instance, vifs, NETNS)
        self.assertEqual([], self.calls)

    def test_namespace_gone(self):
        self.plumbing.create_port.side_effect = netns.NamespaceGoneError(
            errno.ENOENT, 'network namespace %s does not exist' % NETNS)
        error = self.assertRaises(exception.NamespaceNotFound,
                                  self.network.plug, self.instance,
                                  [fakes.v4_vif()], NETNS)
        self.assertIn(NETNS, str(error))

    def test_resolv_conf_failure_rolls_back(self):
        self.plumbing.write_resolv_conf.side_effect = ValueError('nope')
        self.assertRaises(nova_exception.NovaException, self.network.plug,
                          self.instance, [fakes.v4_vif()], NETNS,
                          resolv_conf_path='/x/resolv.conf')
        self.assertEqual(('delete_port', 'tap11111111-aa', 'ifb11111111-aa'),
                         self.calls[-1])

    def test_attach_picks_a_free_name(self):
        self.assertEqual('eth7', self.network.attach(
            self.instance, fakes.v4_vif(), NETNS))
        self.assertEqual(('create_port', 'tap11111111-aa', None),
                         self.calls[0])
        self.assertEqual(('announce_later', NETNS,
                          [('eth7', 'fa:16:3e:00:00:01')]), self.calls[-1])

    def test_other_missing_file_is_no_gone_namespace(self):
        """Only the typed error means the namespace is gone, whatever a
        message says."""
        self.plumbing.create_port.side_effect = FileNotFoundError(
            errno.ENOENT, 'no such file, not even a namespace')
        error = self.assertRaises(exception.PlugFailed, self.network.plug,
                                  self.instance, [fakes.v4_vif()], NETNS)
        self.assertNotIsInstance(error, exception.NamespaceNotFound)

    def with_cached_ports(self, *vifs):
        self.instance.info_cache = types.SimpleNamespace(
            network_info=model.NetworkInfo(vifs))

    def written_resolv_conf(self):
        contents = [call.args[1] for call in
                    self.plumbing.write_resolv_conf.call_args_list]
        self.assertEqual(1, len(contents))
        return contents[0]

    def test_attach_writes_dns_of_all_ports(self):
        first = fakes.v4_vif(dns=['198.18.0.53'])
        extra = fakes.v4_vif(fakes.PORT_B, host=11, mac='fa:16:3e:00:00:02',
                             dns=['198.18.0.54'])
        for cached in ([first], [first, extra]):
            self.calls.clear()
            self.plumbing.write_resolv_conf.reset_mock()
            self.with_cached_ports(*cached)
            self.network.attach(self.instance, extra, NETNS,
                                resolv_conf_path='/x/resolv.conf')
            self.assertEqual(('resolv', '/x/resolv.conf'), self.calls[-2])
            self.assertEqual(['198.18.0.53', '198.18.0.54'],
                             _nameservers(self.written_resolv_conf()))

    def test_attach_without_resolv_conf_path_writes_none(self):
        self.network.attach(self.instance, fakes.v4_vif(), NETNS)
        self.plumbing.write_resolv_conf.assert_not_called()

    def test_attach_resolv_conf_failure_removes_the_port(self):
        self.plumbing.write_resolv_conf.side_effect = ValueError('nope')
        self.assertRaises(nova_exception.NovaException, self.network.attach,
                          self.instance, fakes.v4_vif(), NETNS,
                          resolv_conf_path='/x/resolv.conf')
        self.assertEqual(('delete_port', 'tap11111111-aa', 'ifb11111111-aa'),
                         self.calls[-1])

    def test_detach_writes_dns_of_the_ports_left(self):
        first = fakes.v4_vif(dns=['198.18.0.53'])
        extra = fakes.v4_vif(fakes.PORT_B, host=11, mac='fa:16:3e:00:00:02',
                             dns=['198.18.0.54'])
        for cached in ([first, extra], [first]):
            self.calls.clear()
            self.plumbing.write_resolv_conf.reset_mock()
            self.with_cached_ports(*cached)
            self.network.detach(self.instance, extra,
                                resolv_conf_path='/x/resolv.conf')
            self.assertEqual([('backend.unplug', fakes.PORT_B),
                              ('delete_port', 'tap22222222-bb',
                               'ifb22222222-bb'),
                              ('resolv', '/x/resolv.conf')], self.calls)
            self.assertEqual(['198.18.0.53'],
                             _nameservers(self.written_resolv_conf()))

    def test_attach_failure_cleans_up(self):
        self.backend.fail_on = fakes.PORT_A
        self.assertRaises(exception.PlugFailed, self.network.attach,
                          self.instance, fakes.v4_vif(), NETNS)
        self.assertEqual(('delete_port', 'tap11111111-aa', 'ifb11111111-aa'),
                         self.calls[-1])

    def test_unplug_tries_every_port(self):
        self.plumbing.delete_port.side_effect = [
            OSError(errno.EBUSY, 'busy'), ['tap22222222-bb']]
        error = self.assertRaises(
            exception.UnplugFailed, self.network.unplug, self.instance,
            self.two_vifs())
        self.assertIsInstance(
            error, nova_exception.VirtualInterfaceUnplugException)
        self.assertEqual(2, self.plumbing.delete_port.call_count)
        self.assertIn(fakes.PORT_A, str(error))

    def test_unplug_ignoring_errors(self):
        self.plumbing.delete_port.side_effect = OSError(errno.EBUSY, 'busy')
        self.network.unplug(self.instance, self.two_vifs(),
                            ignore_errors=True)
        self.assertEqual(2, self.plumbing.delete_port.call_count)

    def test_unplug_skips_what_was_never_plugged(self):
        vif = fakes.v4_vif(vif_type='binding_failed')
        self.network.unplug(self.instance, [vif])
        self.network.unplug(self.instance, None)
        self.assertEqual([], self.calls)

    def test_detach(self):
        self.network.detach(self.instance, fakes.v4_vif())
        self.assertEqual([('backend.unplug', fakes.PORT_A),
                          ('delete_port', 'tap11111111-aa',
                           'ifb11111111-aa')], self.calls)


class TestHelpers(testtools.TestCase):

    def test_write_resolv_conf_error(self):
        with mock.patch.object(api.plumbing, 'write_resolv_conf',
                               side_effect=OSError(errno.ENOENT, 'gone')):
            error = self.assertRaises(nova_exception.NovaException,
                                      api.write_resolv_conf,
                                      '/x/resolv.conf', '')
        self.assertIn('/x/resolv.conf', str(error))

    def test_reexports(self):
        self.assertIs(api.spec.vif_plugged_events, api.vif_plugged_events)


class TestPortCounters(testtools.TestCase):

    def test_counters_of_the_cached_ports(self):
        instance = fakes.Instance()
        network = api.ContainerNetwork()
        with mock.patch.object(api.counters, 'port_counters',
                               return_value=[('tap', {})]) as read:
            self.assertEqual([('tap', {})], network.port_counters(instance))
            read.assert_called_once_with([])
            ports = model.NetworkInfo([fakes.v4_vif()])
            instance.info_cache = types.SimpleNamespace(network_info=ports)
            network.port_counters(instance)
            read.assert_called_with(ports)
