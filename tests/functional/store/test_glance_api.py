"""A real glance-api stores real ``docker save`` archives in the layers store.

python-glanceclient uploads two images made on the real engine that share
their busybox base layer, downloads them (glanceclient checks md5 and the
sha512 multihash on every download), and the store's directory holds the
base layer once. Deleting both images through the API gives the space
back.
"""
import hashlib
import json
import os
import subprocess
import sys
import tarfile

import fixtures
from glanceclient import client as glance_client
import testtools

import docker_archives as archives
from tests import engine
from tests import images
from tests.functional.store import glance_api


def layer_digests(path):
    """sha256 of each layer member of an archive, by member name."""
    digests = {}
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            if member.name.endswith('/layer.tar'):
                digests[member.name] = hashlib.sha256(
                    tar.extractfile(member).read()).hexdigest()
    return digests


class TestGlanceAPIWithLayersStore(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.glance = self.useFixture(glance_api.GlanceAPI())
        self.client = glance_client.Client('2',
                                           endpoint=self.glance.endpoint)

    def _build_archives(self):
        api = engine.api()
        base = images.import_busybox(api, tag='store-base')
        self.addCleanup(images.remove_if_present, api, base)
        paths = []
        for name in ('one', 'two'):
            ref = images.add_layer(api, base, 'pydock-test/store-%s:v1' % name,
                                   path='/%s.txt' % name, content=name)
            self.addCleanup(images.remove_if_present, api, ref)
            paths.append(images.save_archive(
                api, ref, os.path.join(self.tmp, name + '.tar')))
        return paths

    def _upload(self, name, path):
        image = self.client.images.create(
            name=name, disk_format='raw', container_format='docker')
        with open(path, 'rb') as f:
            self.client.images.upload(image.id, f, os.path.getsize(path))
        return self.client.images.get(image.id)

    def _blob_files(self):
        root = os.path.join(self.glance.datadir, 'blobs', 'sha256')
        return {name: os.path.join(d, name)
                for d, _s, names in os.walk(root) for name in names}

    def test_two_images_share_their_base_layer(self):
        self.archives = self._build_archives()
        stored = [self._upload_and_check(name, path) for name, path in
                  zip(('one', 'two'), self.archives, strict=True)]
        for image, data in stored:
            # glanceclient verifies md5 and sha512 while iterating and
            # raises IOError on a mismatch.
            body = b''.join(self.client.images.data(image.id))
            self.assertEqual(data, body)
        base_blob = self._check_base_layer_stored_once()
        self._check_report(stored, base_blob)
        for image, _data in stored:
            self.client.images.delete(image.id)
        self.assertEqual({}, self._blob_files())
        self.assertEqual([], os.listdir(os.path.join(self.glance.datadir,
                                                     'images')))

    def _upload_and_check(self, name, path):
        """Upload an archive; Glance has its size, checksums and store.

        :returns: (the image, the archive's bytes)
        """
        image = self._upload(name, path)
        with open(path, 'rb') as f:
            data = f.read()
        self.assertEqual('active', image.status, self.glance.logs())
        self.assertEqual(len(data), image.size)
        self.assertEqual(hashlib.md5(data, usedforsecurity=False)
                         .hexdigest(), image.checksum)
        self.assertEqual('sha512', image.os_hash_algo)
        self.assertEqual(hashlib.sha512(data).hexdigest(),
                         image.os_hash_value)
        self.assertEqual(glance_api.BACKEND, image.stores)
        return image, data

    def _check_base_layer_stored_once(self):
        """:returns: the path of the shared base layer's blob"""
        one, two = (layer_digests(p) for p in self.archives)
        shared = set(one.values()) & set(two.values())
        self.assertEqual(1, len(shared), 'the archives share one layer')
        (base_digest,) = shared
        blobs = self._blob_files()
        # The busybox layer (about 2 MB) is a blob, once, linked by both
        # images; the one-file layers on top are small and stay inline.
        self.assertIn(base_digest, blobs)
        self.assertEqual(1, list(blobs).count(base_digest))
        self.assertEqual(3, os.stat(blobs[base_digest]).st_nlink)
        for digest in blobs:
            self.assertEqual(2, len([
                d for d in os.listdir(os.path.join(self.glance.datadir,
                                                   'images'))
                if os.path.exists(os.path.join(
                    self.glance.datadir, 'images', d, digest))]))
        return blobs[base_digest]

    def _check_report(self, stored, base_blob):
        """The operator report reads glance-api's own configuration."""
        report = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable),
                          'glance-store-layers-report'),
             '--config-file', self.glance.conf_file,
             '--backend', glance_api.BACKEND, '--json'],
            capture_output=True, text=True, check=True)
        figures = json.loads(report.stdout)
        self.assertEqual((2, 1, 1), (figures['images'], figures['blobs'],
                                     figures['shared_blobs']))
        self.assertEqual(sum(len(d) for _i, d in stored),
                         figures['logical_bytes'])
        # One copy of the base layer saved, less a little recipe framing.
        self.assertLess(figures['stored_bytes'],
                        figures['logical_bytes'] - os.path.getsize(
                            base_blob) + 4096)

    def test_oci_layout_archives_share_their_layer(self):
        # Docker 25+ writes this layout; the engine here (20.10) cannot,
        # so these archives come from the tests' own writer.
        base = archives.layer_tar('oci-base', 600000)
        datas = [archives.oci_archive([base, archives.layer_tar(top, 400)])
                 for top in ('oci-a', 'oci-b')]
        ids = []
        for i, data in enumerate(datas):
            path = os.path.join(self.tmp, 'oci%d.tar' % i)
            with open(path, 'wb') as f:
                f.write(data)
            image = self._upload('oci%d' % i, path)
            self.assertEqual('active', image.status, self.glance.logs())
            self.assertEqual(hashlib.sha512(data).hexdigest(),
                             image.os_hash_value)
            ids.append(image.id)
        for image_id, data in zip(ids, datas, strict=True):
            self.assertEqual(data,
                             b''.join(self.client.images.data(image_id)))
        blobs = self._blob_files()
        self.assertEqual([hashlib.sha256(base).hexdigest()], list(blobs))
        self.assertEqual(3, os.stat(blobs[hashlib.sha256(
            base).hexdigest()]).st_nlink)
