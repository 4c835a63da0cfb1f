"""A full or read-only file system, for real: a small tmpfs (needs root)."""
import os
import subprocess

from glance_store import capabilities
from glance_store import exceptions
import testtools

import docker_archives as archives
from glance_store_layers import store as layers_store
from tests.unit.store import base


@testtools.skipUnless(os.geteuid() == 0, 'mounting a tmpfs needs root')
class TestStorageErrors(base.LayersStoreTestCase):

    def setUp(self):
        super().setUp()
        self.mnt = os.path.join(os.path.dirname(self.datadir), 'mnt')
        os.mkdir(self.mnt)
        subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs',
                        self.mnt], check=True)
        self.addCleanup(subprocess.run, ['umount', '-l', self.mnt],
                        check=False)
        self.datadir = os.path.join(self.mnt, 'layers')
        self.config(layers_store_datadir=self.datadir, group=base.BACKEND)
        self.store = layers_store.Store(self.conf, backend=base.BACKEND)
        self.store.configure()
        self.register_store_backend_schemes(self.store, 'layers',
                                            base.BACKEND)
        self.fits = archives.docker_archive(
            [archives.layer_tar('base', 300000)])
        self.too_big = archives.docker_archive(
            [archives.layer_tar('big%d' % i, 300000) for i in range(4)])

    def _add(self, image_id, data):
        return self.store.add(image_id, iter([data]), len(data), 'sha512')

    def test_full_file_system(self):
        self._add('fits', self.fits)
        exc = self.assertRaises(exceptions.StorageFull, self._add,
                                'too-big', self.too_big)
        self.assertIn('full', str(exc))
        # Nothing of the failed upload is left; the other image is fine.
        self.assertEqual([], self.work_entries())
        self.assertEqual(1, len(self.blob_files()))
        data, _size = self.store.get(self.location('fits'))
        self.assertEqual(self.fits, b''.join(data))

    def test_read_only_file_system(self):
        self._add('fits', self.fits)
        subprocess.run(['mount', '-o', 'remount,ro', self.mnt], check=True)
        self.assertRaises(exceptions.StorageWriteDenied, self._add,
                          'denied', self.fits)
        data, _size = self.store.get(self.location('fits'))
        self.assertEqual(self.fits, b''.join(data))
        # A store started on a read-only directory serves reads only.
        store = layers_store.Store(self.conf, backend=base.BACKEND)
        store.configure()
        self.assertFalse(store.is_capable(capabilities.BitMasks.WRITE_ACCESS))
        data, _size = store.get(self.location('fits'))
        self.assertEqual(self.fits, b''.join(data))
