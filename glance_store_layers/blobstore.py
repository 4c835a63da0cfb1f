"""The on-disk layout of a layers store, and the rules that keep it safe.

::

    <datadir>/lock                    flock'ed around short metadata steps
    <datadir>/blobs/sha256/ab/ab...   one file per distinct blob (canonical)
    <datadir>/images/<image id>/      one directory per stored image:
        recipe                        how to rebuild the image's bytes
        <sha256 hex>                  a hard link to each blob it uses
    <datadir>/work/<uuid>.lock        flock'ed by a live upload or delete
    <datadir>/work/<uuid>/            that operation's files

Why hard links: the link count of a canonical blob *is* its reference
count (one for the canonical name, one per image or upload using it),
kept by the file system itself, atomically, with no index that a crash
could leave disagreeing with the data. Images read their blobs through
their own links, so nothing done to other images, not even losing the
canonical name, can take data away from a readable image. Space comes
back as soon as the last image using a blob is deleted, without a
collector to schedule or a grace period to tune (a mark-and-sweep would
need both, plus a way to see uploads in flight, which here are simply
more links). The price is that the store needs a file system with hard
links, which any local one has. At start-up, canonical blobs with no
other link (only outside interference makes them) are removed as well.

Crash safety: blobs are written to a temp file in the upload's work
directory, fsync'ed, and linked into place; the recipe is written last,
fsync'ed, and the whole work directory becomes ``images/<id>`` with one
``rename``. An image therefore exists exactly when its recipe is in
``images/``. A work directory whose owner died is swept, its blobs
released (``work.py``: the work directories, their locks and the sweep).

The store lock serialises only the steps where a link count is read and
acted on (reuse-or-publish a canonical blob, drop an unused one); data is
never read, written or fsync'ed while holding it.
"""
import contextlib
import errno
import fcntl
import logging
import os
import re
import shutil
import stat

from glance_store_layers import work as work_mod

LOG = logging.getLogger(__name__)

RECIPE = 'recipe'
_DIGEST = re.compile(r'^[0-9a-f]{64}$')


class ImageExistsError(Exception):
    """An image with this id is already stored."""


class ImageMissingError(Exception):
    """No image with this id is stored."""


