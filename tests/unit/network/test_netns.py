"""Naming and opening a container's network namespace (no privileges)."""
import os

import fixtures
import testtools

from nova_pydock.network import netns


class TestOpen(testtools.TestCase):

    def test_netns_path(self):
        self.assertEqual('/proc/42/ns/net', netns.path_of(42))
        self.assertEqual('/var/run/docker/netns/x',
                         netns.path_of('/var/run/docker/netns/x'))
        for bad in (0, -1, True, 'relative/path', None, 4.2):
            self.assertRaises(ValueError, netns.path_of, bad)

    def test_missing_namespace(self):
        error = self.assertRaises(FileNotFoundError, netns.open_fd,
                                  '/nonexistent/netns')
        self.assertIn('does not exist', str(error))

    def test_only_namespace_files_are_opened(self):
        path = self.useFixture(fixtures.TempDir()).join('ns')
        open(path, 'w').close()
        for other in (path, '/dev/null'):
            error = self.assertRaises(FileNotFoundError,
                                      netns.open_fd, other)
            self.assertIn('not a namespace file', str(error))

    def test_other_kind_of_namespace(self):
        error = self.assertRaises(FileNotFoundError, netns.open_fd,
                                  '/proc/self/ns/uts')
        self.assertIn('not a network namespace', str(error))

    def test_own_namespace(self):
        os.close(netns.open_fd('/proc/self/ns/net'))

    def test_gone_is_typed(self):
        """Every "no such namespace" is NamespaceGoneError, which the
        facade tells apart from other missing files without reading the
        message."""
        empty = self.useFixture(fixtures.TempDir()).join('ns')
        open(empty, 'w').close()
        for path in ('/nonexistent/netns', empty, '/proc/self/ns/uts'):
            self.assertRaises(netns.NamespaceGoneError, netns.open_fd, path)

    def test_gone_survives_the_privsep_round_trip(self):
        """oslo.privsep raises ``type(exc)(*exc.args)`` on the caller's
        side: the type, errno and message come through."""
        error = self.assertRaises(netns.NamespaceGoneError, netns.open_fd,
                                  '/nonexistent/netns')
        again = type(error)(*error.args)
        self.assertIsInstance(again, FileNotFoundError)
        self.assertEqual((error.errno, str(error)), (again.errno, str(again)))

    def test_entered_returns_home(self):
        own = os.stat('/proc/thread-self/ns/net').st_ino
        fd = netns.open_fd('/proc/self/ns/net')
        try:
            with netns.entered(fd):
                pass
        finally:
            os.close(fd)
        self.assertEqual(own, os.stat('/proc/thread-self/ns/net').st_ino)
