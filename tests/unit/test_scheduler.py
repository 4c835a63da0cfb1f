"""The scheduler weigher that keeps a server on its host when it moves.

Where the scheduler's record of instances misses the server, the weigher
asks the database (``scheduler._host_of``); tests/nova/test_resize covers
that on Nova's harness, here its answer is given.
"""
import importlib.util
import os
from unittest import mock

from nova import objects
from nova.scheduler import weights
from nova.tests.unit.scheduler import fakes
from oslo_config import fixture as config_fixture
import testtools

from nova_pydock import conf as pydock_conf
from nova_pydock import scheduler

objects.register_all()

SERVER = '5d2c5a64-6a4b-4b8e-9f40-1f6a2a8c7e01'
OTHER = '0b7e2f3c-1d2e-4c5b-8a9f-3e4d5c6b7a80'


def _host(name, instances=(), aggregates=()):
    return fakes.FakeHostState(
        name, name, {'aggregates': list(aggregates)},
        instances=[objects.Instance(uuid=uuid) for uuid in instances])


def _weigh(hosts, instance_uuid=SERVER):
    """Nova's own weighing, with only this weigher: best host first."""
    handler = weights.HostWeightHandler()
    spec = objects.RequestSpec(instance_uuid=instance_uuid)
    return [(w.obj.host, w.weight) for w in handler.get_weighed_objects(
        [scheduler.InstanceHostWeigher()], hosts, spec)]


class TestInstanceHostWeigher(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(pydock_conf.CONF))

    def test_the_servers_host_comes_first(self):
        hosts = [_host('empty'), _host('its-host', [SERVER, OTHER]),
                 _host('busy', [OTHER])]
        self.assertEqual([('its-host', 1000.0), ('empty', 0.0),
                          ('busy', 0.0)], _weigh(hosts))

    @mock.patch.object(scheduler, '_host_of', return_value=None)
    def test_new_server_weighs_the_same_everywhere(self, host_of):
        hosts = [_host('a', [OTHER]), _host('b')]
        self.assertEqual({0.0}, {w for _, w in _weigh(hosts)})
        host_of.assert_called_once()

    @mock.patch.object(scheduler, '_host_of', return_value='b')
    def test_untracked_server_found_in_the_database(self, host_of):
        hosts = [_host('a', [OTHER]), _host('b'), _host('c')]
        self.assertEqual([('b', 1000.0), ('a', 0.0), ('c', 0.0)],
                         _weigh(hosts))

    def test_multiplier_from_config_and_aggregate(self):
        # Nova scales each weigher's weights to 0..1 over the hosts, so
        # it takes two hosts to see the multiplier.
        self.conf.config(instance_host_weight_multiplier=5.0,
                         group='pydock')
        self.assertEqual([('h', 5.0), ('g', 0.0)],
                         _weigh([_host('g'), _host('h', [SERVER])]))
        aggregate = objects.Aggregate(
            id=1, name='pydock', hosts=['h'],
            metadata={'pydock_instance_host_weight_multiplier': '2.5'})
        self.assertEqual([('h', 2.5), ('g', 0.0)], _weigh(
            [_host('g'), _host('h', [SERVER], aggregates=[aggregate])]))


class TestConfiguredAsShipped(testtools.TestCase):

    def test_weight_classes_of_the_cloud_and_devstack_load(self):
        """Nova's loader finds every weigher that tools/cloud and the
        devstack plugin configure, ours among them."""
        path = os.path.join(os.path.dirname(__file__), '..', '..',
                            'devstack', 'pydock_config.py')
        spec = importlib.util.spec_from_file_location('pydock_config', path)
        pydock_config = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(pydock_config)
        rows = {(sec, key): value
                for sec, key, value in pydock_config.nova_controller()}
        classes = rows['filter_scheduler', 'weight_classes'].split(',')
        loaded = weights.HostWeightHandler().get_matching_classes(classes)
        self.assertIn(scheduler.InstanceHostWeigher, loaded)
        self.assertGreater(len(loaded), 5)
