"""Glance images in the engine: loaded once, found by Glance image ID.

A Glance image (``container_format=docker``, ``disk_format=raw``, data a
``docker save`` archive) streams from the image API straight into the
engine's image load: no temporary file, no archive in memory. Concurrent
spawns of the same missing image share one load. The loaded image is
tagged ``pydock-glance:<image id>``; the tag's time is refreshed when the
image is used (at most once a minute: a re-tag is an engine call on the
spawn path) so the image cache manager can tell when it was last needed.
"""
import shlex
import time

from nova import exception
from nova.compute import task_states
from nova.image import glance
from oslo_concurrency import lockutils
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import timeutils

from nova_pydock import archive
from nova_pydock import engine as engine_client

LOG = logging.getLogger(__name__)

REPOSITORY = 'pydock-glance'
CONTAINER_FORMAT = 'docker'
DISK_FORMAT = 'raw'
# Log load progress at most this often (seconds).
PROGRESS_INTERVAL = 10
# Seconds between two refreshes of an image's last-use time; far below any
# sensible [image_cache] remove_unused_original_minimum_age_seconds.
LAST_USE_RESOLUTION = 60


def reference(image_id):
    """Engine reference of a Glance image."""
    return '%s:%s' % (REPOSITORY, image_id)


def check_formats(image_meta):
    """Refuse images that are not ``docker save`` archives."""
    container_format = image_meta.obj_attr_is_set('container_format') and \
        image_meta.container_format
    disk_format = image_meta.obj_attr_is_set('disk_format') and \
        image_meta.disk_format
    if container_format != CONTAINER_FORMAT or disk_format != DISK_FORMAT:
        raise exception.ImageUnacceptable(
            image_id=image_meta.id,
            reason='nova-pydock runs docker images only: container_format '
                   'must be "docker" and disk_format "raw", not %r/%r'
                   % (container_format or None, disk_format or None))


def command_for(image_meta, image):
    """The command of a new container of ``image``: image property
    ``os_command_line`` if set, else None (the image's CMD/ENTRYPOINT).

    :raises nova.exception.ImageUnacceptable: the image has no command.
    """
    config = image.get('Config') or {}
    command = None
    properties = image_meta.properties
    if properties.obj_attr_is_set('os_command_line'):
        command = shlex.split(properties.os_command_line)
    if not (command or config.get('Cmd') or config.get('Entrypoint')):
        raise exception.ImageUnacceptable(
            image_id=image_meta.id,
            reason='the image has no command: give it CMD or '
                   'ENTRYPOINT, or set the image property '
                   'os_command_line')
    return command


def in_use(instances, host, listed):
    """Glance image IDs compute host ``host`` needs: those its instances
    were built from and those its containers (``listed``) run."""
    used = {inst.image_ref for inst in instances if inst.host == host}
    for found in listed:
        image = found.get('Image', '')
        if image.startswith(REPOSITORY + ':'):
            used.add(image.split(':', 1)[1])
    return used


class _Progress:
    """Counts bytes streamed and logs progress of long loads."""

    def __init__(self, image_id, total):
        self.image_id = image_id
        self.total = total or 0
        self.sent = 0
        self._started = self._logged = time.monotonic()

    def __call__(self, chunks):
        for chunk in chunks:
            self.sent += len(chunk)
            now = time.monotonic()
            if now - self._logged >= PROGRESS_INTERVAL:
                self._logged = now
                LOG.info('Image %(id)s: %(sent)d of %(total)s bytes loaded '
                         'into the engine',
                         {'id': self.image_id, 'sent': self.sent,
                          'total': self.total or 'unknown'})
            yield chunk

    @property
    def elapsed(self):
        return time.monotonic() - self._started


