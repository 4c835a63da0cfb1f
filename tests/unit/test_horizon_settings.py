"""Horizon's local_settings.py from devstack/pydock_config.py: a module
Django can import, with the settings the dashboard needs for containers."""
import importlib.util
import os
import subprocess
import sys

import testtools

PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'devstack', 'pydock_config.py')


def load_pydock_config():
    spec = importlib.util.spec_from_file_location('pydock_config', PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class HorizonSettingsTest(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.config = load_pydock_config()
        self.text = self.config.render_python(self.config.horizon(
            'http://127.0.0.1:5000', '/srv/horizon', 'k3y'))
        self.settings = {}
        exec(compile(self.text, 'local_settings.py', 'exec'),  # noqa: S102
             self.settings)

    def test_console_tab_reaches_the_serial_console(self):
        self.assertEqual('SERIAL', self.settings['CONSOLE_TYPE'])
        # the tab frames a page of the dashboard itself
        self.assertEqual('SAMEORIGIN', self.settings['X_FRAME_OPTIONS'])

    def test_launch_offers_no_volumes(self):
        defaults = self.settings['LAUNCH_INSTANCE_DEFAULTS']
        self.assertIs(False, defaults['create_volume'])
        self.assertIs(True, defaults['hide_create_volume'])
        self.assertIs(True, defaults['disable_volume'])
        self.assertIs(True, defaults['disable_volume_snapshot'])

    def test_sessions_and_static_files_in_the_state_dir(self):
        self.assertEqual('http://127.0.0.1:5000/v3',
                         self.settings['OPENSTACK_KEYSTONE_URL'])
        self.assertEqual('k3y', self.settings['SECRET_KEY'])
        self.assertEqual('/srv/horizon/sessions',
                         self.settings['SESSION_FILE_PATH'])
        self.assertEqual('/srv/horizon/static', self.settings['STATIC_ROOT'])
        self.assertIs(True, self.settings['COMPRESS_OFFLINE'])

    def test_command_line_prints_the_same(self):
        out = subprocess.run(
            [sys.executable, PATH, 'horizon', 'http://127.0.0.1:5000',
             '/srv/horizon', 'k3y'], capture_output=True, text=True,
            check=True).stdout
        self.assertEqual(self.text, out)

    def test_devstack_gets_the_container_settings_only(self):
        out = subprocess.run(
            [sys.executable, PATH, 'horizon-containers'],
            capture_output=True, text=True, check=True).stdout
        settings = {}
        exec(compile(out, 'local_settings.py', 'exec'),  # noqa: S102
             settings)
        names = {k for k in settings if k.isupper()}
        self.assertEqual({'CONSOLE_TYPE', 'X_FRAME_OPTIONS',
                          'LAUNCH_INSTANCE_DEFAULTS',
                          'OPENSTACK_HYPERVISOR_FEATURES'}, names)
        for name in names:
            self.assertEqual(self.settings[name], settings[name])