def is_digest(name):
    return bool(_DIGEST.match(name))


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    """Blobs, images and in-flight work under one data directory."""

    def __init__(self, root):
        self.root = root
        self.blob_root = os.path.join(root, 'blobs', 'sha256')
        self.image_root = os.path.join(root, 'images')
        self.work_root = os.path.join(root, 'work')
        self._lock_path = os.path.join(root, 'lock')

    # -- layout -------------------------------------------------------------

    def ensure_layout(self):
        """Create the directories (idempotent); raises OSError."""
        for path in (self.root, self.image_root, self.work_root):
            os.makedirs(path, exist_ok=True)
        # All 256 shard directories exist up front: publishing a blob then
        # never creates a directory, and no sweep ever removes one.
        for i in range(256):
            os.makedirs(os.path.join(self.blob_root, '%02x' % i),
                        exist_ok=True)
        with open(self._lock_path, 'ab'):
            pass

    def writable(self):
        return all(os.access(p, os.W_OK | os.X_OK)
                   for p in (self.root, self.image_root, self.work_root,
                             self.blob_root))

    def blob_path(self, digest):
        return os.path.join(self.blob_root, digest[:2], digest)

    def image_path(self, image_id):
        return os.path.join(self.image_root, image_id)

    def recipe_path(self, image_id):
        return os.path.join(self.image_root, image_id, RECIPE)

    def image_exists(self, image_id):
        return os.path.exists(self.recipe_path(image_id))

    def image_ids(self):
        try:
            names = os.listdir(self.image_root)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if self.image_exists(n))

    @contextlib.contextmanager
    def locked(self):
        """Hold the store lock (each call opens its own file description,
        so threads of one process exclude each other too)."""
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    # -- work directories -----------------------------------------------------

    def new_work(self, make_dir=True):
        """Start an upload or a delete: a locked, private work directory."""
        return work_mod.Work(self, make_dir)

    def sweep(self):
        """Release work directories whose owner is gone (``work.sweep``).

        :returns: the number of work directories released
        """
        return work_mod.sweep(self)

    # -- blobs -------------------------------------------------------------

    def adopt(self, work_path, tmp_file, tmp_path, digest, size):
        """Make a finished temp blob part of the work directory.

        Reuses the canonical blob if there is one (the temp file is then
        dropped unsynced), otherwise fsyncs the temp file and publishes it
        as the canonical blob. Closes ``tmp_file``.

        :returns: True if the blob was new to the store
        """
        link = os.path.join(work_path, digest)
        canonical = self.blob_path(digest)
        if os.path.exists(link):
            # The same content twice in one upload: one reference is enough.
            tmp_file.close()
            os.unlink(tmp_path)
            return False
        if self._link_existing(canonical, link, size):
            tmp_file.close()
            os.unlink(tmp_path)
            return False
        tmp_file.flush()
        os.fsync(tmp_file.fileno())
        tmp_file.close()
        # Digest-named in the work directory before it is published: a
        # crash at any point leaves a name that a sweep knows to release.
        os.rename(tmp_path, link)
        with self.locked():
            try:
                os.link(link, canonical)
                created = True
            except FileExistsError:
                # Published by another upload meanwhile: share that copy.
                created = self._share_published(canonical, link, tmp_path)
        if created:
            fsync_dir(os.path.dirname(canonical))
        return created

    def _share_published(self, canonical, link, spare):
        """Replace our copy by the canonical one (store lock held).

        :returns: True if ours became canonical after all (link limit)
        """
        try:
            os.link(canonical, spare)
        except OSError as exc:
            if exc.errno != errno.EMLINK:
                raise
            self._retire(canonical)
            os.link(link, canonical)
            return True
        os.rename(spare, link)
        return False

    def _link_existing(self, canonical, link, size):
        with self.locked():
            try:
                st = os.stat(canonical)
            except FileNotFoundError:
                return False
            if st.st_size != size:
                LOG.error('Blob %s has %d bytes instead of %d: replacing '
                          'the damaged canonical copy', canonical,
                          st.st_size, size)
                os.unlink(canonical)
                return False
            try:
                os.link(canonical, link)
            except OSError as exc:
                if exc.errno != errno.EMLINK:
                    raise
                self._retire(canonical)
                return False
            return True

    @staticmethod
    def _retire(canonical):
        """Start a new copy of a blob whose inode has as many hard links
        as the file system allows (65000 on ext4): the images linking the
        old inode keep it, new images share the new one. Store lock held.
        """
        LOG.info('Blob %s is used by as many images as the file system '
                 'can link to one file; further images share a new copy',
                 canonical)
        os.unlink(canonical)

    def release_dir(self, path):
        """Remove an image or work directory and drop unused blobs.

        Safe to run twice, concurrently with another release, and to be
        interrupted anywhere: a blob link is removed only in the same
        locked step that decides the fate of its canonical copy, so no
        canonical blob is ever left without a reference to release it.

        :returns: bytes of blob data freed
        """
        try:
            entries = list(os.scandir(path))
        except FileNotFoundError:
            return 0
        # The recipe goes first: a half-released directory is never an
        # image, whatever happens next.
        entries.sort(key=lambda e: e.name != RECIPE)
        digests = []
        for entry in entries:
            if is_digest(entry.name):
                digests.append(entry.name)
            elif entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                work_mod.unlink_quietly(entry.path)
        freed = self.release_links(path, digests)
        with contextlib.suppress(FileNotFoundError):
            os.rmdir(path)
        return freed

    def release_links(self, path, digests):
        """Drop the blob links ``path/<digest>``; free unused blobs.

        Under the store lock, for each link: when it and the canonical
        name are the last two names of the blob, the canonical name goes
        first and the link is moved aside; otherwise only the link goes.
        Moved-aside links, which may hold gigabytes, are unlinked after
        the lock is released.

        :returns: bytes of blob data freed
        """
        freed = 0
        doomed = []
        if not digests:
            return freed
        with self.locked():
            for digest in digests:
                link = os.path.join(path, digest)
                try:
                    st = os.stat(link)
                except FileNotFoundError:
                    continue
                canonical = self.blob_path(digest)
                try:
                    cst = os.stat(canonical)
                except FileNotFoundError:
                    cst = None
                shared = cst is not None and (cst.st_dev, cst.st_ino) == (
                    st.st_dev, st.st_ino)
                if shared and st.st_nlink <= 2:
                    os.unlink(canonical)
                    spare = os.path.join(path, '.free-%s' % digest)
                    os.rename(link, spare)
                    doomed.append(spare)
                    freed += st.st_size
                    LOG.debug('Removing unused blob sha256:%s (%d bytes)',
                              digest, st.st_size)
                else:
                    # Still used elsewhere, or a copy the canonical name
                    # no longer points to (see _retire).
                    os.unlink(link)
                    if not shared and st.st_nlink == 1:
                        freed += st.st_size
        for spare in doomed:
            work_mod.unlink_quietly(spare)
        return freed

    def collect_garbage(self):
        """Remove canonical blobs that nothing links to (safety net).

        Nothing in the store leaves such blobs behind; this repairs a
        store after outside interference (files removed by hand, a
        restored backup). A blob with a single name under the store lock
        is unused by definition: every user holds a hard link.

        :returns: (blobs removed, bytes freed)
        """
        removed = freed = 0
        with self.locked():
            for dirpath, _dirs, files in os.walk(self.blob_root):
                for name in files:
                    path = os.path.join(dirpath, name)
                    try:
                        st = os.stat(path)
                    except FileNotFoundError:
                        continue
                    if st.st_nlink <= 1:
                        os.unlink(path)
                        removed += 1
                        freed += st.st_size
        if removed:
            LOG.warning('Removed %d blobs (%d bytes) that no image used',
                        removed, freed)
        return removed, freed

    # -- images ----------------------------------------------------------

    def commit(self, work, image_id):
        """Publish a finished upload as ``images/<image_id>``.

        :raises ImageExistsError: if another upload of that id won the race
        """
        target = self.image_path(image_id)
        fsync_dir(work.path)
        for attempt in (1, 2):
            try:
                os.rename(work.path, target)
                break
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
                if self.image_exists(image_id) or attempt == 2:
                    raise ImageExistsError(image_id) from None
                # A directory without a recipe is not an image: a leftover
                # of outside interference. Release it and try again.
                LOG.warning('Releasing incomplete image directory %s',
                            target)
                self._discard_image_dir(target)
        fsync_dir(self.image_root)
        work.close()

    def remove_image(self, image_id):
        """Delete an image; its blobs go when no other image uses them.

        :returns: bytes of blob data freed
        :raises ImageMissingError: if there is no such image
        """
        if not self.image_exists(image_id):
            raise ImageMissingError(image_id)
        work = self.new_work(make_dir=False)
        try:
            try:
                # From here on the image does not exist for readers.
                os.rename(self.image_path(image_id), work.path)
            except FileNotFoundError:
                raise ImageMissingError(image_id) from None
            fsync_dir(self.image_root)
            return self.release_dir(work.path)
        finally:
            work.close()

    def _discard_image_dir(self, path):
        work = self.new_work(make_dir=False)
        try:
            os.rename(path, work.path)
            self.release_dir(work.path)
        except FileNotFoundError:
            pass
        finally:
            work.close()


def disk_usage(paths):
    """Bytes of distinct inodes among regular files under ``paths``."""
    seen = set()
    total = 0
    for top in paths:
        for dirpath, _dirs, files in os.walk(top):
            for name in files:
                try:
                    st = os.lstat(os.path.join(dirpath, name))
                except FileNotFoundError:
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                key = (st.st_dev, st.st_ino)
                if key not in seen:
                    seen.add(key)
                    total += st.st_size
    return total