class ImageCache:
    """Loads Glance images into the engine and prunes unused ones."""

    def __init__(self, engine, image_api=None,
                 last_use_resolution=LAST_USE_RESOLUTION):
        self._engine = engine
        self.image_api = image_api or glance.API()
        self.last_use_resolution = last_use_resolution

    def ensure(self, context, image_meta):
        """Make sure the image is in the engine; return its details.

        Returns ``(details, loaded)``: the engine's inspection of the image
        (its ``Id`` and ``Config``), and whether this call had to fetch it
        from Glance.
        """
        check_formats(image_meta)
        ref = reference(image_meta.id)
        details = self._cached(ref)
        if details:
            return details, False
        with lockutils.lock('pydock-image-%s' % image_meta.id):
            # Another spawn may have loaded it while this one waited.
            details = self._cached(ref)
            if details:
                return details, False
            self._load(context, image_meta)
        return self._engine.inspect_image(ref), True

    def _cached(self, ref):
        """The image's details if the engine has it, noting this use."""
        try:
            details = self._engine.inspect_image(ref)
        except engine_client.ImageNotInEngine:
            return None
        if _idle_seconds(details) >= self.last_use_resolution:
            # Re-tagging records the time of use for manage_image_cache.
            repository, tag = ref.split(':', 1)
            self._engine.tag_image(ref, repository, tag)
        return details

    def _load(self, context, image_meta):
        image_id = image_meta.id
        size = image_meta.size if image_meta.obj_attr_is_set('size') else 0
        LOG.info('Loading image %(id)s (%(size)s bytes) from Glance into '
                 'the engine', {'id': image_id, 'size': size or 'unknown'})
        chunks = self.image_api.download(context, image_id)
        progress = _Progress(image_id, size)
        try:
            loaded = self._engine.load_image(
                image_id, progress(archive.untagged(image_id, chunks)))
        except engine_client.ImageLoadFailed as exc:
            raise exception.ImageUnacceptable(
                image_id=image_id, reason=exc.kwargs['reason']) from exc
        finally:
            close = getattr(chunks, 'close', None)
            if close:
                close()
        if len(loaded) != 1:
            LOG.warning('Image %(id)s: archive held %(n)d images, using the '
                        'first', {'id': image_id, 'n': len(loaded)})
        self._engine.tag_image(loaded[0], REPOSITORY, image_id)
        LOG.info('Image %(id)s loaded into the engine: %(bytes)d bytes in '
                 '%(secs).1fs', {'id': image_id, 'bytes': progress.sent,
                                 'secs': progress.elapsed})

    def snapshot(self, context, guest, image_id, update_task_state):
        """Commit container ``guest``; stream ``docker save`` into Glance.

        The image API hands the archive to python-glanceclient, which
        reads it like a file. A failed upload removes the commit.
        """
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        ref = reference(image_id)
        guest.commit(REPOSITORY, image_id)
        try:
            update_task_state(task_state=task_states.IMAGE_UPLOADING,
                              expected_state=task_states.IMAGE_PENDING_UPLOAD)
            LOG.info('Uploading snapshot %s to Glance', image_id,
                     instance=guest.instance)
            metadata = {'container_format': CONTAINER_FORMAT,
                        'disk_format': DISK_FORMAT}
            chunks = self._engine.save_image(ref)
            self.image_api.update(context, image_id, metadata,
                                  data=archive.ChunkReader(chunks),
                                  purge_props=False)
        except Exception:
            with excutils.save_and_reraise_exception():
                self._engine.remove_image(ref)
        LOG.info('Snapshot %s uploaded', image_id, instance=guest.instance)

    def prune(self, images_in_use, min_age_seconds):
        """Remove cached images unused for ``min_age_seconds``.

        ``images_in_use`` holds the Glance IDs that instances on this host
        use; those are never removed, whatever their age.
        """
        removed = []
        for image in self._engine.list_images(REPOSITORY):
            for tag in image.get('RepoTags') or ():
                image_id = tag.split(':', 1)[1]
                if image_id in images_in_use:
                    continue
                try:
                    idle = _idle_seconds(self._engine.inspect_image(tag))
                    if idle < min_age_seconds:
                        continue
                    LOG.info('Removing image %s from the engine: unused for '
                             'more than %ds', image_id, min_age_seconds)
                    self._engine.remove_image(tag)
                except engine_client.ImageNotInEngine:
                    # Gone since the listing: another compute service on
                    # this engine, or an operator, removed it.
                    continue
                except engine_client.ContainerConflict:
                    # Still used by a container this host does not own.
                    LOG.info('Image %s is still used by a container; kept',
                             image_id)
                    continue
                removed.append(image_id)
        return removed


def _idle_seconds(details):
    """Seconds since an image (``docker inspect`` details) was last used."""
    last_tag = (details.get('Metadata') or {}).get('LastTagTime')
    stamp = last_tag or details.get('Created')
    try:
        used_at = timeutils.parse_isotime(stamp)
    except (ValueError, TypeError):
        return 0
    return timeutils.delta_seconds(used_at, timeutils.utcnow(True))
