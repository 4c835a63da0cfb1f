"""A SIGKILLed upload leaves nothing readable, and a retry succeeds."""
import hashlib
import os
import select
import signal
import subprocess
import sys
import time

from glance_store import exceptions
from glance_store import multi_backend

import docker_archives as archives
from glance_store_layers import store as layers_store
from tests.unit.store import base

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


class TestKilledUpload(base.LayersStoreTestCase):

    def setUp(self):
        super().setUp()
        self.base = archives.layer_tar('base', 300000)
        self.digest = hashlib.sha256(self.base).hexdigest()
        self.data = archives.docker_archive(
            [self.base, archives.layer_tar('top', 50000)])
        self.archive = os.path.join(os.path.dirname(self.datadir),
                                    'image.tar')
        with open(self.archive, 'wb') as f:
            f.write(self.data)
        # Stall inside the second layer: the base blob is published by
        # then, the image is not.
        self.mark = self.data.index(self.base) + len(self.base) + 20000

    def _kill_mid_upload(self, image_id, *args):
        args = args or (self.archive, str(self.mark))
        child = subprocess.Popen(
            [sys.executable, '-m', 'tests.unit.store.crashchild',
             self.datadir, image_id, *args],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.addCleanup(child.wait)
        self.addCleanup(child.kill)
        deadline = time.monotonic() + 60
        line = b''
        while time.monotonic() < deadline and not line:
            ready, _w, _x = select.select([child.stdout], [], [], 1)
            if ready:
                line = child.stdout.readline()
        self.assertEqual(b'ready\n', line)
        os.kill(child.pid, signal.SIGKILL)
        self.assertEqual(-signal.SIGKILL, child.wait(30))
        child.stdout.close()

    def _canonical(self):
        return os.path.join(self.datadir, 'blobs', 'sha256',
                            self.digest[:2], self.digest)

    def test_killed_upload_then_retry(self):
        self._kill_mid_upload('victim')
        # Left behind: the dead upload's work directory, holding the
        # base blob it had published; nothing readable.
        self.assertEqual(2, len(self.work_entries()))
        self.assertEqual(2, os.stat(self._canonical()).st_nlink)
        self.assertRaises(exceptions.NotFound, self.read,
                          'layers://fast/victim')

        uri = self.add('victim', self.data)
        self.assertEqual(self.data, self.read(uri))
        # The retry swept the dead upload: one reference per image only.
        self.assertEqual(2, os.stat(self._canonical()).st_nlink)
        self.assert_clean()

    def test_killed_delete_is_finished_by_the_next_operation(self):
        self.add('doomed', self.data)
        self._kill_mid_upload('doomed', 'delete')
        # The image is gone at once; its blobs wait in the dead delete's
        # work directory ...
        self.assertRaises(exceptions.NotFound, self.read,
                          'layers://fast/doomed')
        self.assertEqual(2, len(self.blob_files()))
        self.assertEqual(2, len(self.work_entries()))
        # ... until any later upload or delete sweeps them.
        self.assertRaises(exceptions.NotFound, multi_backend.delete,
                          'layers://fast/other', base.BACKEND)
        self.assertEqual([], self.blob_files())
        self.assert_clean()

    def test_restart_sweeps_killed_upload(self):
        self._kill_mid_upload('victim')
        store = layers_store.Store(self.conf, backend=base.BACKEND)
        store.configure()
        self.assertEqual([], self.work_entries())
        self.assertEqual([], self.blob_files())

    def test_concurrent_uploads_from_processes(self):
        # Several glance-api workers are several processes: the same
        # sharing, between processes that only meet through the disk.
        children = []
        datas = []
        for i in range(3):
            data = archives.docker_archive(
                [self.base, archives.layer_tar('p%d' % i, 30000)])
            path = os.path.join(os.path.dirname(self.datadir),
                                'p%d.tar' % i)
            with open(path, 'wb') as f:
                f.write(data)
            datas.append(data)
            child = subprocess.Popen(
                [sys.executable, '-m', 'tests.unit.store.crashchild',
                 self.datadir, 'p%d' % i, path, str(len(data) + 1)],
                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.addCleanup(child.kill)
            children.append(child)
        for child in children:
            out, err = child.communicate(timeout=120)
            self.assertEqual(0, child.returncode, err.decode()[-2000:])
            self.assertEqual(b'finished\n', out)
        for i, data in enumerate(datas):
            self.assertEqual(data, self.read('layers://fast/p%d' % i))
        self.assertEqual(4, os.stat(self._canonical()).st_nlink)
        self.assertEqual(4, len(self.blob_files()))
        self.assert_clean()

    def test_live_upload_is_not_swept(self):
        self.add('other', self.data)
        work = self.store.blobs.new_work()
        self.addCleanup(work.abort)
        link = os.path.join(work.path, self.digest)
        os.link(self._canonical(), link)
        # Deleting the only image that used the blob must keep it: the
        # live upload holds a reference.
        self.store.blobs.remove_image('other')
        self.assertEqual(0, self.store.blobs.sweep())
        self.assertTrue(os.path.exists(link))
        self.assertTrue(os.path.exists(self._canonical()))
