"""The config drive: Nova's metadata files, read-only inside the container.

A VM gets its config drive as a small disk. A container gets the same
files as a directory: when Nova asks for a drive
(:func:`nova.virt.configdrive.required_by`), the tree Nova's metadata code
renders for one (``InstanceMetadata.metadata_for_config_drive``) is
written below ``[pydock] config_drive_dir``, one directory per instance,
and the container sees that directory read-only at each of ``[pydock]
config_drive_mount_points``.

It is the one host directory an instance container ever gets, so it is
kept narrow: only the user nova-compute runs as can reach it on the host
(the parent directory is 0700), inside the container files are 0400 and
directories 0500, the mount is read-only and the container lacks
CAP_SYS_ADMIN to remount it, and no other instance's container mounts it.
The directory is written whole in a temporary place and renamed into
place, so a container never sees half a drive.

A move to another host sets the source's drive aside (``<uuid>.moved``)
until Nova confirms or reverts, as libvirt sets aside an instance
directory, so that a destination sharing the directory writes its own
drive without touching the one a revert brings back. The destination
renders the drive anew from what Nova keeps of the instance: the admin
password and the drive's copies of injected files, which Nova keeps
nowhere, are not on it (the injected files themselves moved with the
container's files).
"""
import os
import posixpath
import shutil
import tempfile

from nova import exception
from nova.api.metadata import base as instance_metadata
from nova.virt import configdrive as nova_configdrive
from oslo_log import log as logging
from oslo_utils import uuidutils

LOG = logging.getLogger(__name__)

ROOT_MODE = 0o700
DIR_MODE = 0o500
FILE_MODE = 0o400
SET_ASIDE_SUFFIX = '.moved'


def check_mount_points(mount_points):
    """The mount points, checked: absolute, plain, distinct, not ``/``.

    :raises nova.exception.InvalidConfiguration: naming the bad entry.
    """
    if not mount_points:
        raise exception.InvalidConfiguration(
            '[pydock] config_drive_mount_points is empty: give at least '
            'one absolute path, such as /config-drive')
    for point in mount_points:
        if (not point.startswith('/') or point == '/'
                or posixpath.normpath(point) != point):
            raise exception.InvalidConfiguration(
                '[pydock] config_drive_mount_points: %r is not a plain '
                'absolute path below / (such as /config-drive)' % point)
    if len(set(mount_points)) != len(mount_points):
        raise exception.InvalidConfiguration(
            '[pydock] config_drive_mount_points names a path twice')
    return list(mount_points)


