"""One listing answers a pass of Nova's power state sync."""
import types

from nova import exception
import testtools

from nova_pydock import power_states


def instance(uuid):
    return types.SimpleNamespace(uuid=uuid)


class TestListedStates(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.listed = [{'Names': ['/nova-a'], 'State': 'running'},
                       {'Names': ['/nova-b'], 'State': 'exited'}]
        self.lists = 0
        self.now = 100.0
        self.changes = 0
        self.states = power_states.ListedStates(
            self._list, lambda: self.changes, max_age=2.0,
            clock=lambda: self.now)

    def _list(self):
        self.lists += 1
        return [dict(entry) for entry in self.listed]

    def test_one_listing_answers_every_instance(self):
        self.assertEqual({'Status': 'running'},
                         self.states.state_of(instance('a')))
        self.assertEqual({'Status': 'exited'},
                         self.states.state_of(instance('b')))
        self.assertEqual(1, self.lists)

    def test_instance_without_its_container_is_not_found(self):
        self.listed.append({'Names': ['/nova-c-spawning'],
                            'State': 'running'})
        self.assertRaises(exception.InstanceNotFound, self.states.state_of,
                          instance('c'))

    def test_a_change_by_the_driver_lists_again(self):
        self.states.state_of(instance('a'))
        self.listed[0]['State'] = 'exited'
        self.changes += 1
        self.assertEqual({'Status': 'exited'},
                         self.states.state_of(instance('a')))
        self.assertEqual(2, self.lists)

    def test_a_listing_is_used_for_max_age_seconds_at_most(self):
        self.states.state_of(instance('a'))
        self.listed[0]['State'] = 'paused'  # behind the driver's back
        self.now += 2.0
        self.assertEqual({'Status': 'running'},
                         self.states.state_of(instance('a')))
        self.now += 0.1
        self.assertEqual({'Status': 'paused'},
                         self.states.state_of(instance('a')))
        self.assertEqual(2, self.lists)
