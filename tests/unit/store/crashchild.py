"""Child process for the crash tests: starts an upload, then stalls.

``python -m tests.unit.store.crashchild DATADIR IMAGE_ID ARCHIVE MARK``
configures a layers backend on DATADIR exactly like the tests do, and
adds ARCHIVE as IMAGE_ID through glance_store.multi_backend. The upload
source prints ``ready`` once everything before byte MARK has been handed
to the store, then sleeps: the parent SIGKILLs it there.

``python -m tests.unit.store.crashchild DATADIR IMAGE_ID delete`` deletes
the image instead, and stalls (after printing ``ready``) once the image
is out of ``images/`` but before its blobs are released.
"""
import io
import sys
import time

import glance_store
from glance_store import multi_backend
from oslo_config import cfg

from glance_store_layers import blobstore


class StallingSource(io.BytesIO):

    def __init__(self, data, mark):
        super().__init__(data)
        self._mark = mark

    def read(self, size=-1):
        if self.tell() >= self._mark:
            print('ready', flush=True)
            time.sleep(600)
        return super().read(min(size, self._mark - self.tell()))


def _stall_before_release(self, path):
    print('ready', flush=True)
    time.sleep(600)


def main(datadir, image_id, archive, mark=None):
    conf = cfg.ConfigOpts()
    multi_backend.CONF = conf
    conf(args=[])
    conf.register_opt(cfg.DictOpt('enabled_backends'))
    conf.set_override('enabled_backends', {'fast': 'layers'})
    glance_store.register_store_opts(conf)
    conf.set_override('default_backend', 'fast', group='glance_store')
    conf.set_override('layers_store_datadir', datadir, group='fast')
    conf.set_override('layers_store_blob_threshold', 4096, group='fast')
    glance_store.create_multi_stores(conf)
    if archive == 'delete':
        blobstore.BlobStore.release_dir = _stall_before_release
        multi_backend.delete('layers://fast/' + image_id, 'fast')
        return
    with open(archive, 'rb') as f:
        data = f.read()
    multi_backend.add_with_multihash(
        conf, image_id, StallingSource(data, int(mark)), len(data),
        'fast', 'sha512')
    print('finished', flush=True)


if __name__ == '__main__':
    main(*sys.argv[1:])
