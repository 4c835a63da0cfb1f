"""How the driver maps Nova's calls onto engine calls.

Pure mapping logic on an in-memory engine: which engine calls a reboot,
a power off or a restart of the host makes, in which order, and what the
driver tells the lifecycle watcher it causes. What the engine then does
is tested against the real engine in tests/functional.

The driver also keeps the compute host it was made for. Nova builds a
driver while ``[DEFAULT] host`` names its service and passes the same name
to ``init_host``. Where several nova-compute services live in one process
(Nova's functional harness), ``CONF.host`` names whichever started last;
each driver must still label, list and report its own host.
"""
from unittest import mock

from nova import exception
from oslo_config import fixture as config_fixture
import testtools

from nova_pydock import conf as pydock_conf
from nova_pydock import container
from nova_pydock import driver as pydock_driver
from tests.unit import fake_engine

CONF = pydock_conf.CONF

ACTIONS = ('start', 'stop', 'kill', 'wait_stopped', 'pause', 'unpause')


class TestReboot(fake_engine.DriverTestCase):

    def reboot(self, kind, status):
        self.engine.add(self.name, status)
        self.driver.reboot(self.context, self.instance, [], kind)
        self.assertEqual('running', self.engine.status(self.name))
        return self.engine.names_called(*ACTIONS)

    def test_soft_stops_gracefully_then_starts(self):
        self.assertEqual(['stop', 'start'], self.reboot('SOFT', 'running'))
        self.assertIn(('stop', self.name, 5), self.engine.calls)
        self.assertEqual([(self.name, ('die',), 5),
                          (self.name, ('start',), 0)], self.expected())

    def test_hard_kills_waits_then_starts(self):
        self.assertEqual(['kill', 'wait_stopped', 'start'],
                         self.reboot('HARD', 'running'))
        self.assertIn(('wait_stopped', self.name, 30), self.engine.calls)
        self.assertEqual([(self.name, ('die',), 30),
                          (self.name, ('start',), 0)], self.expected())

    def test_paused_is_thawed_first(self):
        for kind, stop in (('SOFT', 'stop'), ('HARD', 'kill')):
            self.engine.calls.clear()
            self.watcher.reset_mock()
            self.assertEqual(['unpause', stop],
                             self.reboot(kind, 'paused')[:2], kind)
            self.assertEqual((self.name, ('unpause',), 0),
                             self.expected()[0], kind)

    def test_stopped_is_only_started(self):
        for kind in ('SOFT', 'HARD'):
            self.engine.calls.clear()
            self.assertEqual(['start'], self.reboot(kind, 'exited'), kind)

    def test_missing_container_is_instance_not_found(self):
        self.assertRaises(exception.InstanceNotFound, self.driver.reboot,
                          self.context, self.instance, [], 'SOFT')

    def test_start_replugs_the_ports(self):
        self.engine.add(self.name, 'exited')
        ports = [{'id': 'port-1'}]
        self.driver.reboot(self.context, self.instance, ports, 'SOFT')
        self.network.unplug.assert_called_once_with(
            self.instance, ports, ignore_errors=True)
        self.network.plug.assert_called_once_with(
            self.instance, ports, '/run/netns/' + self.name,
            resolv_conf_path='/engine/%s/resolv.conf' % self.name)


class TestPowerOff(fake_engine.DriverTestCase):

    def test_timeout_is_the_grace_before_sigkill(self):
        for timeout in (0, 7):
            self.engine.add(self.name, 'running')
            self.watcher.reset_mock()
            self.driver.power_off(self.instance, timeout=timeout)
            self.assertEqual(('stop', self.name, timeout),
                             self.engine.calls[-1])
            self.assertEqual([(self.name, ('die',), timeout)],
                             self.expected())
            self.assertEqual('exited', self.engine.status(self.name))

    def test_missing_container_is_instance_not_found(self):
        self.assertRaises(exception.InstanceNotFound, self.driver.power_off,
                          self.instance, 5)
        self.assertEqual([], self.engine.names_called('stop'))

    def test_power_on_of_running_container_does_nothing(self):
        self.engine.add(self.name, 'running')
        self.driver.power_on(self.context, self.instance, [])
        self.assertEqual([], self.engine.names_called(*ACTIONS))


