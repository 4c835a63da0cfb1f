"""Where a host's consoles listen, and the signed CONNECT paths
(nova_pydock.console.access)."""
import json
import os
import stat

import fixtures
import testtools

from nova_pydock.console import access

UUID = '1b4e28ba-2fa1-11d2-883f-0016d3cca427'


class TestAccess(testtools.TestCase):

    def test_path_round_trip(self):
        key = b'k' * 32
        path = access.path_for(key, UUID, '/bin/ash')
        self.assertTrue(path.startswith('/' + UUID + '?'))
        self.assertNotIn(' ', path)
        self.assertEqual((UUID, '/bin/ash'), access.parse_path(key, path))

    def test_paths_not_signed_by_this_key_are_refused(self):
        key = b'k' * 32
        path = access.path_for(key, UUID, '/bin/sh')
        for forged in (access.path_for(b'x' * 32, UUID, '/bin/sh'),
                       path.replace('%2Fbin%2Fsh', '%2Fbin%2Fash'),
                       path.replace(UUID, UUID[:-1] + '8'),
                       '/' + UUID, '', 'garbage'):
            self.assertRaises(access.BadPathError, access.parse_path, key,
                              forged)

    def test_port_range(self):
        self.assertEqual(range(10000, 20000),
                         access.port_range('10000:20000'))
        for bad in ('10000', '2:1', '0:10', 'a:b', '1:70000'):
            self.assertRaises(ValueError, access.port_range, bad)

    def test_host_state_is_kept_private_and_survives_a_restart(self):
        directory = self.useFixture(fixtures.TempDir()).path
        state = access.HostState(directory, 'host1').load()
        self.assertIsNone(state.port)
        state.save(10007)
        mode = os.stat(state.path).st_mode
        self.assertEqual(0o600, stat.S_IMODE(mode))
        again = access.HostState(directory, 'host1').load()
        self.assertEqual((10007, state.key), (again.port, again.key))
        other = access.HostState(directory, 'host2').load()
        self.assertNotEqual(state.key, other.key)

    def test_unreadable_state_starts_afresh(self):
        directory = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(directory, 'pydock-console-h.json'), 'w') as f:
            json.dump({'port': 'x'}, f)
        state = access.HostState(directory, 'h').load()
        self.assertIsNone(state.port)
        self.assertEqual(32, len(state.key))
