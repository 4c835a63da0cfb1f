"""Personality files: the archive written into the container."""
import io
import tarfile

from nova import exception
from nova import objects
import testtools

from nova_pydock import personality


class TestPersonalityArchive(testtools.TestCase):

    instance = objects.Instance(uuid='8d5c0f1e-2f6a-4c57-9d3e-6f1b2a3c4d5e')

    def test_files_root_owned_0644_relative_to_root(self):
        data = personality.archive(self.instance, [
            ('/etc/app.conf', b'port=80\n'), ('/root/note', 'text')])
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            members = tar.getmembers()
            self.assertEqual(['etc/app.conf', 'root/note'],
                             [m.name for m in members])
            self.assertEqual({(0o644, 0, 0, tarfile.REGTYPE)},
                             {(m.mode, m.uid, m.gid, m.type)
                              for m in members})
            self.assertEqual(b'port=80\n',
                             tar.extractfile('etc/app.conf').read())
            self.assertEqual(b'text', tar.extractfile('root/note').read())

    def test_a_relative_path_is_taken_from_the_root(self):
        # As Nova's own file injection takes it (Tempest's rebuild test
        # injects 'rebuild.txt').
        data = personality.archive(self.instance, [
            ('rebuild.txt', b'a'), ('etc/test0.txt', b'b')])
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            self.assertEqual(['rebuild.txt', 'etc/test0.txt'],
                             tar.getnames())

    def test_paths_that_are_not_plain_files(self):
        for path in ('', '/', '/etc/../x', '../x', 'etc/', '/etc/',
                     '//etc/x', '/etc/x\0', None):
            exc = self.assertRaises(exception.BuildAbortException,
                                    personality.archive, self.instance,
                                    [(path, b'')])
            self.assertIn('not a plain file path', str(exc))

    def test_read_only_root_is_refused_before_the_engine(self):
        exc = self.assertRaises(
            exception.BuildAbortException, personality.inject, None, 'name',
            self.instance, [('/etc/x', b'')], read_only_root=True)
        self.assertIn('read-only root file system', str(exc))

    def test_no_files_no_call(self):
        self.assertIsNone(personality.inject(None, 'name', self.instance, [],
                                             read_only_root=True))
