"""An engine restart under a running nova-compute does not stop servers.

A ``docker.io`` upgrade or a dockerd crash restarts the engine while
nova-compute keeps running: no ``init_host``, no
``resume_state_on_host_boot``. Each test restarts a private engine
(``tools/lib/private_engine.py``) under a
driver that keeps running, with a server on an Open vSwitch port plugged
by os-vif, and watches what reaches Nova through the driver's
``emit_event``:

- with live restore the container keeps running through the restart and
  answers TCP from a peer namespace all along; Nova hears nothing;
- without it the engine stops every container; the driver starts again
  the one Nova has ACTIVE, with its port, leaves alone the one the user
  stopped, and Nova never hears of a stop; a stop of the container's own
  afterwards is still reported.

Nova's database is the one stand-in: the instances the driver recovers
are the test's own objects (tests/nova runs the real lookup).
"""
import time

import fixtures
from nova import exception
from nova import objects
from nova.compute import power_state
from nova.compute import vm_states
from nova.network import model
from nova.virt import event as virtevent

from nova_pydock import recovery
from nova_pydock.cmd import status
from tests.functional import driver_base
from tests.functional import test_engine_restart as restart
from tests.functional.network import base as net_base
from tests.functional.network import test_ovs


class EngineRestartTestCase(restart.PrivateEngineTestCase,
                            test_ovs.OpenVSwitchTestCase):

    def setUp(self):
        super().setUp()
        shared = self.api
        # The network helpers run commands in containers: ours are on the
        # private engine (back to the shared one before the engine goes).
        self.api = self.engine.api
        self.addCleanup(setattr, self, 'api', shared)
        self.log = self.useFixture(fixtures.FakeLogger(
            name='nova_pydock', level='INFO'))
        self.events = []
        self.driver.register_event_listener(
            lambda event: self.events.append(
                (event.get_instance_uuid(), event.get_transition())))
        self.nova_has = []
        self.useFixture(fixtures.MockPatchObject(
            recovery.HostInstances, 'on_host', lambda _: list(self.nova_has)))
        self.useFixture(fixtures.MockPatchObject(
            recovery.HostInstances, 'current', lambda _, i: i))

    def server(self, host):
        """An ACTIVE server on an OVS port at 198.18.<octet>.<host>."""
        vif = self.ovs_vif(host)
        instance = self.instance(vm_state=vm_states.ACTIVE, task_state=None)
        instance.info_cache = objects.InstanceInfoCache(
            network_info=model.NetworkInfo([vif]))
        self.spawn(instance, network_info=[vif])
        self.addCleanup(self.driver.unplug_vifs, instance, [vif])
        self.nova_has.append(instance)
        return instance, '198.18.%d.%d' % (self.octet, host), vif

    def wait_for(self, what, condition):
        deadline = time.monotonic() + restart.WAIT
        while not condition():
            if time.monotonic() > deadline:
                self.fail('no %s after %ds' % (what, restart.WAIT))
            time.sleep(0.2)

    def wait_for_log(self, line):
        self.wait_for(repr(line), lambda: line in self.log.output)

    def wait_for_stop_kept_from_nova(self, name):
        """The watcher saw the stop the engine caused and did not report
        it: the engine had gone, or the container ran again first."""
        lines = ('Container %s stopped as the engine went away' % name,
                 'Container %s started again within' % name)
        self.wait_for('%r or %r' % lines,
                      lambda: any(line in self.log.output for line in lines))

    def container_links(self, pid):
        """Network devices in the namespace of the container's process."""
        out = net_base.run('nsenter', '--net=/proc/%d/ns/net' % pid, 'ip',
                           '-o', 'link')
        return sorted(line.split(':')[1].strip().split('@')[0]
                      for line in out.splitlines())

    def assertOnBridge(self, vif):
        self.assertEqual(
            1, test_ovs.vsctl('list-ports', self.bridge).split().count(
                vif['devname']))

    def assertNothingForNova(self, *instances):
        self.assertEqual(
            [], [e for e in self.events if e[0] in
                 {i.uuid for i in instances}])


