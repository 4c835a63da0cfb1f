"""The local image helpers build real images on the real engine."""
import json
import os
import subprocess
import tarfile

import fixtures
import testtools

from tests import engine
from tests import images


class TestLocalImages(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.api = engine.api()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def test_busybox_import_runs(self):
        ref = images.import_busybox(self.api, tag='helper-run')
        self.addCleanup(images.remove_if_present, self.api, ref)
        container = self.api.create_container(
            ref, command=['sh', '-c', 'echo hello from busybox'],
            network_disabled=True)
        self.addCleanup(self.api.remove_container, container, force=True)
        self.api.start(container)
        self.assertEqual(0, self.api.wait(container, timeout=60)['StatusCode'])
        self.assertEqual(b'hello from busybox\n', self.api.logs(container))

    def test_two_layer_archive(self):
        base = images.import_busybox(self.api, tag='helper-base')
        self.addCleanup(images.remove_if_present, self.api, base)
        ref = images.add_layer(self.api, base, 'pydock-test/two-layer:helper')
        self.addCleanup(images.remove_if_present, self.api, ref)
        path = images.save_archive(self.api, ref,
                                   os.path.join(self.tmp, 'two.tar'))
        self.assertEqual(2, len(images.archive_layers(path)))
        with tarfile.open(path) as tar:
            manifest = json.load(tar.extractfile('manifest.json'))
        self.assertEqual(['pydock-test/two-layer:helper'],
                         manifest[0]['RepoTags'])
        self.assertEqual(2, len(manifest[0]['Layers']))
        # The second layer keeps the base image's command.
        self.assertEqual(['sleep', '3600'],
                         self.api.inspect_image(ref)['Config']['Cmd'])


class TestEnsureEngine(testtools.TestCase):

    def test_idempotent_when_engine_answers(self):
        engine.ensure_engine()
        script = os.path.join(engine.REPO, 'tools', 'ensure-engine')
        result = subprocess.run([script], capture_output=True, text=True,
                                check=True)
        self.assertIn('engine answers on', result.stderr)

    def test_clear_error_when_engine_cannot_start(self):
        script = os.path.join(engine.REPO, 'tools', 'ensure-engine')
        tmp = self.useFixture(fixtures.TempDir()).path
        env = dict(os.environ,
                   PYDOCK_ENGINE_SOCKET='/nonexistent-dir/engine.sock',
                   PYDOCK_ENGINE_LOG=os.path.join(tmp, 'd.log'),
                   PYDOCK_ENGINE_WAIT='5',
                   PYDOCK_ENGINE_PIDFILE=os.path.join(tmp, 'd.pid'))
        result = subprocess.run([script], capture_output=True, text=True,
                                env=env, check=False)
        self.assertNotEqual(0, result.returncode)
        self.assertIn('ERROR:', result.stderr)
