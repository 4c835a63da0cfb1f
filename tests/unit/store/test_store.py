"""The layers store through glance_store's own multi-store API."""
import gzip
import hashlib
import io
import os
import random
import tarfile
import threading

from glance_store import capabilities
from glance_store import exceptions
from glance_store import multi_backend
from glance_store.tests.unit import test_store_capabilities
import stevedore

import docker_archives as archives
from glance_store_layers import report
from glance_store_layers import store as layers_store
from tests.unit.store import base


def random_bytes(size, seed=0):
    return random.Random(seed).randbytes(size)  # noqa: S311 (test data)


class HookedReader(io.BytesIO):
    """A file-like upload that runs ``hook`` once, just before handing
    out the read that passes ``mark`` (so tests can line uploads up)."""

    def __init__(self, data, mark, hook):
        super().__init__(data)
        self._mark = mark
        self._hook = hook

    def read(self, size=-1):
        if self._hook and self.tell() + max(size, 0) >= self._mark:
            hook, self._hook = self._hook, None
            hook()
        return super().read(size)


class TestLoading(base.LayersStoreTestCase,
                  test_store_capabilities.TestStoreCapabilitiesChecking):

    def test_entry_point_is_the_store(self):
        mgr = stevedore.driver.DriverManager('glance_store.drivers',
                                             'layers')
        self.assertIs(layers_store.Store, mgr.driver)
        self.assertIsInstance(self.store, layers_store.Store)
        self.assertEqual(('layers',), self.store.get_schemes())
        self.assertEqual('layers://fast/', self.store.url_prefix)

    def test_honest_capabilities(self):
        caps = capabilities.BitMasks
        self.assertTrue(self.store.is_capable(
            caps.READ_RANDOM, caps.WRITE_ACCESS, caps.DRIVER_REUSABLE))
        self.assertFalse(self.store.is_capable(caps.WRITE_OFFSET))
        self.assertFalse(self.store.is_capable(caps.WRITE_CHUNK))

    def test_layout_created(self):
        self.assertEqual(
            ['blobs', 'images', 'lock', 'work'],
            sorted(os.listdir(self.datadir)))

    def test_location_uri_round_trip(self):
        loc = self.location('abc')
        self.assertEqual('layers://fast/abc', loc.get_store_uri())
        self.assertEqual('abc', loc.store_location.image_id)

    def test_bad_locations(self):
        for uri in ('layers://fast/', 'layers://fast/a/b',
                    'layers://fast/..', 'layers://fast/.hidden',
                    'layers:///abc', 'layers://other/abc',
                    'file:///tmp/abc'):
            self.assertRaises(
                (exceptions.BadStoreUri, exceptions.UnknownScheme),
                self.store.get_store_location_class()(
                    {}, self.conf, backend_group=base.BACKEND).parse_uri,
                uri)

    def test_missing_datadir_disables_add(self):
        self.config(layers_store_datadir=None, group=base.BACKEND)
        store = layers_store.Store(self.conf, backend=base.BACKEND)
        store.configure()
        self.assertFalse(store.is_capable(capabilities.BitMasks.WRITE_ACCESS))
        self.assertRaises(exceptions.StoreAddDisabled, store.add,
                          'x', io.BytesIO(b'x'), 1, 'sha512')
        self.assertRaises(exceptions.BadStoreConfiguration,
                          store.configure, re_raise_bsc=True)


