"""Engine restart: running instances come back through Nova's calls.

Other tests use the shared engine all the time, so this one never touches
it: ``tools/ensure-engine`` starts a private dockerd (own socket, data
root, exec root, pidfile; dockerd starts its own managed containerd per
exec root) in a temporary directory. The driver works on that engine
through ``[pydock] engine_url``. The engine is stopped the way a host
stops it (SIGTERM to dockerd, which stops its containers and its
containerd) and started again; nova-compute then calls ``init_host`` and
``resume_state_on_host_boot`` for each instance, as it does at start-up.
Cleanup kills whatever of the private engine is left, unmounts what it
mounted and removes its directories (tools/lib/private_engine.py), and
checks that nothing remains.
"""
import os
import signal
import time

import fixtures
from nova import exception
from nova import objects
from nova.compute import power_state
from nova.network import model
from nova.virt import event as virtevent
from nova.virt import fake as fake_virt
import private_engine

from nova_pydock import driver as pydock_driver
from nova_pydock import power_states
from tests.functional import driver_base
from tests.functional.network import base as net_base

INSTANCES = 5
WAIT = private_engine.WAIT


class PrivateEngineTestCase(driver_base.DriverTestCase):
    """A driver on a private engine that a test may stop and start.

    Without live restore unless ``live_restore`` says otherwise: a
    stopping engine stops its containers, as a host shutdown does.
    """

    live_restore = False

    def setUp(self):
        super().setUp()
        self.engine = private_engine.PrivateEngine(self.live_restore)
        self.addCleanup(self._destroy_engine)
        self.engine.start()
        conf = self.useFixture(driver_base.config_fixture.Config(
            driver_base.CONF))
        conf.config(engine_url=self.engine.url, engine_retries=1,
                    engine_retry_interval=0.2, group='pydock')
        # nova-compute on this host, with the private engine under it.
        self.driver = pydock_driver.PyDockDriver(fake_virt.FakeVirtAPI())
        self.driver._images.image_api = self.glance
        self.driver.init_host(self.host)
        self.addCleanup(self.driver.cleanup_host, self.host)

    def _destroy_engine(self):
        ids = self.engine.destroy()
        self.assertNothingLeft(self.engine.root, ids)

    def assertNothingLeft(self, root, container_ids):
        """No process, mount, cgroup or file of the private engine."""
        self.assertEqual([], private_engine.processes_under(root))
        self.assertEqual([], private_engine.mounts_under(root))
        self.assertEqual([], private_engine.cgroups_of(container_ids))
        self.assertFalse(os.path.exists(root))

    def _destroy_quietly(self, instance):
        try:
            self.driver.destroy(self.context, instance, [])
        except exception.HypervisorUnavailable:
            pass  # the private engine is gone: destroy() removed it all

    def private_inspect(self, instance):
        return self.engine.api.inspect_container('nova-%s' % instance.uuid)


