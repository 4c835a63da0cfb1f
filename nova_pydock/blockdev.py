"""Which disk holds a path: the device that ``quota:disk_*`` throttles.

The kernel throttles block I/O per device (``major:minor``), and the
engine wants the device's path. A container writes to the engine's data
root (``docker info``: ``DockerRootDir``), so the disk under that
directory is the one to throttle. Throttles act on whole disks, not
partitions, so a partition is traced back to its disk. File systems
without a device number of their own (btrfs, overlay, tmpfs: major 0)
are looked up in the mount table.

The driver calls :func:`throttle_devices` once when the service starts.
"""
import os

SYS_BLOCK = '/sys/dev/block'
MOUNTINFO = '/proc/self/mountinfo'
DEV = '/dev'


def throttle_devices(configured, data_root, sys_block=SYS_BLOCK,
                     mountinfo=MOUNTINFO, dev=DEV):
    """``[pydock] blkio_devices`` if set, else the disk of ``data_root``.

    :returns: a list of device paths, empty if none could be found.
    """
    if configured:
        return list(configured)
    disk = disk_of_path(data_root, sys_block, mountinfo, dev)
    return [disk] if disk else []


def disk_of_path(path, sys_block=SYS_BLOCK, mountinfo=MOUNTINFO, dev=DEV):
    """``/dev/<disk>`` holding ``path``, or None (no block device)."""
    device = _file_system_number(path)
    major, minor = os.major(device), os.minor(device)
    if major == 0:
        source = _mount_source(mountinfo, major, minor)
        if not source or not source.startswith('/'):
            return None
        try:
            device = _device_node_number(source)
        except OSError:
            return None
        major, minor = os.major(device), os.minor(device)
    return disk_of_devnum(major, minor, sys_block, dev)


def disk_of_devnum(major, minor, sys_block=SYS_BLOCK, dev=DEV):
    """``/dev/<disk>`` for a block device number, partitions -> disk."""
    entry = os.path.join(sys_block, '%d:%d' % (major, minor))
    if not os.path.exists(os.path.join(entry, 'uevent')):
        return None
    entry = os.path.realpath(entry)
    if os.path.exists(os.path.join(entry, 'partition')):
        entry = os.path.dirname(entry)
    name = _uevent(os.path.join(entry, 'uevent')).get('DEVNAME')
    if not name:
        return None
    path = os.path.join(dev, name)
    return path if os.path.exists(path) else None


def _file_system_number(path):
    """Device number of the file system that holds ``path``."""
    return os.stat(path).st_dev


def _device_node_number(path):
    """Device number that the device node ``path`` stands for."""
    return os.stat(path).st_rdev


def _uevent(path):
    with open(path) as f:
        return dict(line.rstrip('\n').split('=', 1) for line in f
                    if '=' in line)


def _mount_source(mountinfo, major, minor):
    """Mount source of the file system numbered ``major:minor``.

    mountinfo lines: ``id parent major:minor root mountpoint opts
    [optional fields] - fstype source superopts``.
    """
    wanted = '%d:%d' % (major, minor)
    with open(mountinfo) as f:
        for line in f:
            fields = line.split()
            if len(fields) > 2 and fields[2] == wanted and ' - ' in line:
                after = line.split(' - ', 1)[1].split()
                if len(after) > 1:
                    return after[1]
    return None