class TestRoundTrips(base.LayersStoreTestCase):

    def setUp(self):
        super().setUp()
        self.base = archives.layer_tar('base', 200000)
        self.top = archives.layer_tar('top', 30000)

    def _round_trip(self, image_id, data):
        uri = self.add(image_id, data)
        self.assertEqual(data, self.read(uri))
        self.assertEqual(len(data),
                         multi_backend.get_size_from_uri_and_backend(
                             uri, base.BACKEND))
        return uri

    def test_docker_archive(self):
        self._round_trip('docker', archives.docker_archive(
            [self.base, self.top]))
        self.assertEqual(2, len(self.blob_files()))
        self.assert_clean()

    def test_oci_archive(self):
        self._round_trip('oci', archives.oci_archive([self.base, self.top]))
        self.assertEqual(2, len(self.blob_files()))
        self.assert_clean()

    def test_layer_shared_by_both_formats_is_stored_once(self):
        self._round_trip('docker', archives.docker_archive(
            [self.base, self.top]))
        self._round_trip('oci', archives.oci_archive(
            [self.base, archives.layer_tar('other', 30000)]))
        blobs = {os.path.basename(p): os.stat(p).st_nlink
                 for p in self.blob_files()}
        self.assertEqual(3, len(blobs))
        self.assertEqual(3, blobs[hashlib.sha256(self.base).hexdigest()])

    def test_blobs_are_named_by_content_not_archive(self):
        data = archives.docker_archive([self.base])
        self._round_trip('named', data)
        (path,) = self.blob_files()
        with open(path, 'rb') as f:
            content = f.read()
        self.assertEqual(self.base, content)
        self.assertEqual(hashlib.sha256(content).hexdigest(),
                         os.path.basename(path))

    def test_names_inside_the_archive_are_not_trusted(self):
        # An OCI archive whose blob names lie about their content: the
        # store names blobs by the sha256 it computes, so the lie neither
        # lands in the store nor collides with the real layer.
        liar = hashlib.sha256(b'something else').hexdigest()
        real = hashlib.sha256(self.base).hexdigest()
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode='w',
                          format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo('blobs/sha256/' + liar)
            info.size = len(self.base)
            tar.addfile(info, io.BytesIO(self.base))
        self._round_trip('forged', buf.getvalue())
        names = [os.path.basename(p) for p in self.blob_files()]
        self.assertEqual([real], names)

    def _check_stored_whole(self, image_id, data):
        self._round_trip(image_id, data)
        (path,) = self.blob_files()
        self.assertEqual(len(data), os.path.getsize(path))
        meta = report.collect(self.datadir)
        self.assertEqual(1, meta['images_not_split'])
        self.assert_clean()

    def test_gzip_is_stored_whole(self):
        self._check_stored_whole('gz', gzip.compress(
            archives.docker_archive([self.base]), mtime=0))

    def test_random_bytes_are_stored_whole(self):
        self._check_stored_whole('random', random_bytes(300000))

    def test_truncated_archive_is_stored_whole(self):
        data = archives.docker_archive([self.base, self.top])
        # Cut inside the second layer: the first is complete by then.
        cut = data.index(b'layer.tar', data.index(b'layer.tar') + 1) + 9000
        self._check_stored_whole('short', data[:cut])

    def test_archive_with_junk_after_it_is_stored_whole(self):
        self._check_stored_whole('junk', archives.docker_archive(
            [self.base]) + b'junk')

    def test_empty_image(self):
        uri = self._round_trip('empty', b'')
        self.assertEqual([], self.blob_files())
        self.assertEqual(b'', self.read(uri, offset=0, chunk_size=10))

    def test_unknown_size(self):
        data = archives.oci_archive([self.base, self.top])
        uri = self.add('unknown', data, size=0)
        self.assertEqual(data, self.read(uri))

    def test_verifier_sees_every_byte_in_order(self):
        data = archives.oci_archive([self.base, self.top])

        class Verifier:
            seen = bytearray()

            def update(self, chunk):
                self.seen += chunk

        verifier = Verifier()
        multi_backend.add_with_multihash(
            self.conf, 'signed', io.BytesIO(data), len(data),
            base.BACKEND, 'sha256', verifier=verifier)
        self.assertEqual(data, bytes(verifier.seen))

    def test_pre_multihash_add_signature(self):
        # glance_store's back_compat_add: no hashing_algo, a 4-tuple back.
        data = archives.docker_archive([self.base])
        uri, size, checksum, meta = self.store.add(
            'old-style', io.BytesIO(data), len(data))
        self.assertEqual((len(data), {'store': base.BACKEND}), (size, meta))
        self.assertEqual(hashlib.md5(data, usedforsecurity=False)
                         .hexdigest(), checksum)
        self.assertEqual(data, self.read(uri))

    def test_ranged_reads(self):
        data = archives.docker_archive([self.base, self.top])
        uri = self.add('ranged', data)
        rnd = random.Random(3)  # noqa: S311 (test data)
        ranges = [(0, 1), (0, len(data)), (511, 2), (1000, 250000),
                  (len(data) - 5, 100), (len(data), 10)]
        ranges += [(rnd.randrange(len(data)), rnd.randrange(1, 100000))
                   for _ in range(20)]
        for offset, length in ranges:
            self.assertEqual(data[offset:offset + length],
                             self.read(uri, offset=offset,
                                       chunk_size=length),
                             'range %d+%d' % (offset, length))
        self.assertEqual(data[4097:], self.read(uri, offset=4097))

    def test_reads_come_in_bounded_pieces(self):
        uri = self.add('pieces', archives.docker_archive([self.base]))
        data, _length = multi_backend.get(uri, base.BACKEND)
        sizes = [len(piece) for piece in data]
        self.assertLessEqual(max(sizes), self.chunk_size)

    def test_dedupe_ratio(self):
        images = [archives.docker_archive(
            [self.base, archives.layer_tar('top%d' % i, 30000)])
            for i in range(6)]
        for i, data in enumerate(images):
            self._round_trip('img%d' % i, data)
        unique = len(self.base) + sum(len(d) - len(self.base)
                                      for d in images)
        stored = report.collect(self.datadir)['stored_bytes']
        logical = sum(len(d) for d in images)
        self.assertLessEqual(stored / unique, 1.10)
        self.assertGreater(logical / stored, 2.5)