class TestEngineRestart(PrivateEngineTestCase):

    def test_instances_run_again_after_engine_restart(self):
        instances = [self.spawn() for _ in range(INSTANCES)]
        first_start = {}
        for instance in instances:
            self.assertEqual(power_state.RUNNING,
                             self.driver.get_info(instance).state)
            state = self.private_inspect(instance)['State']
            self.assertTrue(state['Running'])
            first_start[instance.uuid] = (state['Pid'], state['StartedAt'])
        # They run on the private engine, not on the shared one.
        self.assertEqual([], self.containers_of_host())
        containerd = self.engine.containerd_pids()
        self.assertEqual(1, len(containerd), containerd)

        # The engine goes away, and its managed containerd with it.
        self.assertTrue(self.engine.stop(), 'dockerd did not stop')
        self.assertEqual([], self.engine.containerd_pids())
        # No containerd, no shim, nothing of it runs on.
        self.assertEqual([], [pid for pid in private_engine.processes_under(
            self.engine.root) if private_engine.alive(pid)])
        # Asked afresh, the driver says so at once; Nova's power state
        # sync, which takes a listing up to MAX_AGE old, once it is older.
        self.assertRaises(exception.HypervisorUnavailable,
                          self.driver.get_info, instances[0],
                          use_cache=False)
        time.sleep(power_states.MAX_AGE + 0.1)
        self.assertRaises(exception.HypervisorUnavailable,
                          self.driver.get_info, instances[0])

        self.engine.start()
        self.assertEqual(1, len(self.engine.containerd_pids()))
        # What nova-compute does when it (re)starts on this host.
        self.driver.init_host(self.host)
        self.assertEqual(sorted(i.uuid for i in instances),
                         sorted(self.driver.list_instance_uuids()))
        for instance in instances:
            # The engine stopped them (no restart policy: Nova decides).
            self.assertEqual(power_state.SHUTDOWN,
                             self.driver.get_info(instance).state)
            self.driver.resume_state_on_host_boot(
                self.context, instance, [], None)

        for instance in instances:
            self.assertEqual(power_state.RUNNING,
                             self.driver.get_info(instance).state)
            state = self.private_inspect(instance)['State']
            self.assertTrue(state['Running'], state)
            self.assertNotEqual(first_start[instance.uuid],
                                (state['Pid'], state['StartedAt']))
        # The image came from Glance once; the restart kept it.
        self.assertEqual(1, self.glance.downloads[self.image_meta.id])
        code, output = self._exec_private(instances[0], 'echo', 'alive')
        self.assertEqual((0, b'alive\n'), (code, output))

    def test_lifecycle_events_follow_the_engine_across_its_restart(self):
        log = self.useFixture(fixtures.FakeLogger(
            name='nova_pydock.lifecycle', level='INFO'))
        events = []
        self.driver.register_event_listener(
            lambda event: events.append((event.get_instance_uuid(),
                                         event.get_transition())))
        instance = self.spawn()
        self.assertTrue(self.engine.stop(), 'dockerd did not stop')
        self.engine.start()
        # nova-compute did not restart: no init_host, the watcher
        # reconnects by itself and sees a start made outside Nova.
        self.engine.api.start('nova-%s' % instance.uuid)
        deadline = time.monotonic() + WAIT
        started = (instance.uuid, virtevent.EVENT_LIFECYCLE_STARTED)
        while started not in events and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertIn(started, events)
        self.assertIn('Following container events of host %s again'
                      % self.host, log.output)

    def _exec_private(self, instance, *command):
        run = self.engine.api.exec_create('nova-%s' % instance.uuid,
                                          list(command))
        output = self.engine.api.exec_start(run)
        return self.engine.api.exec_inspect(run)['ExitCode'], output

    def test_private_engine_is_torn_down_completely(self):
        """The cleanup this test relies on leaves nothing, even mid-run."""
        instance = self.spawn()
        root = self.engine.root
        self.assertNotEqual([], private_engine.processes_under(root))
        self.assertNotEqual([], private_engine.mounts_under(root))
        ids = self.engine.container_ids()
        self.assertEqual(['nova-%s' % instance.uuid],
                         [self.engine.api.inspect_container(i)['Name'][1:]
                          for i in ids])
        # Abrupt: the engine and its containerd die first (SIGKILL), so
        # the container outlives its shim; cleanup must still get it all.
        for pid in [self.engine.pid()] + self.engine.containerd_pids():
            os.kill(pid, signal.SIGKILL)
        self.assertNotEqual([], private_engine.cgroups_of(ids))
        self.assertEqual(ids, self.engine.destroy())
        self.assertNothingLeft(root, ids)
        self.assertRaises(exception.HypervisorUnavailable,
                          self.driver.instance_exists, instance)


class TestEngineRestartNetwork(PrivateEngineTestCase,
                               net_base.NetworkTestCase):
    """A Neutron port is reachable again after the engine restarted."""

    def test_port_reachable_after_engine_restart(self):
        octet = int(net_base.short_id()[:2], 16)
        address = '198.19.%d.30' % octet
        bridge = self.make_bridge()
        peer = self.make_peer(bridge, '198.19.%d.1/24' % octet)
        vif = self.make_vif(bridge, address, '198.19.%d.0/24' % octet,
                            gateway='198.19.%d.1' % octet)
        instance = self.instance()
        instance.info_cache = objects.InstanceInfoCache(
            network_info=model.NetworkInfo([vif]))
        self.spawn(instance, network_info=[vif])
        self.addCleanup(self.driver.unplug_vifs, instance, [vif])
        self.assertTrue(peer.ping(address))

        self.assertTrue(self.engine.stop(), 'dockerd did not stop')
        self.assertFalse(peer.ping(address, tries=2))
        self.engine.start()
        self.driver.init_host(self.host)
        self.driver.resume_state_on_host_boot(self.context, instance, [vif],
                                              None)
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(instance).state)
        self.assertTrue(peer.ping(address),
                        'the port is not reachable after the restart')
        self.assertEqual([vif['devname']],
                         [name for name in net_base.host_links()
                          if name == vif['devname']])
