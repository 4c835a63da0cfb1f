"""In-flight work: one private directory per upload or delete, owned by a
flock, and the sweep that releases those whose owner died.

::

    <datadir>/work/<uuid>.lock        flock'ed by a live upload or delete
    <datadir>/work/<uuid>/            that operation's files (temp blobs,
                                      blob links, the recipe being written)
    <datadir>/work/.<uuid>.lock       a lock file not yet held by its owner

A work directory whose owner died (its flock is free) is swept, blobs
released, the next time the store starts or takes an upload or a delete:
a killed upload leaves nothing readable and nothing that a retry could
trip over. The lock file is created under a temporary name, locked, and
only then renamed to ``<uuid>.lock``, so a sweep never sees a lock file
that is not yet held by a living owner. A work directory with no lock
file at all is left over from a crashed sweep; it is swept only once it
has not changed for ``ORPHAN_GRACE`` seconds.

The blobs themselves, their links and their release are ``blobstore``'s.
"""
import contextlib
import fcntl
import logging
import os
import time
import uuid

LOG = logging.getLogger(__name__)

ORPHAN_GRACE = 60


def sweep(blobs):
    """Release the work directories of ``blobs`` whose owner is gone.

    :returns: the number of work directories released
    """
    try:
        names = os.listdir(blobs.work_root)
    except FileNotFoundError:
        return 0
    swept = 0
    now = time.time()
    for name in names:
        path = os.path.join(blobs.work_root, name)
        if name.startswith('.'):
            # A lock file that never got its final name.
            if _older_than(path, now, ORPHAN_GRACE):
                unlink_quietly(path)
            continue
        if name.endswith('.lock'):
            swept += _sweep_locked(blobs, path, path[:-len('.lock')])
        elif (not os.path.exists(path + '.lock')
              and _older_than(path, now, ORPHAN_GRACE)):
            LOG.warning('Releasing orphaned work directory %s', path)
            blobs.release_dir(path)
            swept += 1
    return swept


def _sweep_locked(blobs, lock_path, work_path):
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except FileNotFoundError:
        return 0
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0        # its owner is alive
        if not os.path.exists(lock_path):
            return 0        # released by another sweep meanwhile
        freed = 0
        if os.path.isdir(work_path):
            freed = blobs.release_dir(work_path)
            LOG.warning('Released work directory %s left by an '
                        'interrupted upload or delete (%d bytes freed)',
                        work_path, freed)
        unlink_quietly(lock_path)
        return 1
    finally:
        os.close(fd)


class Work:
    """A private directory for one upload or delete, owned by a flock."""

    def __init__(self, blobs, make_dir=True):
        self.blobs = blobs
        self.name = uuid.uuid4().hex
        root = blobs.work_root
        self.path = os.path.join(root, self.name)
        self.lock_path = self.path + '.lock'
        tmp = os.path.join(root, '.%s.lock' % self.name)
        self._fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            os.rename(tmp, self.lock_path)
            if make_dir:
                os.mkdir(self.path)
        except BaseException:
            unlink_quietly(tmp)
            unlink_quietly(self.lock_path)
            os.close(self._fd)
            self._fd = None
            raise
        self._temps = 0

    def temp_path(self):
        self._temps += 1
        return os.path.join(self.path, '.tmp-%d' % self._temps)

    def adopt(self, tmp_file, tmp_path, digest, size):
        return self.blobs.adopt(self.path, tmp_file, tmp_path, digest, size)

    def drop_links(self, digests):
        """Forget blobs this work linked (e.g. after an abandoned split)."""
        self.blobs.release_links(self.path, digests)

    def abort(self):
        """Undo everything this work did; never raises."""
        try:
            self.blobs.release_dir(self.path)
        except Exception:
            LOG.exception('Could not clean up work directory %s; it will '
                          'be swept later', self.path)
        self.close()

    def close(self):
        if self._fd is None:
            return
        unlink_quietly(self.lock_path)
        os.close(self._fd)
        self._fd = None


def unlink_quietly(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _older_than(path, now, seconds):
    try:
        return now - os.lstat(path).st_mtime > seconds
    except FileNotFoundError:
        return False
