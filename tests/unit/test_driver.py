"""The driver keeps the compute host it was made for.

Nova builds a driver while ``[DEFAULT] host`` names its service and passes
the same name to ``init_host``. Where several nova-compute services live in
one process (Nova's functional harness), ``CONF.host`` names whichever
started last; each driver must still label, list and report its own host.
"""
from unittest import mock

from oslo_config import fixture as config_fixture
import testtools

from nova_pydock import conf as pydock_conf
from nova_pydock import container
from nova_pydock import driver as pydock_driver

CONF = pydock_conf.CONF


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
