"""Input checks of the privileged port functions (no privileges needed)."""
import os

import fixtures
import testtools

from nova_pydock.network import plumbing
from nova_pydock.network import privsep


class TestChecks(testtools.TestCase):

    def setUp(self):
        super().setUp()
        # In-process: these calls never get as far as the kernel.
        self.useFixture(fixtures.MockPatchObject(
            privsep.net_admin_pctxt, 'client_mode', False))

    def test_host_mac(self):
        self.assertEqual('fe:16:3e:00:00:01',
                         plumbing._host_mac('fa:16:3e:00:00:01'))
        self.assertEqual('fa:16:3e:00:00:01',
                         plumbing._host_mac('FE:16:3e:00:00:01'))

    def test_port_checks(self):
        good = {'devname': 'tapx', 'ifname': 'eth0',
                'mac': 'fa:16:3e:00:00:01', 'mtu': 1500,
                'addresses': ['198.18.0.1/24'],
                'routes': [{'dst': '0.0.0.0/0', 'gateway': '198.18.0.254'}]}
        plumbing._check_port(good)
        for key, value in (('mac', 'fa:16'), ('mtu', 10),
                           ('devname', 'x' * 20), ('ifname', 'a/b'),
                           ('addresses', ['198.18.0.1/99']),
                           ('routes', [{'dst': 'x', 'gateway': 'y'}])):
            self.assertRaises(ValueError, plumbing._check_port,
                              dict(good, **{key: value}))


class TestWriteResolvConf(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatchObject(
            privsep.net_admin_pctxt, 'client_mode', False))
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.dir, 'resolv.conf')
        with open(self.path, 'w') as f:
            f.write('nameserver 127.0.0.11\noptions ndots:0\n' * 10)

    def test_replaces_content(self):
        plumbing.write_resolv_conf(self.path, 'nameserver 198.18.0.53\n')
        with open(self.path) as f:
            self.assertEqual('nameserver 198.18.0.53\n', f.read())

    def test_refuses_other_files(self):
        other = os.path.join(self.dir, 'passwd')
        open(other, 'w').close()
        self.assertRaises(ValueError, plumbing.write_resolv_conf, other, 'x')
        self.assertRaises(ValueError, plumbing.write_resolv_conf,
                          'resolv.conf', 'x')

    def test_refuses_the_hosts_own(self):
        self.assertRaises(ValueError, plumbing.write_resolv_conf,
                          '/etc/resolv.conf', 'x')
        self.assertRaises(ValueError, plumbing.write_resolv_conf,
                          '/etc/../etc/resolv.conf', 'x')

    def test_refuses_symlink(self):
        target = os.path.join(self.dir, 'target')
        open(target, 'w').close()
        link_dir = os.path.join(self.dir, 'l')
        os.mkdir(link_dir)
        os.symlink(target, os.path.join(link_dir, 'resolv.conf'))
        self.assertRaises(OSError, plumbing.write_resolv_conf,
                          os.path.join(link_dir, 'resolv.conf'), 'x')
        with open(target) as f:
            self.assertEqual('', f.read())

    def test_never_creates(self):
        missing = os.path.join(self.dir, 'sub', 'resolv.conf')
        self.assertRaises(FileNotFoundError, plumbing.write_resolv_conf,
                          missing, 'x')

    def test_bounded_ascii(self):
        self.assertRaises(ValueError, plumbing.write_resolv_conf, self.path,
                          'x' * (plumbing.RESOLV_CONF_MAX + 1))
        self.assertRaises(UnicodeEncodeError, plumbing.write_resolv_conf,
                          self.path, 'nameserver \u00e9\n')
