"""The devstack plugin: shellcheck, and the settings it shares with
tools/cloud (devstack/pydock_config.py).

Devstack itself cannot run here (it clones from the internet), so the
plugin is checked statically, and its configuration source is checked to
say what the one-command cloud runs with.
"""
import os
import shutil
import subprocess
import sys

import testtools

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEVSTACK = os.path.join(ROOT, 'devstack')
CONFIG = os.path.join(DEVSTACK, 'pydock_config.py')


def sh(argv):
    return subprocess.run(argv, check=False, capture_output=True, text=True)


def rows(*args):
    res = sh([sys.executable, CONFIG] + list(args))
    assert res.returncode == 0, res.stderr
    return [tuple(line.split('\t')) for line in res.stdout.splitlines()]


class DevstackPluginTest(testtools.TestCase):

    def test_shellcheck(self):
        if not shutil.which('shellcheck'):
            if os.geteuid() != 0 or not os.path.exists('/usr/bin/apt-get'):
                self.skipTest('shellcheck is not installed')
            sh([os.path.join(ROOT, 'tools', 'lib', 'apt.sh'), 'shellcheck'])
        res = sh(['shellcheck', '-x',
                  os.path.join(DEVSTACK, 'plugin.sh'),
                  os.path.join(DEVSTACK, 'settings'),
                  os.path.join(DEVSTACK, 'override-defaults')])
        self.assertEqual(0, res.returncode, res.stdout + res.stderr)

    def test_nova_compute_settings(self):
        got = rows('nova-compute', 'unix:///run/engine.sock')
        self.assertIn(('DEFAULT', 'compute_driver', 'pydock.PyDockDriver'),
                      got)
        self.assertIn(('pydock', 'engine_url', 'unix:///run/engine.sock'),
                      got)
        self.assertIn(('pydock', 'metadata_route', 'none'), got)
        self.assertIn(('pydock', 'metadata_route', 'dhcp'), rows(
            'nova-compute', 'unix:///run/engine.sock', 'dhcp'))

    def test_allocation_ratios_and_quotas_fit_500_tiny_servers(self):
        """The density of issue 17: 500 c1.tiny servers on one host of
        2 cores, 24 GiB (Nova's 512 MiB reserved) and a 250 GB disk fit
        the ratios, and the quotas of the users' project let them boot."""
        got = {(sec, key): float(value) for sec, key, value in rows(
            'nova-compute') if key.endswith('_allocation_ratio')}
        tiny = {row[0]: row for row in rows('flavors')}['c1.tiny']
        ram, vcpus, disk = (int(v) for v in tiny[1:4])
        servers = 500
        self.assertGreaterEqual(
            got['DEFAULT', 'initial_cpu_allocation_ratio'] * 2,
            servers * vcpus)
        self.assertGreaterEqual(
            got['DEFAULT', 'initial_ram_allocation_ratio']
            * (24 * 1024 - 512), servers * ram)
        self.assertGreaterEqual(
            got['DEFAULT', 'initial_disk_allocation_ratio'] * 250,
            servers * disk)
        quotas = {key: int(value) for key, value in rows('quotas')}
        self.assertEqual({'instances', 'cores', 'ram', 'ports'}, set(quotas))
        self.assertGreaterEqual(quotas['instances'], servers)
        self.assertGreaterEqual(quotas['cores'], servers * vcpus)
        self.assertGreaterEqual(quotas['ram'], servers * ram)
        self.assertGreater(quotas['ports'], servers)
        with open(os.path.join(DEVSTACK, 'plugin.sh')) as f:
            self.assertIn('"$PYDOCK_CONFIG" quotas', f.read())

    def test_nova_controller_settings(self):
        got = {(sec, key): value for sec, key, value in rows(
            'nova-controller')}
        self.assertEqual('true', got['DEFAULT', 'allow_resize_to_same_host'])
        self.assertEqual(['nova.scheduler.weights.all_weighers',
                          'nova_pydock.scheduler.InstanceHostWeigher'],
                         got['filter_scheduler', 'weight_classes'].split(','))

    def test_serial_console_settings(self):
        got = {(sec, key): value for sec, key, value in rows(
            'serial-console', 'ws://192.0.2.1:6083/', '192.0.2.7')}
        self.assertEqual('true', got['serial_console', 'enabled'])
        self.assertEqual('ws://192.0.2.1:6083/',
                         got['serial_console', 'base_url'])
        self.assertEqual('192.0.2.7',
                         got['serial_console', 'proxyclient_address'])
        with open(os.path.join(DEVSTACK, 'settings')) as f:
            self.assertIn('enable_service n-sproxy', f.read())

    def test_glance_settings(self):
        got = {(sec, key): value for sec, key, value in rows(
            'glance-api', '/srv/layers', 'local', '/srv/staging',
            '/srv/tasks')}
        self.assertEqual('local:layers', got['DEFAULT', 'enabled_backends'])
        self.assertEqual('local', got['glance_store', 'default_backend'])
        self.assertEqual('/srv/layers', got['local', 'layers_store_datadir'])
        self.assertIn('docker',
                      got['image_format', 'container_formats'].split(','))
        self.assertEqual('/srv/staging', got[
            'os_glance_staging_store', 'filesystem_store_datadir'])

    def test_flavors(self):
        flavors = {row[0]: row for row in rows('flavors')}
        self.assertEqual({'c1.tiny', 'c1.small', 'c1.medium'}, set(flavors))
        for _name, ram, vcpus, disk, specs in flavors.values():
            self.assertGreater(int(ram), 0)
            self.assertGreater(int(vcpus), 0)
            self.assertGreater(int(disk), 0)
            self.assertIn('pydock:pids_limit=', specs)

    def test_plugin_phases(self):
        with open(os.path.join(DEVSTACK, 'plugin.sh')) as f:
            text = f.read()
        for phase in ('"install"', '"post-config"', '"extra"'):
            self.assertIn(phase, text)
        self.assertIn('pydock_config.py', text)
