"""Pure logic of the config drive: its mount points, directory names and
what a move to another host does with the directory."""
import os

import fixtures
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



class TestMoveToAnotherHost(testtools.TestCase):
    """Set aside, put back, confirm: with the directory shared by the
    source and the destination, the harder case (one machine, one
    config_drive_dir; separate directories are tested on the engine)."""

    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).join('drives')
        self.drives = configdrive.ConfigDrives(self.root, ['/config-drive'])
        self.instance = objects.Instance(
            uuid='8d5c0f1e-2f6a-4c57-9d3e-6f1b2a3c4d5e')

    def write(self, text):
        self.drives._install(self.instance, [('openstack/latest/x', text)])

    def read(self, suffix=''):
        path = os.path.join(self.drives.path_for(self.instance) + suffix,
                            'openstack', 'latest', 'x')
        with open(path) as f:
            return f.read()

    def test_revert_brings_back_the_source_drive(self):
        self.write('source')
        self.assertTrue(self.drives.set_aside(self.instance))
        self.assertEqual([], self.drives.mounts_for(self.instance))
        self.write('destination')
        # The destination's destroy at the revert leaves the aside drive.
        self.drives.remove(self.instance)
        self.assertEqual('source', self.read(configdrive.SET_ASIDE_SUFFIX))
        self.assertTrue(self.drives.put_back(self.instance))
        self.assertEqual('source', self.read())
        self.assertEqual([self.drives.path_for(self.instance)],
                         sorted(os.path.join(self.root, name)
                                for name in os.listdir(self.root)))

    def test_put_back_replaces_a_destination_drive_kept(self):
        self.write('source')
        self.drives.set_aside(self.instance)
        self.write('destination')  # kept: a destination sharing the disk
        self.drives.put_back(self.instance)
        self.assertEqual('source', self.read())

    def test_confirm_keeps_the_destination_drive_only(self):
        self.write('source')
        self.drives.set_aside(self.instance)
        self.write('destination')
        self.drives.remove_set_aside(self.instance)
        self.assertEqual('destination', self.read())
        self.assertEqual([self.instance.uuid], os.listdir(self.root))

    def test_without_a_drive_nothing_happens(self):
        self.assertFalse(self.drives.set_aside(self.instance))
        self.assertFalse(self.drives.put_back(self.instance))
        self.drives.remove_set_aside(self.instance)
        self.assertFalse(os.path.exists(self.root))

    def test_a_drive_left_aside_by_a_failed_move_is_replaced(self):
        self.write('old')
        self.drives.set_aside(self.instance)
        self.write('source')
        self.drives.set_aside(self.instance)
        self.drives.put_back(self.instance)
        self.assertEqual('source', self.read())