class ConfigDrives:
    """The config drives of one compute host's instances."""

    def __init__(self, root, mount_points):
        self.root = root
        self.mount_points = check_mount_points(mount_points)

    @classmethod
    def from_conf(cls, conf):
        return cls(conf.pydock.config_drive_dir,
                   conf.pydock.config_drive_mount_points)

    def path_for(self, instance):
        # The UUID names a directory: make sure it can only ever be one.
        if not uuidutils.is_uuid_like(instance.uuid):
            raise exception.InvalidUUID(uuid=instance.uuid)
        return os.path.join(self.root, instance.uuid)

    def write(self, instance, network_info, injected_files=(),
              admin_password=None):
        """Write the instance's drive if Nova wants one; True if written.

        ``injected_files`` go on the drive as Nova's ``content`` files and
        ``admin_password`` as ``admin_pass`` in ``meta_data.json``, as the
        libvirt driver does. A drive already there (a rebuild) is
        replaced.
        """
        if not nova_configdrive.required_by(instance):
            return False
        # Forced drives (configuration, image property) show in the API.
        nova_configdrive.update_instance(instance)
        extra_md = {'admin_pass': admin_password} if admin_password else {}
        try:
            files = list(instance_metadata.InstanceMetadata(
                instance, content=list(injected_files or ()),
                extra_md=extra_md,
                network_info=network_info).metadata_for_config_drive())
        except Exception as exc:
            raise exception.InstanceDeployFailure(
                reason='the config drive could not be rendered: %s'
                % exc) from exc
        self._install(instance, files)
        LOG.info('Config drive written to %s (%d files)',
                 self.path_for(instance), len(files), instance=instance)
        return True

    def _install(self, instance, files):
        self._ensure_root()
        staging = tempfile.mkdtemp(prefix='.%s-' % instance.uuid,
                                   dir=self.root)
        try:
            for path, data in files:
                _write_file(staging, path, data)
            _seal(staging)
            if os.path.isdir(self.path_for(instance)):
                _remove_tree(self.path_for(instance))
            os.rename(staging, self.path_for(instance))
        except BaseException:
            _remove_tree(staging)
            raise

    def _ensure_root(self):
        os.makedirs(self.root, mode=ROOT_MODE, exist_ok=True)
        mode = os.stat(self.root).st_mode & 0o777
        if mode != ROOT_MODE:
            LOG.warning('%s had mode %o; the config drives are readable by '
                        'their owner only: setting %o', self.root, mode,
                        ROOT_MODE)
            os.chmod(self.root, ROOT_MODE)

    def mounts_for(self, instance):
        """``(host path, container path)`` pairs; none without a drive."""
        path = self.path_for(instance)
        if not os.path.isdir(path):
            return []
        return [(path, point) for point in self.mount_points]

    def set_aside(self, instance):
        """Keep the drive aside while the instance moves to another host;
        True if there was one."""
        path = self.path_for(instance)
        if not os.path.isdir(path):
            return False
        aside = path + SET_ASIDE_SUFFIX
        if os.path.isdir(aside):  # left by an earlier, failed move
            _remove_tree(aside)
        os.rename(path, aside)
        LOG.info('Config drive %s set aside as %s for the move', path,
                 aside, instance=instance)
        return True

    def put_back(self, instance):
        """A reverted move: the drive set aside is the drive again,
        replacing any a destination sharing the directory wrote."""
        path = self.path_for(instance)
        aside = path + SET_ASIDE_SUFFIX
        if not os.path.isdir(aside):
            return False
        if os.path.isdir(path):
            _remove_tree(path)
        os.rename(aside, path)
        LOG.info('Config drive %s is back', path, instance=instance)
        return True

    def remove_set_aside(self, instance):
        """A confirmed move: the drive set aside goes."""
        aside = self.path_for(instance) + SET_ASIDE_SUFFIX
        if os.path.isdir(aside):
            _remove_tree(aside)
            LOG.info('Config drive %s removed: the move is confirmed',
                     aside, instance=instance)

    def remove(self, instance):
        """Remove the drive and any half-written one; nothing if none.

        A drive set aside for a move stays: its source host removes it at
        the confirmation, or puts it back at a revert.
        """
        path = self.path_for(instance)
        if os.path.isdir(path):
            _remove_tree(path)
            LOG.info('Config drive %s removed', path, instance=instance)
        if os.path.isdir(self.root):
            prefix = '.%s-' % instance.uuid
            for name in os.listdir(self.root):
                if name.startswith(prefix):
                    _remove_tree(os.path.join(self.root, name))


def _write_file(staging, path, data):
    """Write one of Nova's (relative) drive paths below ``staging``."""
    normal = posixpath.normpath(path)
    if normal.startswith(('/', '..')) or normal != path:
        raise exception.InstanceDeployFailure(
            reason='unexpected config drive path %r' % path)
    target = os.path.join(staging, normal)
    os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
    if isinstance(data, str):
        data = data.encode('utf-8')
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, 'wb') as f:
        f.write(data)


def _seal(top):
    """Directories of the drive 0500, deepest first."""
    for directory, _, _ in os.walk(top, topdown=False):
        os.chmod(directory, DIR_MODE)


def _remove_tree(top):
    """Remove a drive; its 0500 directories need write access first."""
    for directory, _, _ in os.walk(top):
        os.chmod(directory, 0o700)
    shutil.rmtree(top)
