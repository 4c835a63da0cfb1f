"""Pure logic of the config drive: its mount points and directory names."""
from nova import exception
from nova import objects
import testtools

from nova_pydock import configdrive


class TestMountPoints(testtools.TestCase):

    def test_defaults_are_accepted(self):
        points = ['/config-drive', '/var/lib/cloud/seed/config_drive']
        self.assertEqual(points, configdrive.check_mount_points(points))

    def test_bad_entries_are_named(self):
        for bad in (['config-drive'], ['/'], ['/a/../etc'], ['/a/'],
                    ['/a', '/a'], []):
            exc = self.assertRaises(exception.InvalidConfiguration,
                                    configdrive.check_mount_points, bad)
            self.assertIn('config_drive_mount_points', str(exc))

    def test_instance_uuid_names_the_directory(self):
        drives = configdrive.ConfigDrives('/srv/drives', ['/config-drive'])
        uuid = '8d5c0f1e-2f6a-4c57-9d3e-6f1b2a3c4d5e'
        self.assertEqual('/srv/drives/' + uuid,
                         drives.path_for(objects.Instance(uuid=uuid)))
        bad = objects.Instance()
        bad.uuid = '../../etc'
        self.assertRaises(exception.InvalidUUID, drives.path_for, bad)

