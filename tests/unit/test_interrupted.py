"""Which instances count as builds a stopped nova-compute left unfinished:
exactly those Nova's start-up errors out as such (``_init_instance``)."""
from nova import context
from nova.compute import task_states
from nova.compute import vm_states
from nova.tests.unit import fake_instance
import testtools

from nova_pydock import interrupted


def _instance(vm_state, task_state=None):
    return fake_instance.fake_instance_obj(
        context.get_admin_context(), vm_state=vm_state,
        task_state=task_state)


class TestWasInterrupted(testtools.TestCase):

    def test_building_in_any_task(self):
        for task in (None, task_states.SCHEDULING, task_states.NETWORKING,
                     task_states.BLOCK_DEVICE_MAPPING, task_states.SPAWNING):
            self.assertTrue(interrupted.was_interrupted(
                _instance(vm_states.BUILDING, task)), task)

    def test_a_build_task_in_another_state(self):
        self.assertTrue(interrupted.was_interrupted(
            _instance(vm_states.ACTIVE, task_states.SPAWNING)))

    def test_settled_or_other_tasks_are_left_alone(self):
        for vm_state, task in (
                (vm_states.ACTIVE, None),
                (vm_states.STOPPED, task_states.POWERING_ON),
                (vm_states.ACTIVE, task_states.REBUILDING),
                (vm_states.ERROR, task_states.SPAWNING),
                (vm_states.SOFT_DELETED, None),
                (vm_states.DELETED, task_states.SPAWNING)):
            self.assertFalse(interrupted.was_interrupted(
                _instance(vm_state, task)), (vm_state, task))

    def test_fault_names_the_host_and_the_step(self):
        message = interrupted.BuildInterrupted(
            host='compute-1', state=task_states.SPAWNING).format_message()
        self.assertIn('nova-compute on compute-1 stopped', message)
        self.assertIn('(it was spawning)', message)


class TestRebuildWasInterrupted(testtools.TestCase):

    def test_rebuild_steps_of_active_or_stopped_servers(self):
        for vm_state in (vm_states.ACTIVE, vm_states.STOPPED):
            for task in (task_states.REBUILDING,
                         task_states.REBUILD_BLOCK_DEVICE_MAPPING,
                         task_states.REBUILD_SPAWNING):
                instance = _instance(vm_state, task)
                self.assertTrue(interrupted.rebuild_was_interrupted(
                    instance), (vm_state, task))
                self.assertFalse(interrupted.was_interrupted(instance))

    def test_others_are_no_rebuild(self):
        for vm_state, task in ((vm_states.ERROR, task_states.REBUILDING),
                               (vm_states.ACTIVE, None),
                               (vm_states.BUILDING, task_states.SPAWNING)):
            self.assertFalse(interrupted.rebuild_was_interrupted(
                _instance(vm_state, task)), (vm_state, task))

    def test_fault_says_what_to_do(self):
        message = interrupted.RebuildInterrupted(
            host='compute-1',
            state=task_states.REBUILD_SPAWNING).format_message()
        self.assertIn('nova-compute on compute-1 stopped', message)
        self.assertIn('(it was rebuild_spawning)', message)
        self.assertIn('rebuild it again or delete it', message)
