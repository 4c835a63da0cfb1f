"""What the driver tells Nova while the engine is away, and whom it
starts again: the bookkeeping of :mod:`nova_pydock.recovery`."""
from unittest import mock

from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from nova.virt import event as virtevent
import testtools

from nova_pydock import container
from nova_pydock import lifecycle
from nova_pydock import recovery

EXITED = {'Status': 'exited', 'Running': False}
RUNNING = {'Status': 'running', 'Running': True}


def _instance(uuid='u1', vm_state=vm_states.ACTIVE, task_state=None):
    return mock.Mock(uuid=uuid, vm_state=vm_state, task_state=task_state,
                     info_cache=None)


def _listed(uuid, state):
    return {'Names': ['/nova-%s' % uuid], 'State': state,
            'Labels': {container.LABEL_INSTANCE: uuid}}


class TestPowerState(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.recovery = recovery.EngineRecovery(
            engine=None, host='h', driver=None, instances=mock.Mock())

    def test_stopped_containers_are_nostate_while_the_engine_is_in_doubt(self):
        self.recovery.engine_lost()
        self.assertEqual(power_state.NOSTATE,
                         self.recovery.power_state(_instance(), EXITED))
        self.assertEqual(power_state.RUNNING,
                         self.recovery.power_state(_instance(), RUNNING))

    def test_stopped_is_shutdown_when_the_engine_never_went_away(self):
        self.assertEqual(power_state.SHUTDOWN,
                         self.recovery.power_state(_instance(), EXITED))

    def test_only_containers_still_waiting_stay_nostate_during_the_pass(self):
        self.recovery.engine_lost()
        self.recovery._waiting = {'nova-u1'}
        self.recovery._in_doubt = False
        self.assertEqual(power_state.NOSTATE,
                         self.recovery.power_state(_instance('u1'), EXITED))
        self.assertEqual(power_state.SHUTDOWN,
                         self.recovery.power_state(_instance('u2'), EXITED))


class TestWanted(testtools.TestCase):

    def test_what_nova_has_running_or_frozen_and_idle(self):
        self.assertTrue(recovery.wanted_running(_instance()))
        self.assertTrue(recovery.wanted_running(
            _instance(vm_state=vm_states.PAUSED)))
        self.assertFalse(recovery.wanted_running(
            _instance(vm_state=vm_states.STOPPED)))
        self.assertFalse(recovery.wanted_running(
            _instance(task_state=task_states.POWERING_OFF)))
        self.assertFalse(recovery.wanted_running(None))


class TestRecover(testtools.TestCase):

    def test_starts_the_stopped_ones_nova_has_active(self):
        wanted, user_stopped, still_running = (
            _instance('a'), _instance('b', vm_states.STOPPED), _instance('c'))
        engine = mock.Mock()
        engine.list_containers.return_value = [
            _listed('a', 'exited'), _listed('b', 'exited'),
            _listed('c', 'running')]
        instances = mock.Mock()
        instances.on_host.return_value = [wanted, user_stopped, still_running]
        instances.current.side_effect = lambda i: i
        driver = mock.Mock()
        driver.get_info.return_value.state = power_state.RUNNING
        rec = recovery.EngineRecovery(engine, 'h', driver, 2, instances)
        rec.engine_lost()
        rec._recover()
        driver.power_on.assert_called_once_with(mock.ANY, wanted, [])
        driver.pause.assert_not_called()
        event = driver.emit_event.call_args.args[0]
        self.assertEqual(('a', virtevent.EVENT_LIFECYCLE_STARTED),
                         (event.get_instance_uuid(), event.get_transition()))
        self.assertEqual(power_state.SHUTDOWN,
                         rec.power_state(user_stopped, EXITED))


    @mock.patch.object(recovery, 'LOOK_INTERVAL', 0)
    def test_gives_up_after_bounded_tries_and_tells_the_truth(self):
        engine = mock.Mock()
        engine.list_containers.side_effect = RuntimeError('away')
        rec = recovery.EngineRecovery(engine, 'h', mock.Mock(), 2,
                                      mock.Mock())
        rec.engine_lost()
        rec._recover()
        self.assertEqual(recovery.LOOK_TRIES,
                         engine.list_containers.call_count)
        self.assertEqual(power_state.SHUTDOWN,
                         rec.power_state(_instance(), EXITED))


class TestWatcherStops(testtools.TestCase):

    def _watcher(self, engine):
        emitted = []
        watcher = lifecycle.LifecycleWatcher(
            engine=engine, host='h', emit=emitted.append,
            stopped_event_delay=0, reconnect_interval=1,
            recovery=mock.Mock())
        return watcher, emitted

    def test_a_stop_before_the_stream_ended_is_not_reported(self):
        engine = mock.Mock()
        engine.inspect_container.return_value = {'State': EXITED}
        watcher, emitted = self._watcher(engine)
        losses = watcher._losses
        watcher._stream_lost()
        watcher._report_stop('nova-u1', 'u1', losses)
        self.assertEqual([], emitted)
        watcher._recovery.engine_lost.assert_called_once_with()

    def test_a_stop_with_the_engine_still_there_is_reported(self):
        engine = mock.Mock()
        engine.inspect_container.return_value = {'State': EXITED}
        watcher, emitted = self._watcher(engine)
        watcher._report_stop('nova-u1', 'u1', watcher._losses)
        self.assertEqual([('u1', virtevent.EVENT_LIFECYCLE_STOPPED)],
                         [(e.get_instance_uuid(), e.get_transition())
                          for e in emitted])
