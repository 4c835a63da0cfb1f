"""The operator report command, run as operators run it."""
import json
import os
import subprocess
import sys

import docker_archives as archives
from tests.unit.store import base

REPORT = os.path.join(os.path.dirname(sys.executable),
                      'glance-store-layers-report')


class TestReport(base.LayersStoreTestCase):

    def setUp(self):
        super().setUp()
        self.base = archives.layer_tar('base', 200000)
        self.images = [archives.docker_archive(
            [self.base, archives.layer_tar('top%d' % i, 20000)])
            for i in range(3)]
        for i, data in enumerate(self.images):
            self.add('img%d' % i, data)
        self.add('whole', b'not a tar at all' * 1000)

    def _run(self, *args):
        return subprocess.run([REPORT, *args], capture_output=True,
                              text=True, check=False)

    def test_json_figures(self):
        result = self._run('--datadir', self.datadir, '--json')
        self.assertEqual(0, result.returncode, result.stderr)
        figures = json.loads(result.stdout)
        self.assertEqual(4, figures['images'])
        self.assertEqual(1, figures['images_not_split'])
        self.assertEqual(5, figures['blobs'])      # base, 3 tops, whole
        self.assertEqual(1, figures['shared_blobs'])
        self.assertEqual(0, figures['unused_blobs'])
        self.assertEqual(sum(map(len, self.images)) + 16000,
                         figures['logical_bytes'])
        # The base layer is stored once instead of three times; recipes
        # add a few hundred bytes of framing per image.
        deduped = figures['logical_bytes'] - 2 * len(self.base)
        self.assertGreaterEqual(figures['stored_bytes'], deduped)
        self.assertLess(figures['stored_bytes'], deduped + 4096)
        self.assertEqual([], figures['damaged'])

    def test_text_from_glance_config(self):
        conf = os.path.join(os.path.dirname(self.datadir), 'glance-api.conf')
        with open(conf, 'w') as f:
            f.write('[DEFAULT]\nenabled_backends = fast:layers\n'
                    '[fast]\nlayers_store_datadir = %s\n' % self.datadir)
        result = self._run('--config-file', conf, '--backend', 'fast')
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertIn('images:          4 (1 stored whole', result.stdout)
        self.assertIn('logical/stored:', result.stdout)

    def test_damage_is_reported(self):
        image_dir = os.path.join(self.datadir, 'images', 'img1')
        for name in os.listdir(image_dir):
            if name != 'recipe':
                os.unlink(os.path.join(image_dir, name))
        result = self._run('--datadir', self.datadir)
        self.assertEqual(1, result.returncode)
        self.assertIn('DAMAGE', result.stdout)
        self.assertIn('image img1: blob sha256:', result.stdout)

    def test_verify_finds_changed_bytes(self):
        result = self._run('--datadir', self.datadir, '--verify')
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertIn('verified:        4 images', result.stdout)
        # Flip one byte inside the shared blob: every image using it is
        # reported, though sizes and names are all still right.
        (path,) = [p for p in self.blob_files()
                   if os.stat(p).st_nlink == 4]
        with open(path, 'r+b') as f:
            f.seek(1000)
            byte = f.read(1)
            f.seek(1000)
            f.write(bytes([byte[0] ^ 0xff]))
        result = self._run('--datadir', self.datadir, '--verify', '--json')
        self.assertEqual(1, result.returncode)
        damaged = json.loads(result.stdout)['damaged']
        self.assertEqual(['img0', 'img1', 'img2'],
                         sorted(d.split(':')[0].split()[1] for d in damaged))
        self.assertIn('when stored', damaged[0])

    def test_usage_errors(self):
        self.assertEqual(2, self._run().returncode)
        self.assertEqual(2, self._run('--datadir', '/nonexistent').returncode)
