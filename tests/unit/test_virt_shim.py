"""Nova loads the driver through its own loader, as an operator sets it."""
from unittest import mock

from nova.virt import driver as nova_driver
import testtools

from nova_pydock import driver as pydock_driver


class TestNovaLoadsDriver(testtools.TestCase):

    def test_load_compute_driver_finds_shim(self):
        loaded = nova_driver.load_compute_driver(mock.sentinel.virtapi,
                                                 'pydock.PyDockDriver')
        self.assertIsInstance(loaded, pydock_driver.PyDockDriver)
        self.assertIs(mock.sentinel.virtapi, loaded.virtapi)

    def test_wrong_spelling_is_refused_by_nova(self):
        with mock.patch.object(nova_driver.LOG, 'exception'):
            self.assertRaises(SystemExit, nova_driver.load_compute_driver,
                              mock.sentinel.virtapi, 'pydock.PydockDriver')
