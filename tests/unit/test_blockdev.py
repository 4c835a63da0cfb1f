"""Finding the disk whose I/O ``quota:disk_*`` throttles."""
import os
from unittest import mock

import fixtures
import testtools

from nova_pydock import blockdev


class FakeSysfs(fixtures.Fixture):
    """``/sys/dev/block`` and ``/dev`` with a disk vdq and partition vdq1.

    The real sysfs links ``/sys/dev/block/M:m`` to the device directory;
    a partition's directory lives inside its disk's.
    """

    def _setUp(self):
        root = self.useFixture(fixtures.TempDir()).path
        self.sys_block = os.path.join(root, 'sys', 'dev', 'block')
        self.dev = os.path.join(root, 'dev')
        disk = os.path.join(root, 'sys', 'devices', 'virtio9', 'block',
                            'vdq')
        part = os.path.join(disk, 'vdq1')
        os.makedirs(part)
        os.makedirs(self.sys_block)
        os.makedirs(self.dev)
        self._write(disk, 'uevent',
                    'MAJOR=252\nMINOR=16\nDEVNAME=vdq\nDEVTYPE=disk\n')
        self._write(part, 'uevent', 'MAJOR=252\nMINOR=17\nDEVNAME=vdq1\n'
                    'DEVTYPE=partition\n')
        self._write(part, 'partition', '1\n')
        os.symlink(disk, os.path.join(self.sys_block, '252:16'))
        os.symlink(part, os.path.join(self.sys_block, '252:17'))
        for name in ('vdq', 'vdq1'):
            self._write(self.dev, name, '')
        self.mountinfo = os.path.join(root, 'mountinfo')
        self._write(root, 'mountinfo',
                    '22 27 0:21 / /proc rw,relatime - proc proc rw\n'
                    '30 1 0:45 / /var/lib/docker rw shared:1 - btrfs '
                    + os.path.join(self.dev, 'vdq1') + ' rw\n'
                    '31 1 0:46 / /run rw - tmpfs tmpfs rw\n')

    @staticmethod
    def _write(directory, name, text):
        with open(os.path.join(directory, name), 'w') as f:
            f.write(text)


def on_device(major, minor):
    """Pretend every path lies on file system ``major:minor``."""
    return mock.patch.object(blockdev, '_file_system_number',
                             return_value=os.makedev(major, minor))


class TestDiskOfDevnum(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.sysfs = self.useFixture(FakeSysfs())

    def disk(self, major, minor):
        return blockdev.disk_of_devnum(major, minor, self.sysfs.sys_block,
                                       self.sysfs.dev)

    def test_whole_disk(self):
        self.assertEqual(os.path.join(self.sysfs.dev, 'vdq'),
                         self.disk(252, 16))

    def test_partition_is_traced_to_its_disk(self):
        self.assertEqual(os.path.join(self.sysfs.dev, 'vdq'),
                         self.disk(252, 17))

    def test_unknown_number(self):
        self.assertIsNone(self.disk(8, 0))

    def test_device_node_missing(self):
        os.unlink(os.path.join(self.sysfs.dev, 'vdq'))
        self.assertIsNone(self.disk(252, 17))


class TestDiskOfPath(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.sysfs = self.useFixture(FakeSysfs())

    def disk_of(self, path):
        return blockdev.disk_of_path(path, self.sysfs.sys_block,
                                     self.sysfs.mountinfo, self.sysfs.dev)

    def test_file_system_on_a_partition(self):
        with on_device(252, 17):
            self.assertEqual(os.path.join(self.sysfs.dev, 'vdq'),
                             self.disk_of('/var/lib/docker'))

    def test_anonymous_device_found_through_mount_table(self):
        nodes = {os.path.join(self.sysfs.dev, 'vdq1'): os.makedev(252, 17)}
        with on_device(0, 45), mock.patch.object(
                blockdev, '_device_node_number', side_effect=nodes.get):
            self.assertEqual(os.path.join(self.sysfs.dev, 'vdq'),
                             self.disk_of('/var/lib/docker'))

    def test_memory_file_system_has_no_disk(self):
        with on_device(0, 46):
            self.assertIsNone(self.disk_of('/run'))

    def test_unmounted_anonymous_device(self):
        with on_device(0, 99):
            self.assertIsNone(self.disk_of('/nowhere'))


class TestThrottleDevices(testtools.TestCase):

    def test_configured_devices_win(self):
        self.assertEqual(['/dev/sdb', '/dev/sdc'], blockdev.throttle_devices(
            ['/dev/sdb', '/dev/sdc'], '/nonexistent'))

    def test_disk_of_data_root(self):
        sysfs = self.useFixture(FakeSysfs())
        with on_device(252, 16):
            self.assertEqual(
                [os.path.join(sysfs.dev, 'vdq')],
                blockdev.throttle_devices([], '/var/lib/docker',
                                          sysfs.sys_block, sysfs.mountinfo,
                                          sysfs.dev))

    def test_no_disk_no_devices(self):
        sysfs = self.useFixture(FakeSysfs())
        with on_device(0, 46):
            self.assertEqual([], blockdev.throttle_devices(
                [], '/run', sysfs.sys_block, sysfs.mountinfo, sysfs.dev))

    def test_this_host(self):
        # Whatever the disk of / is here, it is a real block device node.
        for path in blockdev.throttle_devices([], '/'):
            self.assertTrue(os.path.exists(path), path)
            self.assertTrue(path.startswith('/dev/'), path)
