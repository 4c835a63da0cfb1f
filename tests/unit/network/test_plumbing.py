"""Input checks of the privileged functions (no privileges needed)."""
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

    def test_context(self):
        self.assertEqual('pydock_net_admin',
                         privsep.net_admin_pctxt.cfg_section)
        self.assertEqual('nova_pydock.network.privsep.net_admin_pctxt',
                         privsep.net_admin_pctxt.pypath)

    def test_netns_path(self):
        self.assertEqual('/proc/42/ns/net', plumbing._netns_path(42))
        self.assertEqual('/var/run/docker/netns/x',
                         plumbing._netns_path('/var/run/docker/netns/x'))
        for bad in (0, -1, True, 'relative/path', None, 4.2):
            self.assertRaises(ValueError, plumbing._netns_path, bad)

    def test_ifname(self):
        self.assertEqual('tap1234-ab', plumbing._check_ifname('tap1234-ab'))
        for bad in ('', 'x' * 16, 'a/b', 'a b', '..', None, 7):
            self.assertRaises(ValueError, plumbing._check_ifname, bad)

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

    def test_missing_namespace(self):
        error = self.assertRaises(FileNotFoundError, plumbing._open_netns,
                                  '/nonexistent/netns')
        self.assertIn('does not exist', str(error))

    def test_only_namespace_files_are_opened(self):
        path = self.useFixture(fixtures.TempDir()).join('ns')
        open(path, 'w').close()
        for other in (path, '/dev/null'):
            error = self.assertRaises(FileNotFoundError,
                                      plumbing._open_netns, other)
            self.assertIn('not a namespace file', str(error))

    def test_other_kind_of_namespace(self):
        error = self.assertRaises(FileNotFoundError, plumbing._open_netns,
                                  '/proc/self/ns/uts')
        self.assertIn('not a network namespace', str(error))

    def test_own_namespace(self):
        os.close(plumbing._open_netns('/proc/self/ns/net'))


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