class TestFreezeAndHostBoot(fake_engine.DriverTestCase):

    def test_pause_of_stopped_or_paused_is_refused(self):
        for status in ('exited', 'paused'):
            self.engine.add(self.name, status)
            self.assertRaises(exception.InstanceNotRunning,
                              self.driver.pause, self.instance)
        self.assertEqual([], self.engine.names_called('pause'))

    def test_suspend_freezes_and_resume_thaws(self):
        self.engine.add(self.name, 'running')
        self.driver.suspend(self.context, self.instance)
        self.assertEqual('paused', self.engine.status(self.name))
        self.driver.resume(self.context, self.instance, [])
        self.assertEqual(['pause', 'unpause'],
                         self.engine.names_called(*ACTIONS))
        self.assertEqual([(self.name, ('pause',), 0),
                          (self.name, ('unpause',), 0)], self.expected())

    def test_host_boot_thaws_paused_without_restart(self):
        self.engine.add(self.name, 'paused')
        self.driver.resume_state_on_host_boot(self.context, self.instance,
                                              [], None)
        self.assertEqual(['unpause'], self.engine.names_called(*ACTIONS))

    def test_host_boot_starts_stopped_and_leaves_running(self):
        for status, calls in (('exited', ['start']), ('running', [])):
            self.engine.calls.clear()
            self.engine.add(self.name, status)
            self.driver.resume_state_on_host_boot(self.context,
                                                  self.instance, [], None)
            self.assertEqual(calls, self.engine.names_called(*ACTIONS),
                             status)


class TestDestroy(fake_engine.DriverTestCase):

    def test_destroy_removes_every_container_of_the_instance(self):
        spawning = self.name + '-spawning'
        for name in (self.name, spawning, self.name + '-resize-source'):
            self.engine.add(name)
        self.driver.destroy(self.context, self.instance, [])
        self.assertEqual({}, self.engine.containers)
        self.assertEqual([(self.name, ('die',), 30)], self.expected())

    def test_kept_disk_stops_and_keeps_the_container(self):
        self.engine.add(self.name)
        self.driver.destroy(self.context, self.instance, [],
                            destroy_disks=False)
        self.assertEqual('exited', self.engine.status(self.name))
        self.assertIn(('stop', self.name, 5), self.engine.calls)

    def test_kept_disk_of_missing_container_is_not_an_error(self):
        self.driver.destroy(self.context, self.instance, [],
                            destroy_disks=False)
        self.assertEqual([], self.engine.names_called('stop'))
        self.network.unplug.assert_called_once_with(
            self.instance, [], ignore_errors=True)


    def test_evacuated_copy_goes_and_its_ports_stay(self):
        # Nova's init_host on a host that comes back: the server was
        # evacuated to host-b, whose ports network_info describes now.
        self.instance.host = 'host-b'
        self.engine.add(self.name)
        self.driver.destroy(self.context, self.instance, [{'id': 'p1'}])
        self.assertEqual({}, self.engine.containers)
        self.network.unplug.assert_not_called()

    def test_own_server_destroy_unplugs_its_ports(self):
        self.instance.host = 'host-a'
        self.engine.add(self.name)
        self.driver.destroy(self.context, self.instance, [{'id': 'p1'}])
        self.network.unplug.assert_called_once_with(
            self.instance, [{'id': 'p1'}], ignore_errors=True)

    def test_evacuate_is_offered(self):
        self.assertTrue(self.driver.capabilities['supports_evacuate'])


class TestStart(fake_engine.DriverTestCase):

    def test_exit_while_plugging_is_reported_as_the_exit(self):
        self.engine.add(self.name, 'exited')

        def process_dies(*args, **kwargs):
            self.engine.containers[self.name]['State'].update(
                Status='exited', Running=False, ExitCode=3)
            raise OSError('no such namespace')

        self.network.plug.side_effect = process_dies
        exc = self.assertRaises(container.ContainerExitedAtStart,
                                self.driver.power_on, self.context,
                                self.instance, [{'id': 'port-1'}])
        self.assertIn('code 3', exc.format_message())

    def test_plug_failure_of_running_container_is_raised(self):
        self.engine.add(self.name, 'exited')
        self.network.plug.side_effect = OSError('plug failed')
        self.assertRaises(OSError, self.driver.power_on, self.context,
                          self.instance, [{'id': 'port-1'}])


class TestDriverHost(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(CONF))
        self.conf.config(host='host-a')
        self.conf.config(blkio_devices=['/dev/null'], group='pydock')
        self.driver = pydock_driver.PyDockDriver(mock.sentinel.virtapi)
        self.engine = mock.Mock()
        self.engine.list_containers.return_value = []
        self.engine.version.return_value = {}
        self.driver._engine = self.engine
        self.driver._host = mock.Mock()
        # Another service of the same process starts later.
        self.conf.config(host='host-b')

    def test_host_bound_when_built(self):
        self.assertEqual(['host-a'], self.driver.get_available_nodes())
        self.assertEqual([], self.driver.list_instance_uuids())
        self.engine.list_containers.assert_called_once_with(
            {container.LABEL_HOST: 'host-a'})

    def test_init_host_names_the_host(self):
        self.driver.init_host('host-c')
        self.engine.list_containers.assert_called_once_with(
            {container.LABEL_HOST: 'host-c'})
        self.assertEqual(['host-c'], self.driver.get_available_nodes())
