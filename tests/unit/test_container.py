"""Names, labels and engine-state mapping of instance containers."""
from nova import context
from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from nova.tests.unit import fake_instance
import testtools

from nova_pydock import container
from nova_pydock import migration


class TestPowerStates(testtools.TestCase):

    def test_every_engine_state_is_mapped(self):
        expected = {
            'created': power_state.SHUTDOWN,
            'running': power_state.RUNNING,
            'paused': power_state.PAUSED,
            'restarting': power_state.RUNNING,
            'removing': power_state.NOSTATE,
            'exited': power_state.SHUTDOWN,
            'dead': power_state.CRASHED,
        }
        for status, state in expected.items():
            self.assertEqual(state,
                             container.power_state_of({'Status': status}),
                             status)

    def test_unknown_state_is_nostate(self):
        self.assertEqual(power_state.NOSTATE,
                         container.power_state_of({'Status': 'new-thing'}))

    def test_frozen_container_of_suspended_instance(self):
        instance = fake_instance.fake_instance_obj(
            context.get_admin_context(), vm_state=vm_states.ACTIVE,
            task_state=task_states.SUSPENDING)
        paused = {'Status': 'paused'}
        self.assertEqual(power_state.SUSPENDED,
                         container.power_state_of(paused, instance))
        instance.task_state = None
        instance.vm_state = vm_states.SUSPENDED
        self.assertEqual(power_state.SUSPENDED,
                         container.power_state_of(paused, instance))
        instance.vm_state = vm_states.PAUSED
        self.assertEqual(power_state.PAUSED,
                         container.power_state_of(paused, instance))


class TestNamesAndLabels(testtools.TestCase):

    def test_labels_name_instance_project_host(self):
        instance = fake_instance.fake_instance_obj(
            context.get_admin_context(), project_id='p1')
        labels = container.labels_for(instance, 'compute-1')
        self.assertEqual({
            container.LABEL_INSTANCE: instance.uuid,
            container.LABEL_NAME: instance.name,
            container.LABEL_PROJECT: 'p1',
            container.LABEL_HOST: 'compute-1',
        }, labels)
        self.assertEqual({container.LABEL_HOST: 'compute-1'},
                         container.host_filter('compute-1'))
        self.assertEqual('nova-%s' % instance.uuid,
                         container.name_for(instance))
        self.assertTrue(container.spawning_name_for(instance).endswith(
            container.SPAWNING_SUFFIX))

    def test_only_the_instances_own_name_is_an_instance_name(self):
        instance = fake_instance.fake_instance_obj(
            context.get_admin_context())
        # Names as the engine lists them, with a leading slash.
        self.assertTrue(container.is_instance_name(
            '/' + container.name_for(instance)))
        for kept in (container.spawning_name_for(instance),
                     migration.resize_source_name_for(instance)):
            self.assertFalse(container.is_instance_name('/' + kept))
