"""Lifecycle events: what happens to a container behind Nova's back.

The driver follows the engine's event stream and tells Nova (through the
callback the compute manager registers) when a container stops, starts,
pauses or resumes without Nova asking; what the driver itself does is not
reported. Everything here happens on the real engine.
"""
import threading
import time
import uuid

import fixtures
from nova.virt import event as virtevent

from tests.functional import driver_base

WAIT = 15


class Recorder:
    """The compute manager's side: collects the events the driver emits."""

    def __init__(self):
        self.events = []
        self._changed = threading.Condition()

    def __call__(self, event):
        with self._changed:
            self.events.append((event.get_instance_uuid(),
                                event.get_transition()))
            self._changed.notify_all()

    def wait_for(self, uuid, transition, timeout=WAIT):
        deadline = time.monotonic() + timeout
        with self._changed:
            while (uuid, transition) not in self.events:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError('no %s event for %s within %ss; '
                                         'got %s' % (transition, uuid,
                                                     timeout, self.events))
                self._changed.wait(left)

    def of(self, uuid):
        with self._changed:
            return [t for u, t in self.events if u == uuid]


class LifecycleTestCase(driver_base.DriverTestCase):

    def setUp(self):
        super().setUp()
        self.conf.config(stopped_event_delay=0.3, group='pydock')
        # Restart the watcher so that it follows the delay set above.
        self.driver.init_host(self.host)
        self.recorder = Recorder()
        self.driver.register_event_listener(self.recorder)
        self.log = self.useFixture(fixtures.FakeLogger(
            name='nova_pydock.lifecycle', level='INFO'))

    def settle(self):
        """Give late events time to arrive (longer than the stop delay)."""
        time.sleep(1.5)


class TestStoppedOnItsOwn(LifecycleTestCase):

    def test_exit_soon_after_start_is_reported_with_its_output(self):
        meta = self.glance.add(
            str(uuid.uuid4()), source_path=self.base_archive,
            properties={'os_command_line':
                        "sh -c 'sleep 0.5; echo lost my config; exit 3'"})
        instance = self.spawn(image_meta=meta)
        self.recorder.wait_for(instance.uuid,
                               virtevent.EVENT_LIFECYCLE_STOPPED)
        self.assertEqual('exited', self.inspect(instance)['State']['Status'])
        self.assertIn('nova-%s stopped on its own: exit code 3'
                      % instance.uuid, self.log.output)
        self.assertIn('lost my config', self.log.output)
        # The spawn's own start is not news to Nova.
        self.assertEqual([virtevent.EVENT_LIFECYCLE_STOPPED],
                         self.recorder.of(instance.uuid))

    def test_killed_by_the_oom_killer(self):
        meta = self.glance.add(
            str(uuid.uuid4()), source_path=self.base_archive,
            properties={'os_command_line':
                        'sh -c "sleep 0.5; dd if=/dev/zero of=/dev/null '
                        'bs=64M count=1"'})
        instance = self.spawn(self.instance(memory_mb=32), image_meta=meta)
        self.recorder.wait_for(instance.uuid,
                               virtevent.EVENT_LIFECYCLE_STOPPED)
        self.assertTrue(self.inspect(instance)['State']['OOMKilled'])
        self.assertIn('exit code 137, killed by the OOM killer',
                      self.log.output)

    def test_stop_outside_nova_then_start(self):
        instance = self.spawn()
        name = 'nova-%s' % instance.uuid
        self.api.stop(name, timeout=1)
        self.recorder.wait_for(instance.uuid,
                               virtevent.EVENT_LIFECYCLE_STOPPED)
        self.api.start(name)
        self.recorder.wait_for(instance.uuid,
                               virtevent.EVENT_LIFECYCLE_STARTED)

    def test_pause_and_unpause_outside_nova(self):
        instance = self.spawn()
        name = 'nova-%s' % instance.uuid
        self.api.pause(name)
        self.recorder.wait_for(instance.uuid,
                               virtevent.EVENT_LIFECYCLE_PAUSED)
        self.api.unpause(name)
        self.recorder.wait_for(instance.uuid,
                               virtevent.EVENT_LIFECYCLE_RESUMED)

    def test_restart_within_the_delay_reports_no_stop(self):
        self.conf.config(stopped_event_delay=3, group='pydock')
        self.driver.init_host(self.host)
        instance = self.spawn()
        name = 'nova-%s' % instance.uuid
        self.api.kill(name)
        self.api.start(name)
        self.recorder.wait_for(instance.uuid,
                               virtevent.EVENT_LIFECYCLE_STARTED)
        time.sleep(3.5)
        self.assertNotIn(virtevent.EVENT_LIFECYCLE_STOPPED,
                         self.recorder.of(instance.uuid))


class TestDriverActionsAreNotReported(LifecycleTestCase):

    def test_power_reboot_pause_suspend_snapshot_delete(self):
        instance = self.spawn()
        self.driver.power_off(instance, timeout=2)
        self.driver.power_on(self.context, instance, [])
        self.driver.reboot(self.context, instance, [], 'SOFT')
        self.driver.reboot(self.context, instance, [], 'HARD')
        self.driver.pause(instance)
        self.driver.unpause(instance)
        self.driver.suspend(self.context, instance)
        self.driver.resume(self.context, instance, [])
        image_id = str(uuid.uuid4())
        self.glance.metadata[image_id] = {'id': image_id}
        self.driver.snapshot(self.context, instance, image_id,
                             lambda **kw: None)
        self.driver.destroy(self.context, instance, [])
        self.settle()
        self.assertEqual([], self.recorder.of(instance.uuid))
        self.assertNotIn('stopped on its own', self.log.output)


class TestScope(LifecycleTestCase):

    def test_containers_of_other_hosts_are_not_followed(self):
        other = driver_base.pydock_driver.PyDockDriver(
            driver_base.fake_virt.FakeVirtAPI())
        other_host = self.host + '-other'
        other._images.image_api = self.glance
        self.conf.config(host=other_host)
        other.init_host(other_host)
        self.addCleanup(other.cleanup_host, other_host)
        instance = self.instance()
        instance.host = instance.node = other_host
        self.addCleanup(other.destroy, self.context, instance, [])
        other.spawn(self.context, instance, self.image_meta, [], None, {},
                    [])
        self.api.stop('nova-%s' % instance.uuid, timeout=1)
        self.settle()
        self.assertEqual([], self.recorder.of(instance.uuid))

    def test_cleanup_host_stops_following(self):
        instance = self.spawn()
        self.driver.cleanup_host(self.host)
        self.api.stop('nova-%s' % instance.uuid, timeout=1)
        self.settle()
        self.assertEqual([], self.recorder.of(instance.uuid))
        self.assertFalse([t for t in threading.enumerate()
                          if t.name == 'pydock-lifecycle-%s' % self.host])
