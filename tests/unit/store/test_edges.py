"""Races and limits: same id twice at once, delete during open, link
limits, and memory use bounded however large the archive is."""
import errno
import hashlib
import os
import threading
import tracemalloc

from glance_store import exceptions
from glance_store import multi_backend

import docker_archives as archives
from glance_store_layers import blobstore
from tests.unit.store import base
from tests.unit.store import test_store

MIB = 1024 * 1024


def streamed_archive(layer_sizes, piece=MIB):
    """Yield a docker-style archive of big layers without ever holding a
    layer in memory; returns the sha256 of the whole stream via .digest."""
    import tarfile  # noqa: PLC0415 (only this helper needs it)

    block = hashlib.sha256(b'seed').digest() * (piece // 32)

    def gen():
        total = 0
        for i, size in enumerate(layer_sizes):
            info = tarfile.TarInfo('%064x/layer.tar' % i)
            info.size = size
            info.mtime = 0
            header = info.tobuf(tarfile.USTAR_FORMAT)
            total += len(header)
            yield header
            left = size
            while left:
                data = block[:min(piece, left)]
                left -= len(data)
                yield data
            pad = b'\0' * (-size % 512)
            yield pad
        yield b'\0' * 1024
    return gen


class IterReader:
    """A file-like upload over a generator (what Glance hands a store)."""

    def __init__(self, gen):
        self._gen = gen
        self._buf = b''

    def read(self, size=-1):
        while len(self._buf) < size:
            try:
                self._buf += next(self._gen)
            except StopIteration:
                break
        data, self._buf = self._buf[:size], self._buf[size:]
        return data


class TestEdges(base.LayersStoreTestCase):

    chunk_size = 64 * 1024

    def setUp(self):
        super().setUp()
        self.base = archives.layer_tar('base', 200000)
        self.data = archives.docker_archive([self.base])

    def test_same_id_uploaded_twice_at_once(self):
        barrier = threading.Barrier(2, timeout=30)
        outcomes = []

        def upload(seed):
            data = archives.docker_archive(
                [self.base, archives.layer_tar(seed, 20000)])
            source = test_store.HookedReader(data, len(data) - 1,
                                             barrier.wait)
            try:
                self.add('same', data, source=source)
                outcomes.append(('ok', data))
            except exceptions.Duplicate:
                outcomes.append(('dup', data))

        threads = [threading.Thread(target=upload, args=(s,))
                   for s in ('a', 'b')]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(['dup', 'ok'], sorted(o for o, _d in outcomes))
        (winner,) = [d for o, d in outcomes if o == 'ok']
        self.assertEqual(winner, self.read('layers://fast/same'))
        self.assertEqual(2, len(self.blob_files()))
        self.assert_clean()

    def test_image_deleted_while_a_read_opens_it(self):
        self.add('racy', self.data)
        real_open_in = self.store._open_in

        def open_then_delete(dir_fd, name, image_id):
            f = real_open_in(dir_fd, name, image_id)
            if name == blobstore.RECIPE:
                self.store.blobs.remove_image(image_id)
            return f

        self.store._open_in = open_then_delete
        self.assertRaises(exceptions.NotFound, multi_backend.get,
                          'layers://fast/racy', base.BACKEND)
        self.assertEqual([], self.blob_files())

    def test_hard_link_limit_starts_a_new_copy(self):
        uri_a = self.add('a', self.data)
        digest = hashlib.sha256(self.base).hexdigest()
        canonical = self.store.blobs.blob_path(digest)
        real_link = os.link
        full_inode = os.stat(canonical).st_ino

        def link(src, dst, *args, **kwargs):
            # As if the first copy had reached ext4's 65000 links.
            if os.stat(src).st_ino == full_inode:
                raise OSError(errno.EMLINK, 'Too many links')
            return real_link(src, dst, *args, **kwargs)

        self.patch(blobstore.os, 'link', link)
        uri_b = self.add('b', self.data)
        self.patch(blobstore.os, 'link', real_link)
        old = os.stat(os.path.join(self.datadir, 'images', 'a', digest))
        new = os.stat(canonical)
        self.assertNotEqual(old.st_ino, new.st_ino)
        self.assertEqual((1, 2), (old.st_nlink, new.st_nlink))
        for uri in (uri_a, uri_b):
            self.assertEqual(self.data, self.read(uri))
        multi_backend.delete(uri_b, base.BACKEND)
        self.assertEqual(self.data, self.read(uri_a))
        self.assertEqual([], self.blob_files())
        multi_backend.delete(uri_a, base.BACKEND)
        self.assertEqual([], os.listdir(os.path.join(self.datadir,
                                                     'images')))

    def test_interrupted_release_leaves_no_orphan(self):
        uri = self.add('a', self.data)
        real_rename = os.rename
        crashed = []

        def crash_once(src, dst, *args, **kwargs):
            if '.free-' in str(dst) and not crashed:
                crashed.append(dst)
                raise RuntimeError('killed')
            return real_rename(src, dst, *args, **kwargs)

        self.patch(blobstore.os, 'rename', crash_once)
        self.assertRaises(RuntimeError, multi_backend.delete, uri,
                          base.BACKEND)
        self.patch(blobstore.os, 'rename', real_rename)
        self.assertEqual(1, len(crashed))
        # The canonical name is gone, the image's link is still there for
        # the next release to find.
        self.assertEqual([], self.blob_files())
        (leftover,) = [n for n in self.work_entries()
                       if not n.endswith('.lock')]
        path = os.path.join(self.datadir, 'work', leftover)
        self.assertEqual(1, len(os.listdir(path)))
        self.store.blobs.release_dir(path)
        self.assertEqual([], self.work_entries())

    def test_start_up_removes_unreferenced_blobs(self):
        self.add('a', self.data)
        # As if someone removed an image directory by hand.
        image_dir = os.path.join(self.datadir, 'images', 'a')
        for name in os.listdir(image_dir):
            os.unlink(os.path.join(image_dir, name))
        os.rmdir(image_dir)
        self.assertEqual(1, len(self.blob_files()))
        self.store.configure()
        self.assertEqual([], self.blob_files())

    def _temp_blob(self, work, content):
        path = work.temp_path()
        f = open(path, 'xb')  # closed by adopt()
        f.write(content)
        return f, path

    def test_blob_published_by_another_upload_meanwhile(self):
        blobs = self.store.blobs
        content = b'layer' * 1000
        digest = hashlib.sha256(content).hexdigest()
        first, second = blobs.new_work(), blobs.new_work()
        self.addCleanup(first.abort)
        self.addCleanup(second.abort)
        real = blobstore.BlobStore._link_existing
        calls = []

        def publish_meanwhile(store, canonical, link, size):
            # After the first upload found no canonical copy, the second
            # publishes one, before the first takes the store lock.
            found = real(store, canonical, link, size)
            calls.append(found)
            if len(calls) == 1:
                self.assertTrue(second.adopt(
                    *self._temp_blob(second, content), digest,
                    len(content)))
            return found

        self.patch(blobstore.BlobStore, '_link_existing', publish_meanwhile)
        self.assertFalse(first.adopt(*self._temp_blob(first, content),
                                     digest, len(content)))
        canonical = os.stat(blobs.blob_path(digest))
        self.assertEqual(3, canonical.st_nlink)
        self.assertEqual(canonical.st_ino, os.stat(
            os.path.join(first.path, digest)).st_ino)
        # No temp file left: our unshared copy was replaced.
        self.assertEqual([digest], os.listdir(first.path))

    def _peak_memory(self, func):
        tracemalloc.start()
        try:
            func()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def test_memory_is_bounded(self):
        # 48 MiB in, 48 MiB out, a whole blob re-homed from a truncated
        # stream: Python allocations stay within the documented ~6 MiB
        # (see the layers_store_chunk_size help) plus the test's own
        # 1 MiB source pieces.
        sizes = [40 * MIB, 8 * MIB]
        digest = hashlib.sha256()
        for piece in streamed_archive(sizes)():
            digest.update(piece)
        total = 0

        def add():
            nonlocal total
            uri, total, _md5, _mh, _meta = multi_backend.add_with_multihash(
                self.conf, 'big', IterReader(streamed_archive(sizes)()), 0,
                base.BACKEND, 'sha512')

        self.assertLess(self._peak_memory(add), 8 * MIB)
        self.assertGreater(total, 48 * MIB)

        check = hashlib.sha256()

        def get():
            data, _size = multi_backend.get('layers://fast/big',
                                            base.BACKEND)
            for piece in data:
                check.update(piece)

        self.assertLess(self._peak_memory(get), 2 * MIB)
        self.assertEqual(digest.hexdigest(), check.hexdigest())

        def add_truncated():
            stream = streamed_archive(sizes)()
            pieces = iter(lambda: next(stream, None), None)
            short = (p for i, p in enumerate(pieces) if i < 45)
            multi_backend.add_with_multihash(
                self.conf, 'short', IterReader(short), 0, base.BACKEND,
                'sha512')

        self.assertLess(self._peak_memory(add_truncated), 8 * MIB)
        self.assertEqual(1, test_store.report.collect(
            self.datadir)['images_not_split'])
        self.assert_clean()
