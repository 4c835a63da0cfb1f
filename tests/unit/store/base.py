"""A real multi-store glance_store setup around a layers backend.

Every test gets a private ``ConfigOpts`` with ``enabled_backends`` =
``fast:layers`` (the store under test) and ``plain:file`` (glance_store's
own file store, for comparison), a fresh temp data directory, and goes
through ``glance_store.multi_backend`` exactly as Glance does.
"""
import hashlib
import io
import os

import fixtures
import glance_store
from glance_store import location
from glance_store import multi_backend
from glance_store.tests import base
from oslo_config import cfg

BACKEND = 'fast'


class LayersStoreTestCase(base.MultiStoreBaseTest):

    blob_threshold = 4096
    chunk_size = 4096

    def setUp(self):
        super().setUp()
        self.conf = cfg.ConfigOpts()
        # multi_backend looks backends up in the global CONF: point it at
        # this test's private configuration.
        self.useFixture(fixtures.MonkeyPatch(
            'glance_store.multi_backend.CONF', self.conf))
        self.useFixture(fixtures.MonkeyPatch(
            'glance_store.location.SCHEME_TO_CLS_BACKEND_MAP', {}))
        self.conf(args=[])
        self.conf.register_opt(cfg.DictOpt('enabled_backends'))
        self.config(enabled_backends={BACKEND: 'layers', 'plain': 'file'})
        glance_store.register_store_opts(self.conf)
        self.config(default_backend=BACKEND, group='glance_store')
        tmp = self.useFixture(fixtures.TempDir()).path
        self.datadir = os.path.join(tmp, 'layers')
        self.config(layers_store_datadir=self.datadir,
                    layers_store_blob_threshold=self.blob_threshold,
                    layers_store_chunk_size=self.chunk_size,
                    group=BACKEND)
        self.config(filesystem_store_datadir=os.path.join(tmp, 'file'),
                    group='plain')
        self.addCleanup(self.conf.reset)
        glance_store.create_multi_stores(self.conf)
        self.store = multi_backend.get_store_from_store_identifier(BACKEND)

    # -- helpers ---------------------------------------------------------

    def add(self, image_id, data, size=None, source=None):
        """Add through multi_backend; check and return the location."""
        size = len(data) if size is None else size
        source = io.BytesIO(data) if source is None else source
        uri, written, md5, multihash, meta = (
            multi_backend.add_with_multihash(
                self.conf, image_id, source, size, BACKEND, 'sha512'))
        self.assertEqual('layers://%s/%s' % (BACKEND, image_id), uri)
        self.assertEqual(len(data), written)
        self.assertEqual(hashlib.md5(data, usedforsecurity=False).hexdigest(),
                         md5)
        self.assertEqual(hashlib.sha512(data).hexdigest(), multihash)
        self.assertEqual({'store': BACKEND}, meta)
        return uri

    def read(self, uri, offset=0, chunk_size=None):
        data, length = multi_backend.get(uri, BACKEND, offset=offset,
                                         chunk_size=chunk_size)
        out = b''.join(data)
        self.assertEqual(length, len(out))
        return out

    def location(self, image_id):
        return location.get_location_from_uri_and_backend(
            'layers://%s/%s' % (BACKEND, image_id), BACKEND, conf=self.conf)

    def blob_files(self):
        root = os.path.join(self.datadir, 'blobs', 'sha256')
        return sorted(os.path.join(d, f) for d, _s, files in os.walk(root)
                      for f in files)

    def work_entries(self):
        return sorted(os.listdir(os.path.join(self.datadir, 'work')))

    def assert_clean(self):
        """Nothing in flight, and every blob is used by some image."""
        self.assertEqual([], self.work_entries())
        for path in self.blob_files():
            self.assertGreater(os.stat(path).st_nlink, 1,
                               'unused blob left behind: %s' % path)
