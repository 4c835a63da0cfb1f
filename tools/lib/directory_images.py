"""A Glance stand-in: image data are files in a directory.

The driver only needs ``download`` to stream and ``update`` to accept a
stream, the part of Nova's image API it uses; a migration to another
host also ``create``s and ``delete``s transfer images. The driver's
functional tests and ``tools/bench-driver`` run it against this.
"""
import os
import threading
import uuid

from nova import exception
from nova import objects

CHUNK = 64 * 1024


def file_chunks(path, size=64 * 1024):
    """The bytes of ``path`` in chunks, as an image API streams image data.

    Nothing for a file that does not exist (an image without data).
    """
    if not os.path.exists(path):
        return
    with open(path, 'rb') as f:
        while chunk := f.read(size):
            yield chunk



class DirectoryImages:
    """Glance stand-in: image data are files in a directory.

    ``download`` returns an iterator of chunks like Nova's image API does
    when called without a destination; ``update`` reads ``data`` like a
    file, as python-glanceclient does.
    """

    def __init__(self, path):
        self.path = path
        self.metadata = {}
        self.downloads = {}
        self._lock = threading.Lock()

    def add(self, image_id, source_path=None, data=None, **metadata):
        target = os.path.join(self.path, image_id)
        if source_path:
            os.link(source_path, target)
        else:
            with open(target, 'wb') as f:
                f.write(data)
        self.metadata[image_id] = dict(
            metadata, id=image_id, size=os.path.getsize(target))
        return self.meta(image_id)

    def meta(self, image_id):
        info = {'container_format': 'docker', 'disk_format': 'raw',
                    'properties': {}}
        info.update(self.metadata[image_id])
        return objects.ImageMeta.from_dict(info)

    def download(self, context, image_id):
        with self._lock:
            self.downloads[image_id] = self.downloads.get(image_id, 0) + 1
        return file_chunks(os.path.join(self.path, image_id))

    def create(self, context, metadata, data=None):
        """A new image record (no data yet), as Glance's image create."""
        image_id = str(uuid.uuid4())
        with self._lock:
            self.metadata[image_id] = dict(metadata, id=image_id,
                                           status='queued')
        if data is not None:
            self.update(context, image_id, {}, data=data)
        return self.get(context, image_id)

    def update(self, context, image_id, metadata, data=None,
               purge_props=True):
        target = os.path.join(self.path, image_id)
        if data is not None:
            with open(target, 'wb') as f:
                while chunk := data.read(CHUNK):
                    f.write(chunk)
        with self._lock:
            kept = {} if purge_props else self.metadata.get(image_id, {})
            self.metadata[image_id] = dict(kept, **metadata, id=image_id)
            if data is not None:
                self.metadata[image_id].update(
                    status='active', size=os.path.getsize(target))

    def delete(self, context, image_id):
        with self._lock:
            if self.metadata.pop(image_id, None) is None:
                raise exception.ImageNotFound(image_id=image_id)
        try:
            os.unlink(os.path.join(self.path, image_id))
        except FileNotFoundError:
            pass

    def get(self, context, image_id):
        meta = dict(self.metadata[image_id])
        meta.setdefault('container_format', 'docker')
        meta.setdefault('disk_format', 'raw')
        meta.setdefault('properties', {})
        meta.setdefault('status', 'active')
        return meta