class TestErrors(base.LayersStoreTestCase):

    def setUp(self):
        super().setUp()
        self.data = archives.docker_archive(
            [archives.layer_tar('base', 100000)])

    def test_duplicate_id(self):
        uri = self.add('dup', self.data)
        self.assertRaises(exceptions.Duplicate, self.add, 'dup', b'other')
        self.assertEqual(self.data, self.read(uri))
        self.assert_clean()

    def test_short_upload_is_invalid_and_leaves_nothing(self):
        self.assertRaises(exceptions.Invalid, self.add, 'short',
                          self.data[:-1000], size=len(self.data))
        self.assertRaises(exceptions.NotFound, self.read,
                          'layers://fast/short')
        self.assertEqual([], self.blob_files())
        self.assert_clean()
        # The same id can be stored afterwards.
        self.add('short', self.data)

    def test_long_upload_is_invalid(self):
        self.assertRaises(exceptions.Invalid, self.add, 'long',
                          self.data, size=len(self.data) - 1)
        self.assertEqual([], self.blob_files())
        self.assert_clean()

    def test_failing_source_leaves_nothing(self):
        for error in (RuntimeError('client went away'),
                      ConnectionResetError('connection reset')):
            def boom(error=error):
                raise error
            source = HookedReader(self.data, len(self.data) // 2, boom)
            # The source's own error reaches Glance, not a store error.
            exc = self.assertRaises(type(error), self.add, 'boom',
                                    self.data, source=source)
            self.assertIs(error, exc)
            self.assertEqual([], self.blob_files())
            self.assert_clean()

    def test_get_and_delete_missing(self):
        self.assertRaises(exceptions.NotFound, self.read,
                          'layers://fast/nope')
        self.assertRaises(exceptions.NotFound,
                          multi_backend.get_size_from_uri_and_backend,
                          'layers://fast/nope', base.BACKEND)
        self.assertRaises(exceptions.NotFound, multi_backend.delete,
                          'layers://fast/nope', base.BACKEND)

    def test_missing_blob_fails_before_streaming(self):
        uri = self.add('damaged', self.data)
        image_dir = os.path.join(self.datadir, 'images', 'damaged')
        (digest,) = [n for n in os.listdir(image_dir) if n != 'recipe']
        os.unlink(os.path.join(image_dir, digest))
        exc = self.assertRaises(exceptions.BackendException,
                                multi_backend.get, uri, base.BACKEND)
        self.assertIn('sha256:%s' % digest, str(exc))
        self.assertIn('missing', str(exc))
        # Even a range that does not touch the blob is refused.
        self.assertRaises(exceptions.BackendException, multi_backend.get,
                          uri, base.BACKEND, offset=0, chunk_size=10)

    def test_truncated_blob_fails_before_streaming(self):
        uri = self.add('cut', self.data)
        (path,) = self.blob_files()
        os.truncate(path, 1000)
        exc = self.assertRaises(exceptions.BackendException,
                                multi_backend.get, uri, base.BACKEND)
        self.assertIn('has 1000 bytes', str(exc))

    def test_damaged_recipe(self):
        uri = self.add('recipe', self.data)
        os.truncate(os.path.join(self.datadir, 'images', 'recipe',
                                 'recipe'), 30)
        exc = self.assertRaises(exceptions.BackendException,
                                multi_backend.get, uri, base.BACKEND)
        self.assertIn('damaged', str(exc))


class TestDeleteAndSharing(base.LayersStoreTestCase):

    def setUp(self):
        super().setUp()
        self.base = archives.layer_tar('base', 300000)
        self.base_digest = hashlib.sha256(self.base).hexdigest()

    def _image(self, i):
        return archives.docker_archive(
            [self.base, archives.layer_tar('top%d' % i, 20000)])

    def test_delete_keeps_shared_blobs_and_reclaims_space(self):
        one, two = self._image(1), self._image(2)
        uri1 = self.add('one', one)
        uri2 = self.add('two', two)
        self.assertEqual(3, len(self.blob_files()))
        before = report.collect(self.datadir)['stored_bytes']

        multi_backend.delete(uri1, base.BACKEND)
        self.assertRaises(exceptions.NotFound, self.read, uri1)
        self.assertEqual(two, self.read(uri2))
        names = [os.path.basename(p) for p in self.blob_files()]
        self.assertEqual(2, len(names))
        self.assertIn(self.base_digest, names)
        after_one = report.collect(self.datadir)['stored_bytes']
        self.assertLess(after_one, before - 20000)

        multi_backend.delete(uri2, base.BACKEND)
        self.assertEqual([], self.blob_files())
        self.assertEqual([], os.listdir(os.path.join(self.datadir,
                                                     'images')))
        self.assertEqual(0, report.collect(self.datadir)['stored_bytes'])
        self.assert_clean()

    def test_reader_survives_delete_of_its_image(self):
        data = self._image(1)
        uri = self.add('one', data)
        stream, _length = multi_backend.get(uri, base.BACKEND)
        multi_backend.delete(uri, base.BACKEND)
        self.assertEqual(data, b''.join(stream))
        self.assertEqual([], self.blob_files())

    def test_concurrent_uploads_sharing_a_layer(self):
        images = [self._image(i) for i in range(4)]
        barrier = threading.Barrier(len(images), timeout=30)
        mark = images[0].index(self.base[-512:]) + 512
        results, errors = {}, []

        def upload(i):
            try:
                source = HookedReader(images[i], mark, barrier.wait)
                results[i] = self.add('c%d' % i, images[i], source=source)
            except Exception as exc:   # reported below
                errors.append(exc)

        threads = [threading.Thread(target=upload, args=(i,))
                   for i in range(len(images))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual([], errors)
        for i, data in enumerate(images):
            self.assertEqual(data, self.read(results[i]))
        canonical = os.path.join(self.datadir, 'blobs', 'sha256',
                                 self.base_digest[:2], self.base_digest)
        self.assertEqual(1 + len(images), os.stat(canonical).st_nlink)
        self.assertEqual(1 + len(images), len(self.blob_files()))
        self.assert_clean()

    def test_concurrent_uploads_and_deletes(self):
        # Rounds of uploads race deletes of the previous round's images
        # sharing the same base: no upload may lose its base layer.
        previous = []
        errors = []
        for rnd in range(3):
            current = ['r%d-%d' % (rnd, i) for i in range(3)]

            def upload(image_id, i):
                try:
                    self.add(image_id, self._image(i))
                except Exception as exc:   # reported below
                    errors.append(exc)

            def delete(image_id):
                try:
                    multi_backend.delete('layers://fast/' + image_id,
                                         base.BACKEND)
                except Exception as exc:   # reported below
                    errors.append(exc)

            threads = [threading.Thread(target=upload, args=(iid, i))
                       for i, iid in enumerate(current)]
            threads += [threading.Thread(target=delete, args=(iid,))
                        for iid in previous]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            self.assertEqual([], errors, 'round %d' % rnd)
            for i, iid in enumerate(current):
                self.assertEqual(self._image(i),
                                 self.read('layers://fast/' + iid))
            previous = current
        self.assert_clean()
        self.assertEqual(4, len(self.blob_files()))
