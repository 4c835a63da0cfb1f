"""Small real container images for the tests, built without any registry.

The busybox image comes from the recipe the tools use too
(``tools/lib/busybox_image.py``: ``busybox-static`` rootfs, ``docker
import``); a second layer is added with ``docker commit``; ``docker save``
turns either into the archive that Glance stores. Driver tests and store
tests share these helpers.
"""
import os
import shutil
import tarfile
import tempfile
import uuid

from directory_images import file_chunks  # noqa: F401
from engine_client import remove_if_present  # noqa: F401

import busybox_image

BASE_REPOSITORY = 'pydock-test/busybox'
#: The recipe's ``docker save`` step, under the name the tests use.
save_archive = busybox_image.save_archive


def import_busybox(api, tag='latest', command='sleep 3600'):
    """``docker import`` the busybox rootfs; returns the image reference.

    ``command`` becomes the image's CMD; pass None for an image with no
    command at all.
    """
    return busybox_image.import_image(
        api, BASE_REPOSITORY, tag, command.split() if command else None)


def add_layer(api, base_ref, ref, path='/layer2.txt', content='second layer'):
    """Commit a container of ``base_ref`` with one file written: 2 layers.

    The new image keeps the base image's command (not the writer's).
    """
    repository, tag = ref.rsplit(':', 1)
    base_cmd = api.inspect_image(base_ref)['Config'].get('Cmd')
    container = api.create_container(
        base_ref, command=['sh', '-c', 'echo %s > %s' % (content, path)],
        network_disabled=True)
    try:
        api.start(container)
        api.wait(container, timeout=60)
        api.commit(container, repository=repository, tag=tag,
                   conf={'Cmd': base_cmd})
    finally:
        api.remove_container(container, force=True)
    return ref


def busybox_archive(api, directory, prefix):
    """A ``docker save`` archive of the busybox image, at ``directory``.

    The image is imported under a tag of its own and removed from the
    engine again, so that tests load it from the archive like Glance data.
    """
    ref = import_busybox(api, tag='%s-%s' % (prefix, uuid.uuid4().hex[:8]))
    try:
        return save_archive(api, ref, os.path.join(directory, 'busybox.tar'))
    finally:
        remove_if_present(api, ref)


class ClassArchive:
    """A busybox archive that lives as long as a test class.

    Made in ``setUpClass``, where test fixtures cannot be used yet; its
    ``remove()`` goes in ``tearDownClass``.
    """

    def __init__(self, api, prefix):
        self._directory = tempfile.mkdtemp(prefix='pydock-%s-' % prefix)
        try:
            self.path = busybox_archive(api, self._directory, prefix)
        except Exception:
            self.remove()
            raise

    def remove(self):
        shutil.rmtree(self._directory, ignore_errors=True)


def archive_layers(path):
    """Names of the layer members of a ``docker save`` archive."""
    with tarfile.open(path) as tar:
        return sorted(m.name for m in tar.getmembers()
                      if m.name.endswith('/layer.tar')
                      or (m.name.startswith('blobs/') and m.size > 4096))