class TestWithLiveRestore(EngineRestartTestCase):

    live_restore = True

    def test_server_keeps_serving_through_the_restart(self):
        instance, address, vif = self.server(10)
        name = 'nova-%s' % instance.uuid
        before = self.engine.api.inspect_container(name)['State']
        self.assertTrue(self.engine.api.info()['LiveRestoreEnabled'])
        self.assertEqual(True, status.check_live_restore(driver_base.CONF)[0])
        self.listen(name, 7001)

        self.assertTrue(self.engine.stop(), 'dockerd did not stop')
        self.assertRaises(exception.HypervisorUnavailable,
                          self.driver.get_info, instance)
        # dockerd is away; the container, its veth and its port are not.
        self.assertEqual(['eth0', 'lo'], self.container_links(before['Pid']))
        self.assertOnBridge(vif)
        self.assertTrue(self.peer.ping(address))
        during = 'during-%s' % net_base.short_id()
        self.assertIn('sent', self.peer.sh(
            'echo %s | %s nc -w 2 %s 7001 && echo sent'
            % (during, net_base.BUSYBOX, address)))

        self.engine.start()
        self.wait_for_log('Following container events of host %s again'
                          % self.host)
        self.wait_for_log('no container of host %s needs to run again'
                          % self.host)
        after = self.engine.api.inspect_container(name)['State']
        self.assertEqual((before['Pid'], before['StartedAt']),
                         (after['Pid'], after['StartedAt']))
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(instance).state)
        self.assert_received(name, 7001, during)
        self.assert_tcp(self.peer, name, address, port=7002)
        self.assertEqual(['eth0', 'lo'], self.container_links(after['Pid']))
        self.assertOnBridge(vif)
        self.assertNothingForNova(instance)


class TestWithoutLiveRestore(EngineRestartTestCase):

    def test_servers_run_again_as_nova_has_them(self):
        running, address, vif = self.server(20)
        stopped, _, _ = self.server(21)
        # The user stopped this one: Nova has it STOPPED.
        self.driver.power_off(stopped, timeout=0)
        stopped.vm_state = vm_states.STOPPED
        name = 'nova-%s' % running.uuid
        before = self.engine.api.inspect_container(name)['State']
        self.assertFalse(self.engine.api.info()['LiveRestoreEnabled'])
        self.assertEqual(status.WARN,
                         status.check_live_restore(driver_base.CONF)[0])
        del self.events[:]

        self.assertTrue(self.engine.stop(), 'dockerd did not stop')
        self.assertFalse(self.peer.ping(address, tries=2))
        self.assertRaises(exception.HypervisorUnavailable,
                          self.driver.get_info, running)
        self.engine.start()
        self.wait_for(
            'container running again',
            lambda: self.engine.api.inspect_container(name)['State'][
                'Running'])
        self.wait_for_log('1 of 1 containers of host %s run again'
                          % self.host)
        self.wait_for_stop_kept_from_nova(name)
        after = self.engine.api.inspect_container(name)['State']
        self.assertNotEqual(before['Pid'], after['Pid'])
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(running).state)
        self.assertEqual(['eth0', 'lo'], self.container_links(after['Pid']))
        self.assertOnBridge(vif)
        self.assertTrue(self.peer.ping(address))
        self.assert_tcp(self.peer, name, address)
        self.assertEqual(
            [(running.uuid, virtevent.EVENT_LIFECYCLE_STARTED)], self.events)
        self.assertEqual(power_state.SHUTDOWN,
                         self.driver.get_info(stopped).state)

        # A stop of its own is still news for Nova.
        del self.events[:]
        self.engine.api.kill(name)
        stop = (running.uuid, virtevent.EVENT_LIFECYCLE_STOPPED)
        self.wait_for('STOPPED event', lambda: stop in self.events)
        self.assertEqual([stop], self.events)

    def test_a_container_that_does_not_come_back_is_reported(self):
        instance, _, _ = self.server(30)
        name = 'nova-%s' % instance.uuid
        # Its command is gone: it exits at its next start.
        self.exec(name, 'rm /bin/sleep')
        del self.events[:]
        self.assertTrue(self.engine.stop(), 'dockerd did not stop')
        self.engine.start()
        stop = (instance.uuid, virtevent.EVENT_LIFECYCLE_STOPPED)
        self.wait_for('STOPPED event', lambda: stop in self.events)
        self.assertIn('Container %s did not run again after the engine '
                      'restart' % name, self.log.output)
        self.assertEqual([stop], self.events)
        self.assertEqual(power_state.SHUTDOWN,
                         self.driver.get_info(instance).state)
