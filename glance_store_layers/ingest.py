"""Turn the splitter's events into blobs and a recipe in a work directory.

This is the sink of :class:`glance_store_layers.tarsplit.TarSplitter`:
verbatim bytes go to the recipe, each large member to a temp file that
is hashed with sha256 while it is written and then adopted into the blob
store under that digest (the name inside the archive is never used).

When the splitter gives up on the input (not a plain tar, or truncated),
everything received so far is copied, in order, into one new temp blob
from the work directory itself (never from memory), the member blobs of
this upload are released, and the rest of the stream is appended: the
image ends up as a recipe with a single blob.
"""
import hashlib
import logging
import os

from glance_store_layers import recipe as recipe_mod

LOG = logging.getLogger(__name__)
_COPY_CHUNK = 1024 * 1024
WRITE_BUFFER = 1024 * 1024


class _TempBlob:
    """A temp file being filled with one blob, hashed as it is written."""

    def __init__(self, path):
        self.path = path
        # A large buffer turns the splitter's unaligned pieces into
        # page-aligned writes: besides fewer system calls, the page cache
        # then keeps the file in large folios, and reading it back later
        # is markedly faster (measured: ~1.7x on ext4).
        # Closed by adopt() or discard().
        self.file = open(path, 'xb', buffering=WRITE_BUFFER)
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.file.write(data)
        self.sha256.update(data)
        self.size += len(data)

    def discard(self):
        if not self.file.closed:
            self.file.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class Ingest:
    """Receives one upload (see the module doc); owns nothing on failure:
    the caller aborts the work directory, which removes every file."""

    def __init__(self, work, image_id):
        self.work = work
        self.image_id = image_id
        self._recipe_path = os.path.join(work.path, 'recipe')
        self._recipe_file = open(self._recipe_path, 'w+b')
        self.recipe = recipe_mod.RecipeWriter(self._recipe_file)
        self._blob = None
        self._whole = None
        self.new_blobs = 0
        self.reused_blobs = 0
        self.new_bytes = 0
        self.reason = None

    # -- sink interface -----------------------------------------------------

    def inline(self, data):
        self.recipe.inline(data)

    def blob_begin(self, size):
        self._blob = _TempBlob(self.work.temp_path())
        self._blob_size = size

    def blob_data(self, data):
        self._blob.write(data)

    def blob_end(self):
        blob, self._blob = self._blob, None
        if blob.size != self._blob_size:
            raise AssertionError('splitter ended a blob early')
        self._adopt(blob)
        self.recipe.blob(blob.sha256.hexdigest(), blob.size)

    def abandon(self, reason):
        """Re-home everything so far into one whole-image temp blob."""
        self.reason = reason
        LOG.info('Image %s is not a plain complete tar (%s): storing it '
                 'whole, without de-duplication', self.image_id, reason)
        whole = _TempBlob(self.work.temp_path())
        self.recipe.flush()
        with open(self._recipe_path, 'rb') as src:
            for seg in self.recipe.segments:
                if seg.kind == recipe_mod.INLINE:
                    src.seek(seg.ref)
                    _copy(src, whole, seg.length)
                else:
                    with open(os.path.join(self.work.path, seg.ref),
                              'rb') as blob_src:
                        _copy(blob_src, whole, seg.length)
        if self._blob is not None:
            partial, self._blob = self._blob, None
            partial.file.flush()
            with open(partial.path, 'rb') as src:
                _copy(src, whole, partial.size)
            partial.discard()
        self.work.drop_links(list(dict.fromkeys(
            s.ref for s in self.recipe.segments
            if s.kind == recipe_mod.BLOB)))
        self.new_blobs = self.reused_blobs = self.new_bytes = 0
        self._restart_recipe()
        self._whole = whole

    def raw(self, data):
        self._whole.write(data)

    # -- end of upload ------------------------------------------------------

    def finish(self, meta):
        """Complete and fsync the recipe; the work dir is ready to commit.

        :returns: the number of segments of the recipe
        """
        if self._whole is not None:
            whole, self._whole = self._whole, None
            self._adopt(whole)
            self.recipe.blob(whole.sha256.hexdigest(), whole.size)
        meta = dict(meta, split=self.reason is None)
        if self.reason:
            meta['unsplit_reason'] = self.reason
        self.recipe.finish(meta)
        os.fsync(self._recipe_file.fileno())
        self._recipe_file.close()
        return len(self.recipe.segments)

    def close(self):
        """Close open files (after a failure); the work dir is aborted."""
        files = [self._recipe_file]
        files += [b.file for b in (self._blob, self._whole) if b is not None]
        for f in files:
            try:
                f.close()
            except OSError:
                # Buffered bytes that cannot be written (disk full) are
                # of no use any more: the work directory goes anyway.
                pass

    # -- internals ------------------------------------------------------------

    def _adopt(self, blob):
        digest = blob.sha256.hexdigest()
        if self.work.adopt(blob.file, blob.path, digest, blob.size):
            self.new_blobs += 1
            self.new_bytes += blob.size
            LOG.debug('Image %s: new blob sha256:%s (%d bytes)',
                      self.image_id, digest, blob.size)
        else:
            self.reused_blobs += 1
            LOG.debug('Image %s: blob sha256:%s (%d bytes) already stored',
                      self.image_id, digest, blob.size)

    def _restart_recipe(self):
        self._recipe_file.seek(0)
        self._recipe_file.truncate()
        self.recipe = recipe_mod.RecipeWriter(self._recipe_file)


def _copy(src, dst, length):
    while length:
        data = src.read(min(_COPY_CHUNK, length))
        if not data:
            raise OSError('short read while re-copying upload data')
        dst.write(data)
        length -= len(data)
