"""glance_store driver ``layers``: container image archives, layers once.

Entry point ``layers`` in ``glance_store.drivers``; locations look like
``layers://<backend name>/<image id>``. Glance loads third-party stores
only in multi-store mode::

    [DEFAULT]
    enabled_backends = fast:layers

    [fast]
    layers_store_datadir = /var/lib/glance/layers

How it stores an image (``add``): the upload streams through
:mod:`~glance_store_layers.tarsplit`, which splits the outer tar only;
:mod:`~glance_store_layers.ingest` writes large members (layers) as blobs
named by their sha256 and everything else verbatim into the image's
recipe; :mod:`~glance_store_layers.blobstore` publishes the result
atomically and counts blob references with hard links. ``get``
concatenates the recipe's segments, so the archive comes back byte for
byte and the checksums Glance recorded stay true.
"""
import errno
import logging
import os
import time
import urllib.parse

from glance_store import capabilities
from glance_store import exceptions
from glance_store.common import utils
import glance_store.driver
import glance_store.location

from glance_store_layers import blobstore
from glance_store_layers import hashing
from glance_store_layers import ingest as ingest_mod
from glance_store_layers import options
from glance_store_layers import recipe as recipe_mod
from glance_store_layers import tarsplit

LOG = logging.getLogger(__name__)

SCHEME = 'layers'
_FULL_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
_DENIED_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS)


def _check_image_id(image_id):
    """Image ids become directory names: accept one plain path component."""
    image_id = str(image_id)
    if (not image_id or image_id in ('.', '..') or '/' in image_id
            or '\0' in image_id or image_id.startswith('.')
            or len(image_id) > 255):
        raise exceptions.BadStoreUri(
            message='invalid image id %r for the layers store' % image_id)
    return image_id


class _UploadReadError(Exception):
    """Reading the upload failed; ``original`` is what the source raised.

    Kept apart from OSError raised by the store's own writes, which become
    StorageFull, StorageWriteDenied or BackendException.
    """

    def __init__(self, original):
        super().__init__(str(original))
        self.original = original


def _read_upload(image_file, chunk_size):
    pieces = iter(utils.chunkreadable(image_file, chunk_size))
    while True:
        try:
            piece = next(pieces)
        except StopIteration:
            return
        except OSError as exc:
            raise _UploadReadError(exc) from exc
        yield piece


class StoreLocation(glance_store.location.StoreLocation):
    """``layers://<backend>/<image id>``."""

    def process_specs(self):
        self.scheme = SCHEME
        self.backend = self.specs.get('backend') or self.backend_group
        self.image_id = self.specs.get('image_id')

    def get_uri(self):
        return '%s://%s/%s' % (SCHEME, self.backend, self.image_id)

    def parse_uri(self, uri):
        self.validate_schemas(uri, valid_schemas=('%s://' % SCHEME,))
        pieces = urllib.parse.urlparse(uri)
        image_id = pieces.path[1:]
        if not pieces.netloc or not image_id:
            raise exceptions.BadStoreUri(
                message='a layers location needs a backend and an image '
                        'id: layers://<backend>/<image id>, got %s' % uri)
        if self.backend_group and pieces.netloc != self.backend_group:
            raise exceptions.BadStoreUri(
                message='location %s belongs to backend %s, not %s'
                        % (uri, pieces.netloc, self.backend_group))
        self.scheme = SCHEME
        self.backend = pieces.netloc
        self.image_id = _check_image_id(image_id)


class ImageReader:
    """Iterates over a byte range of an image, piece by piece.

    All blob files it needs are opened before the first byte is returned,
    so the read is a consistent snapshot even if the image is deleted
    meanwhile (open files keep their data), like a file store read.
    """

    def __init__(self, recipe_file, recipe, files, offset, length,
                 chunk_size):
        self._recipe_file = recipe_file
        self._recipe = recipe
        self._files = files
        self._offset = offset
        self._length = length
        self._chunk_size = chunk_size

    def __iter__(self):
        try:
            for seg, skip, count in self._recipe.segments_for(
                    self._offset, self._length):
                left = count
                if seg.kind == recipe_mod.INLINE:
                    src = self._recipe_file
                    src.seek(seg.ref + skip)
                else:
                    src = self._files[seg.ref]
                    src.seek(skip)
                while left:
                    data = src.read(min(self._chunk_size, left))
                    if not data:
                        raise exceptions.BackendException(
                            'layers store: segment of %d bytes ends early; '
                            'the store is damaged' % seg.length)
                    left -= len(data)
                    yield data
        finally:
            self.close()

    def close(self):
        for f in [self._recipe_file, *self._files.values()]:
            f.close()
        self._files = {}


