"""pydock-status: one line per check, with what to do when it fails."""
import io
from unittest import mock

import fixtures
import testtools

from nova_pydock.cmd import status


class TestStatusCommand(testtools.TestCase):

    def _conf(self, value):
        return mock.Mock(compute_driver=value)

    def test_right_setting(self):
        ok, line = status.check_compute_driver(self._conf(
            'pydock.PyDockDriver'))
        self.assertTrue(ok)

    def test_misspelt_setting_says_what_to_write(self):
        for value in ('pydock.PydockDriver', 'nova.virt.pydock.PyDockDriver',
                      'nova_pydock.driver.PyDockDriver'):
            ok, line = status.check_compute_driver(self._conf(value))
            self.assertFalse(ok)
            self.assertIn('misspelt', line)
            self.assertIn('compute_driver = pydock.PyDockDriver', line)

    def test_other_driver(self):
        ok, line = status.check_compute_driver(self._conf('libvirt.'
                                                          'LibvirtDriver'))
        self.assertFalse(ok)
        self.assertIn('set compute_driver = pydock.PyDockDriver', line)

    def test_missing_nova_is_one_clear_line(self):
        real_import = status.importlib.import_module

        def no_nova(name):
            if name.startswith('nova.'):
                raise ImportError('No module named %r' % name)
            return real_import(name)

        with mock.patch.object(status.importlib, 'import_module', no_nova):
            ok, line = status.check_nova()
        self.assertFalse(ok)
        self.assertIn('install nova>=34', line)

    def _run(self, extra_pydock=''):
        """pydock-status on a nova.conf whose engine does not answer."""
        conf_file = self.useFixture(fixtures.TempDir()).join('nova.conf')
        with open(conf_file, 'w') as f:
            f.write('[DEFAULT]\ncompute_driver = pydock.PyDockDriver\n'
                    '[pydock]\nengine_url = unix:///nonexistent/docker.sock\n'
                    + extra_pydock)
        out = io.StringIO()
        with mock.patch('sys.stdout', out):
            failed = status.main(['--config-file', conf_file])
        return failed, out.getvalue()

    def test_missing_engine_names_socket_and_fix(self):
        failed, text = self._run()
        self.assertEqual(1, failed)
        self.assertIn('FAIL  Container engine at unix:///nonexistent/'
                      'docker.sock does not answer', text)
        self.assertIn('tools/ensure-engine', text)

    def test_unknown_capability_is_a_warning(self):
        failed, text = self._run(
            'allowed_cap_add = net_admin, CAP_SYS_PTRACE, NET-RAW\n')
        # Only the engine fails; the typo warns, nova-compute would start.
        self.assertEqual(1, failed)
        self.assertIn("WARN  [pydock] allowed_cap_add has 'NET-RAW', which "
                      "is no Linux capability", text)
        self.assertNotIn('net_admin', text.split('WARN')[1].split('\n')[0])

    def test_known_capabilities_are_ok(self):
        for value, shown in ((['NET_ADMIN', 'cap_sys_ptrace'],
                              'NET_ADMIN, cap_sys_ptrace'),
                             ([], '(empty: flavors add none)')):
            ok, line = status.check_allowed_cap_add(
                mock.Mock(pydock=mock.Mock(allowed_cap_add=value)))
            self.assertIs(True, ok)
            self.assertIn(shown, line)

class TestLiveRestoreCheck(testtools.TestCase):

    def _check(self, info):
        conf = mock.Mock()
        conf.pydock.engine_url = 'unix:///x.sock'
        with mock.patch('nova_pydock.engine.EngineClient.info',
                        return_value=info):
            return status.check_live_restore(conf)

    def test_on(self):
        self.assertEqual(True, self._check({'LiveRestoreEnabled': True})[0])

    def test_off_is_a_warning_with_what_to_do(self):
        verdict, line = self._check({'LiveRestoreEnabled': False})
        self.assertEqual(status.WARN, verdict)
        self.assertIn('--live-restore', line)
