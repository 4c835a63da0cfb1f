"""The helpers every privileged network module shares."""
import errno
from unittest import mock

from pyroute2.netlink.exceptions import NetlinkError
import testtools

from nova_pydock.network import netlink


class TestNetlink(testtools.TestCase):

    def test_ifname(self):
        self.assertEqual('tap1234-ab', netlink.check_ifname('tap1234-ab'))
        for bad in ('', 'x' * 16, 'a/b', 'a b', '..', None, 7):
            self.assertRaises(ValueError, netlink.check_ifname, bad)

    def test_request_error_names_what(self):
        call = mock.Mock(side_effect=NetlinkError(errno.EEXIST))
        error = self.assertRaises(OSError, netlink.request, 'create veth x',
                                  call, 'add', ifname='x')
        self.assertEqual(errno.EEXIST, error.errno)
        self.assertIn('create veth x: File exists', str(error))
        call.assert_called_once_with('add', ifname='x')

    def test_index_of(self):
        ipr = mock.Mock()
        ipr.link_lookup.side_effect = [[7], []]
        self.assertEqual(7, netlink.index_of(ipr, 'eth0'))
        self.assertIsNone(netlink.index_of(ipr, 'eth9'))