class Store(glance_store.driver.Store):
    """The ``layers`` backend; see the module documentation."""

    _CAPABILITIES = (capabilities.BitMasks.READ_RANDOM
                     | capabilities.BitMasks.WRITE_ACCESS
                     | capabilities.BitMasks.DRIVER_REUSABLE)
    OPTIONS = options.OPTS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.backend_group:
            self.store_conf = glance_store.driver.BackendGroupConfiguration(
                self.OPTIONS, self.backend_group, conf=self.conf)
        else:
            self.store_conf = self.conf.glance_store
        self.blobs = None
        self.blob_threshold = None

    def get_schemes(self):
        return (SCHEME,)

    def configure_add(self):
        """Check the data directory, create its layout, sweep old work.

        :raises BadStoreConfiguration: if the directory is not set, cannot
            be created, or is not writable
        """
        datadir = self.store_conf.layers_store_datadir
        if not datadir:
            raise self._not_configured()
        self.blobs = blobstore.BlobStore(datadir)
        chunk_size = self.store_conf.layers_store_chunk_size
        self.READ_CHUNKSIZE = self.WRITE_CHUNKSIZE = chunk_size
        self.blob_threshold = self.store_conf.layers_store_blob_threshold
        if self.backend_group:
            self._url_prefix = '%s://%s/' % (SCHEME, self.backend_group)
        try:
            self.blobs.ensure_layout()
        except OSError as exc:
            raise exceptions.BadStoreConfiguration(
                store_name=SCHEME,
                reason='cannot create the layers store in %s: %s'
                       % (datadir, exc)) from exc
        if not self.blobs.writable():
            raise exceptions.BadStoreConfiguration(
                store_name=SCHEME,
                reason='no write access to %s' % datadir)
        swept = self.blobs.sweep()
        self.blobs.collect_garbage()
        LOG.info('Layers store %s ready in %s (blob threshold %d bytes, '
                 'chunk size %d bytes, %d interrupted operations cleaned '
                 'up)', self.backend_group, datadir, self.blob_threshold,
                 chunk_size, swept)

    # -- reading ----------------------------------------------------------

    def _blobs(self):
        if self.blobs is None:
            raise self._not_configured()
        return self.blobs

    def _not_configured(self):
        return exceptions.BadStoreConfiguration(
            store_name=SCHEME,
            reason='layers_store_datadir is not set for backend %s'
                   % self.backend_group)

    def _image_id(self, location):
        return _check_image_id(location.store_location.image_id)

    @capabilities.check
    def get(self, location, offset=0, chunk_size=None, context=None):
        """Return (iterator over the bytes, number of bytes it yields).

        ``offset`` and ``chunk_size`` select a byte range. Every blob of
        the image is checked (present, right size) before anything is
        returned, so a damaged store fails here, loudly, rather than as a
        checksum mismatch at the client.

        :raises NotFound: if the image is not stored
        :raises BackendException: if the image's data is damaged
        """
        image_id = self._image_id(location)
        # Everything is opened relative to the image directory's fd: the
        # read sees one image, even if it is deleted (or deleted and
        # stored again) while the files are being opened.
        dir_fd = self._open_image_dir(image_id)
        files = {}
        recipe_file = None
        try:
            recipe_file = self._open_in(dir_fd, blobstore.RECIPE, image_id)
            recipe = self._read_recipe(recipe_file, image_id)
            offset = max(0, offset or 0)
            length = max(0, recipe.size - offset)
            if chunk_size:
                length = min(length, chunk_size)
            needed = {seg.ref for seg, _skip, _take
                      in recipe.segments_for(offset, length)
                      if seg.kind == recipe_mod.BLOB}
            sizes = {s.ref: s.length for s in recipe.segments
                     if s.kind == recipe_mod.BLOB}
            for digest in recipe.digests:
                try:
                    if digest in needed:
                        files[digest] = self._open_in(dir_fd, digest,
                                                      image_id)
                        actual = os.fstat(files[digest].fileno()).st_size
                    else:
                        actual = os.stat(digest, dir_fd=dir_fd).st_size
                except FileNotFoundError:
                    self._check_not_deleted(dir_fd, image_id)
                    raise self._damaged(image_id, digest,
                                        'is missing') from None
                if actual != sizes[digest]:
                    raise self._damaged(
                        image_id, digest,
                        'has %d bytes, the recipe says %d'
                        % (actual, sizes[digest]))
        except BaseException:
            for f in [recipe_file, *files.values()]:
                if f is not None:
                    f.close()
            raise
        finally:
            os.close(dir_fd)
        LOG.debug('Reading %d bytes at offset %d of image %s (%d segments, '
                  '%d blobs)', length, offset, image_id,
                  len(recipe.segments), len(recipe.digests))
        return (ImageReader(recipe_file, recipe, files, offset, length,
                            self.READ_CHUNKSIZE), length)

    def _not_found(self, image_id):
        return exceptions.NotFound(
            message='image %s is not in layers store %s'
                    % (image_id, self.backend_group))

    def _open_image_dir(self, image_id):
        try:
            return os.open(self._blobs().image_path(image_id),
                           os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            raise self._not_found(image_id) from None

    def _open_in(self, dir_fd, name, image_id):
        """Open ``name`` inside the image directory (read-only)."""
        def opener(path, flags):
            return os.open(path, flags, dir_fd=dir_fd)
        try:
            return open(name, 'rb', opener=opener)
        except FileNotFoundError:
            if name == blobstore.RECIPE:
                raise self._not_found(image_id) from None
            raise

    def _check_not_deleted(self, dir_fd, image_id):
        """A delete removes the recipe before any blob link: if the recipe
        is gone too, the image was deleted meanwhile, not damaged."""
        try:
            os.stat(blobstore.RECIPE, dir_fd=dir_fd)
        except FileNotFoundError:
            raise self._not_found(image_id) from None

    def _read_recipe(self, recipe_file, image_id):
        try:
            return recipe_mod.Recipe.read(recipe_file)
        except recipe_mod.RecipeError as exc:
            raise self._damaged_recipe(image_id, exc) from None

    def _damaged_recipe(self, image_id, error):
        return self._damaged_store('recipe of image %s: %s'
                                   % (image_id, error))

    def _damaged(self, image_id, digest, what):
        return self._damaged_store('blob sha256:%s of image %s %s'
                                   % (digest, image_id, what))

    def _damaged_store(self, what):
        msg = 'layers store %s is damaged: %s' % (self.backend_group, what)
        LOG.error(msg)
        return exceptions.BackendException(msg)

    def get_size(self, location, context=None):
        """Size in bytes of the stored image (from its recipe header).

        :raises NotFound: if the image is not stored
        """
        image_id = self._image_id(location)
        try:
            return recipe_mod.read_size(self._blobs().recipe_path(image_id))
        except FileNotFoundError:
            raise self._not_found(image_id) from None
        except recipe_mod.RecipeError as exc:
            raise self._damaged_recipe(image_id, exc) from None

    # -- writing ----------------------------------------------------------

    @glance_store.driver.back_compat_add
    @capabilities.check
    def add(self, image_id, image_file, image_size, hashing_algo,
            context=None, verifier=None):
        """Store an image; layers already in the store are not stored again.

        :param image_size: expected size in bytes, 0 if unknown
        :returns: (location URI, bytes, md5 hex, multihash hex, metadata)
        :raises Duplicate: if the image id is already stored
        :raises Invalid: if the data is not ``image_size`` bytes long
        :raises StorageFull: if the file system is full
        :raises StorageWriteDenied: if the store may not write
        """
        image_id = _check_image_id(image_id)
        blobs = self._blobs()
        if blobs.image_exists(image_id):
            raise self._duplicate(image_id)
        started = time.monotonic()
        try:
            blobs.sweep()
            work = blobs.new_work()
        except OSError as exc:
            raise self._write_error(exc, image_id) from exc
        ingest = None
        try:
            ingest = ingest_mod.Ingest(work, image_id)
            size, checksum, multihash, segments = self._ingest(
                ingest, image_id, image_file, image_size, hashing_algo,
                verifier)
            blobs.commit(work, image_id)
        except _UploadReadError as exc:
            # The client's data stream failed, not the store: clean up
            # and let Glance see the original error.
            self._abort(ingest, work)
            LOG.warning('Upload of image %s to layers store %s failed '
                        'while reading the data: %s', image_id,
                        self.backend_group, exc.original)
            raise exc.original from None
        except blobstore.ImageExistsError:
            work.abort()
            raise self._duplicate(image_id) from None
        except OSError as exc:
            self._abort(ingest, work)
            raise self._write_error(exc, image_id) from exc
        except BaseException:
            self._abort(ingest, work)
            raise
        LOG.info('Stored image %s in layers store %s: %d bytes in %d '
                 'segments, %d new blobs (%d bytes), %d shared blobs, '
                 '%.2f s', image_id, self.backend_group, size, segments,
                 ingest.new_blobs, ingest.new_bytes, ingest.reused_blobs,
                 time.monotonic() - started)
        metadata = {}
        if self.backend_group:
            metadata['store'] = self.backend_group
        uri = '%s://%s/%s' % (SCHEME, self.backend_group, image_id)
        return (uri, size, checksum, multihash, metadata)

    def _ingest(self, ingest, image_id, image_file, image_size,
                hashing_algo, verifier):
        md5 = utils.get_hasher('md5', False)
        os_hash = utils.get_hasher(hashing_algo, False)
        # md5 and the multihash run on helper threads, in parallel with
        # the blob sha256 and the writes done here (see hashing.py).
        helpers = [hashing.BackgroundHasher(md5),
                   hashing.BackgroundHasher(os_hash)]
        splitter = tarsplit.TarSplitter(ingest, self.blob_threshold)
        received = 0
        try:
            for piece in _read_upload(image_file, self.WRITE_CHUNKSIZE):
                # The helper thread needs data nobody can change.
                chunk = piece if isinstance(piece, bytes) else bytes(piece)
                received += len(chunk)
                if image_size and received > image_size:
                    raise exceptions.Invalid(
                        message='size exceeds: expected %d bytes, got at '
                                'least %d bytes' % (image_size, received))
                for helper in helpers:
                    helper.update(chunk)
                if verifier:
                    verifier.update(chunk)
                splitter.feed(chunk)
        finally:
            for helper in helpers:
                helper.finish()
        if image_size and received != image_size:
            raise exceptions.Invalid(
                message='size mismatch: expected %d bytes, got %d bytes'
                        % (image_size, received))
        splitter.close()
        checksum = md5.hexdigest()
        segments = ingest.finish({
            'image_id': image_id, 'md5': checksum,
            'hashing_algo': hashing_algo,
            'multihash': os_hash.hexdigest(),
            'created_at': int(time.time())})
        return received, checksum, os_hash.hexdigest(), segments

    def _duplicate(self, image_id):
        return exceptions.Duplicate(
            message='image %s is already in layers store %s'
                    % (image_id, self.backend_group))

    @staticmethod
    def _abort(ingest, work):
        if ingest is not None:
            ingest.close()
        work.abort()

    def _write_error(self, exc, image_id):
        if exc.errno in _FULL_ERRNOS:
            LOG.error('Layers store %s is full while storing image %s: %s',
                      self.backend_group, image_id, exc)
            return exceptions.StorageFull(
                message='layers store %s is full: %s'
                        % (self.backend_group, exc))
        if exc.errno in _DENIED_ERRNOS:
            LOG.error('Layers store %s may not write image %s: %s',
                      self.backend_group, image_id, exc)
            return exceptions.StorageWriteDenied(
                message='layers store %s may not write: %s'
                        % (self.backend_group, exc))
        LOG.error('Layers store %s failed to store image %s: %s',
                  self.backend_group, image_id, exc)
        return exceptions.BackendException(
            'layers store %s failed to store image %s: %s'
            % (self.backend_group, image_id, exc))

    @capabilities.check
    def delete(self, location, context=None):
        """Delete an image; blobs that no other image uses are freed.

        :raises NotFound: if the image is not stored
        """
        image_id = self._image_id(location)
        blobs = self._blobs()
        try:
            blobs.sweep()
            freed = blobs.remove_image(image_id)
        except blobstore.ImageMissingError:
            raise self._not_found(image_id) from None
        except OSError as exc:
            raise self._write_error(exc, image_id) from exc
        LOG.info('Deleted image %s from layers store %s (%d bytes of '
                 'unused blobs freed)', image_id, self.backend_group, freed)

