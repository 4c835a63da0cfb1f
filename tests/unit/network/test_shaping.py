"""Input checks of the tc entrypoint (no privileges needed); the shaping
itself is measured in tests/functional/network/test_plug."""
from unittest import mock

import fixtures
import testtools

from nova_pydock.network import privsep
from nova_pydock.network import shaping


class TestChecks(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatchObject(
            privsep.net_admin_pctxt, 'client_mode', False))

    def test_bad_names_reach_no_netlink(self):
        with mock.patch.object(shaping, 'IPRoute') as iproute:
            for devname, ifb in (('tap/x', 'ifbx'), ('tapx', 'i' * 16),
                                 ('tapx', None)):
                self.assertRaises(ValueError, shaping.set_shaping, devname,
                                  ifb, {'average': 100})
        iproute.assert_not_called()
