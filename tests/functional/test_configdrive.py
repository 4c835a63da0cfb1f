"""Config drive, personality files and the admin password, on the engine.

The driver renders the drive with Nova's own metadata code. Two things
that code asks of services a compute host reaches (the block device
mappings in Nova's database, the security groups in Neutron) have no
service here; they are answered with what an instance without volumes in
the default group gets. Everything else is real: the files on the host,
the container's mounts, what a process inside reads and may not write.
"""
import base64
import json
import os
import stat
import uuid

import fixtures
from nova import exception
from nova import objects
from nova.compute import power_state
from oslo_config import fixture as config_fixture

from tests.functional import driver_base
from tests.functional import test_engine_restart

MOUNT_POINTS = ('/config-drive', '/var/lib/cloud/seed/config_drive')
# A test value, not a credential of anything.
ADMIN_PASSWORD = 's3cret-pass'  # noqa: S105
PUBLIC_KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPydockConfigDriveTest'
              'KeyOnlyForTests0000000000 test@pydock')


class ConfigDriveMixin:
    """Drives in a directory of the test's own; Nova's lookups answered."""

    def setUp(self):
        self.drive_dir = self.useFixture(fixtures.TempDir()).join('drives')
        conf = self.useFixture(config_fixture.Config(driver_base.CONF))
        conf.config(config_drive_dir=self.drive_dir, group='pydock')
        # Before the drivers start: a test case may spawn in its setUp.
        self.useFixture(fixtures.MockPatch(
            'nova.objects.BlockDeviceMappingList.get_by_instance_uuid',
            return_value=objects.BlockDeviceMappingList(objects=[])))
        self.useFixture(fixtures.MockPatch(
            'nova.network.security_group_api.get_instance_security_groups',
            return_value=[{'name': 'default'}]))
        super().setUp()

    def drive_instance(self, user_data=b'#!/bin/sh\necho hello\n',
                       metadata=None, config_drive=True, **kw):
        # Nova keeps config_drive as a string: '' for none.
        instance = self.instance(
            config_drive='True' if config_drive else '',
            key_name='k1', key_data=PUBLIC_KEY,
            user_data=(base64.b64encode(user_data).decode()
                       if user_data is not None else None),
            metadata=metadata if metadata is not None else {'role': 'web'},
            display_name='web-1', **kw)
        instance.keypairs = objects.KeyPairList(objects=[objects.KeyPair(
            name='k1', public_key=PUBLIC_KEY, type='ssh')])
        instance.ec2_ids = objects.EC2Ids(instance_id='i-00000001',
                                          ami_id='ami-00000001',
                                          kernel_id=None, ramdisk_id=None)
        instance.device_metadata = None
        instance.numa_topology = None
        return instance

    def spawn_with(self, instance, injected_files=(), admin_password=None):
        self.addCleanup(self._destroy_quietly, instance)
        self.driver.spawn(self.context, instance, self.image_meta,
                          list(injected_files), admin_password, {}, [])
        return instance

    def read(self, instance, path):
        code, output = self.exec_in(instance, 'cat', path)
        self.assertEqual(0, code, output)
        return output

    def drive_path(self, instance):
        return os.path.join(self.drive_dir, instance.uuid)


class TestConfigDrive(ConfigDriveMixin, driver_base.DriverTestCase):

    def test_files_and_contents(self):
        instance = self.spawn_with(self.drive_instance(),
                                   admin_password=ADMIN_PASSWORD)
        for point in MOUNT_POINTS:
            meta = json.loads(self.read(
                instance, point + '/openstack/latest/meta_data.json'))
            self.assertEqual({'k1': PUBLIC_KEY}, meta['public_keys'])
            self.assertEqual({'role': 'web'}, meta['meta'])
            self.assertEqual('web-1', meta['name'])
            self.assertEqual(instance.uuid, meta['uuid'])
            self.assertEqual(ADMIN_PASSWORD, meta['admin_pass'])
            self.assertEqual(b'#!/bin/sh\necho hello\n', self.read(
                instance, point + '/openstack/latest/user_data'))
        latest = '/config-drive/openstack/latest/'
        self.assertIsInstance(
            json.loads(self.read(instance, latest + 'network_data.json')),
            dict)
        self.assertEqual({'static': {}}, json.loads(
            self.read(instance, latest + 'vendor_data2.json')))
        ec2 = json.loads(self.read(
            instance, '/config-drive/ec2/latest/meta-data.json'))
        self.assertEqual('i-00000001', ec2['instance-id'])
        self.assertIn(PUBLIC_KEY, json.dumps(ec2['public-keys']))
        self.assertEqual(b'#!/bin/sh\necho hello\n', self.read(
            instance, '/config-drive/ec2/latest/user-data'))
        # Nova records a forced or requested drive on the instance.
        self.assertTrue(instance.config_drive)

    def test_host_directory_is_owner_only(self):
        instance = self.spawn_with(self.drive_instance())
        self.assertEqual(0o700, stat.S_IMODE(os.stat(self.drive_dir).st_mode))
        modes = set()
        for directory, _, files in os.walk(self.drive_path(instance)):
            modes.add(('dir', stat.S_IMODE(os.stat(directory).st_mode)))
            for name in files:
                path = os.path.join(directory, name)
                modes.add(('file', stat.S_IMODE(os.stat(path).st_mode)))
        self.assertEqual({('dir', 0o500), ('file', 0o400)}, modes)
        # Exactly its own directory, read-only, at each mount point.
        mounts = {(m['Source'], m['Destination'], m['RW'], m['Type'])
                  for m in self.inspect(instance)['Mounts']}
        self.assertEqual({(self.drive_path(instance), point, False, 'bind')
                          for point in MOUNT_POINTS}, mounts)

    def test_nothing_in_it_is_writable_from_inside(self):
        instance = self.spawn_with(self.drive_instance())
        meta = '/config-drive/openstack/latest/meta_data.json'
        for command in ('echo x > %s' % meta,
                        'echo x >> %s' % meta,
                        'touch /config-drive/new',
                        'rm -f %s' % meta,
                        'chmod 666 %s' % meta,
                        'mkdir /config-drive/openstack/new',
                        'mv %s /config-drive/moved' % meta,
                        'echo x > /var/lib/cloud/seed/config_drive/new',
                        'mount -o remount,rw /config-drive',
                        'mount -o remount,bind,rw /config-drive',
                        'umount /config-drive'):
            code, output = self.exec_in(instance, 'sh', '-c', command)
            self.assertNotEqual(0, code, '%s: %s' % (command, output))
        self.assertIn(b'Read-only file system', self.exec_in(
            instance, 'sh', '-c', 'echo x > %s' % meta)[1])
        code, output = self.exec_in(instance, 'grep', ' /config-drive ',
                                    '/proc/mounts')
        self.assertEqual(0, code, output)
        self.assertEqual('ro', output.split()[3].split(b',')[0].decode())
        # The host copy is untouched.
        with open(os.path.join(self.drive_path(instance),
                               'openstack/latest/meta_data.json')) as f:
            self.assertEqual('web-1', json.load(f)['name'])
        self.assertEqual(['ec2', 'openstack'],
                         sorted(os.listdir(self.drive_path(instance))))

    def test_other_instances_see_only_their_own(self):
        first = self.spawn_with(self.drive_instance(user_data=b'first'))
        second = self.spawn_with(self.drive_instance(user_data=b'second'))
        without = self.spawn_with(self.drive_instance(config_drive=False))
        self.assertEqual(b'second', self.read(
            second, '/config-drive/openstack/latest/user_data'))
        self.assertEqual({self.drive_path(second)},
                         {m['Source'] for m in self.inspect(second)['Mounts']})
        self.assertEqual([], self.inspect(without)['Mounts'])
        self.assertFalse(os.path.exists(self.drive_path(without)))
        code, _ = self.exec_in(without, 'ls', '/config-drive')
        self.assertNotEqual(0, code)
        # The first one's user data is nowhere in the others' files.
        for other in (second, without):
            code, output = self.exec_in(
                other, 'sh', '-c', 'grep -rl first /config-drive '
                '/var/lib/cloud 2>/dev/null; true')
            self.assertEqual(b'', output)
        self.assertEqual(b'first', self.read(
            first, '/config-drive/openstack/latest/user_data'))

    def test_forced_by_configuration_or_image(self):
        self.conf.config(force_config_drive=True)
        forced = self.spawn_with(self.drive_instance(config_drive=False))
        self.assertTrue(forced.config_drive)
        self.assertTrue(os.path.isdir(self.drive_path(forced)))
        self.conf.config(force_config_drive=False)
        instance = self.drive_instance(config_drive=False)
        instance.system_metadata['image_img_config_drive'] = 'mandatory'
        self.spawn_with(instance)
        self.assertEqual(b'#!/bin/sh\necho hello\n', self.read(
            instance, '/config-drive/openstack/latest/user_data'))

    def test_survives_stop_start_and_reboot(self):
        instance = self.spawn_with(self.drive_instance(user_data=b'keep'))
        user_data = '/config-drive/openstack/latest/user_data'
        self.driver.power_off(instance, timeout=1)
        self.driver.power_on(self.context, instance, [])
        self.assertEqual(b'keep', self.read(instance, user_data))
        for kind in ('SOFT', 'HARD'):
            self.driver.reboot(self.context, instance, [], kind)
            self.assertEqual(b'keep', self.read(instance, user_data))

    def test_destroy_removes_it(self):
        instance = self.spawn_with(self.drive_instance())
        self.assertTrue(os.path.isdir(self.drive_path(instance)))
        self.driver.destroy(self.context, instance, [])
        self.assertFalse(os.path.exists(self.drive_path(instance)))
        self.assertEqual([], os.listdir(self.drive_dir))
        self.assertNoContainer(instance)

    def test_kept_when_nova_keeps_the_disk(self):
        instance = self.spawn_with(self.drive_instance(user_data=b'kept'))
        self.driver.destroy(self.context, instance, [], destroy_disks=False)
        self.assertTrue(os.path.isdir(self.drive_path(instance)))
        self.driver.power_on(self.context, instance, [])
        self.assertEqual(b'kept', self.read(
            instance, '/config-drive/openstack/latest/user_data'))

    def test_rebuild_regenerates_it(self):
        """Nova's rebuild for this driver: destroy, then spawn again."""
        instance = self.spawn_with(self.drive_instance(user_data=b'old'))
        self.driver.destroy(self.context, instance, [])
        instance.user_data = base64.b64encode(b'new').decode()
        instance.metadata = {'role': 'db'}
        new_image = self.glance.add(str(uuid.uuid4()),
                                    source_path=self.base_archive)
        self.driver.spawn(self.context, instance, new_image, [], 'pw2', {},
                          [])
        self.assertEqual(b'new', self.read(
            instance, '/config-drive/openstack/latest/user_data'))
        meta = json.loads(self.read(
            instance, '/config-drive/openstack/latest/meta_data.json'))
        self.assertEqual(({'role': 'db'}, 'pw2'),
                         (meta['meta'], meta['admin_pass']))
        self.assertEqual([instance.uuid], os.listdir(self.drive_dir))

    def test_spawn_over_a_left_drive_replaces_it(self):
        instance = self.drive_instance(user_data=b'fresh')
        stale = self.drive_path(instance)
        os.makedirs(os.path.join(stale, 'openstack'))
        self.spawn_with(instance)
        self.assertEqual(b'fresh', self.read(
            instance, '/config-drive/openstack/latest/user_data'))
        self.assertEqual([instance.uuid], os.listdir(self.drive_dir))


class TestFailedSpawnLeavesNothing(ConfigDriveMixin,
                                  driver_base.DriverTestCase):

    def assertNothingLeft(self, instance):
        self.assertNoContainer(instance)
        if os.path.exists(self.drive_dir):
            self.assertEqual([], os.listdir(self.drive_dir))

    def test_process_that_exits_at_once(self):
        self.conf.config(startup_check_seconds=0.5, group='pydock')
        instance = self.drive_instance()
        meta = self.glance.add(
            str(uuid.uuid4()), source_path=self.base_archive,
            properties={'os_command_line': "sh -c 'exit 3'"})
        self.assertRaises(exception.InstanceDeployFailure, self.driver.spawn,
                          self.context, instance, meta, [], None, {}, [])
        self.assertNothingLeft(instance)

    def test_flavor_this_host_refuses(self):
        # Below the engine's minimum memory limit (6 MiB).
        instance = self.drive_instance(memory_mb=4)
        self.assertRaises(exception.InvalidInput, self.driver.spawn,
                          self.context, instance, self.image_meta, [], None,
                          {}, [])
        self.assertNothingLeft(instance)

    def test_metadata_that_cannot_be_rendered(self):
        instance = self.drive_instance()
        self.useFixture(fixtures.MockPatch(
            'nova.network.security_group_api.get_instance_security_groups',
            side_effect=exception.NeutronAdminCredentialConfigurationInvalid))
        exc = self.assertRaises(exception.InstanceDeployFailure,
                                self.driver.spawn, self.context, instance,
                                self.image_meta, [], None, {}, [])
        self.assertIn('the config drive could not be rendered', str(exc))
        self.assertNothingLeft(instance)

    def test_personality_on_read_only_root(self):
        instance = self.drive_instance(
            extra_specs={'pydock:read_only_root': 'true'})
        exc = self.assertRaises(
            exception.BuildAbortException, self.driver.spawn, self.context,
            instance, self.image_meta, [('/etc/motd', b'hi')], None, {}, [])
        self.assertIn('read-only root file system', str(exc))
        self.assertNothingLeft(instance)


class TestPersonality(ConfigDriveMixin, driver_base.DriverTestCase):

    def test_files_are_written_before_the_first_start(self):
        instance = self.drive_instance(config_drive=False)
        # The image's command reads the file: it is there before start.
        meta = self.glance.add(
            str(uuid.uuid4()), source_path=self.base_archive,
            properties={'os_command_line':
                        "sh -c 'cat /etc/app/conf; exec sleep 3600'"})
        self.addCleanup(self._destroy_quietly, instance)
        self.driver.spawn(self.context, instance, meta,
                          [('/etc/app/conf', b'port=80\n'),
                           ('/root/.ssh/authorized_keys', b'k\n')],
                          None, {}, [])
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(instance).state)
        self.assertEqual(b'port=80\n', self.read(instance, '/etc/app/conf'))
        code, output = self.exec_in(instance, 'stat', '-c', '%a %u %g %n',
                                    '/etc/app/conf', '/etc/app',
                                    '/root/.ssh/authorized_keys')
        self.assertEqual((0, b'644 0 0 /etc/app/conf\n755 0 0 /etc/app\n'
                          b'644 0 0 /root/.ssh/authorized_keys\n'),
                         (code, output))
        self.assertIn(b'port=80', self.driver.get_console_output(
            self.context, instance))

    def test_files_also_on_the_drive(self):
        instance = self.spawn_with(self.drive_instance(),
                                   injected_files=[('/etc/motd', b'hi\n')])
        meta = json.loads(self.read(
            instance, '/config-drive/openstack/latest/meta_data.json'))
        self.assertEqual(['/etc/motd'], [f['path'] for f in meta['files']])
        self.assertEqual(b'hi\n', self.read(
            instance, '/config-drive/openstack' +
            meta['files'][0]['content_path']))
        self.assertEqual(b'hi\n', self.read(instance, '/etc/motd'))

    def test_path_out_of_the_root_refused(self):
        instance = self.drive_instance(config_drive=False)
        exc = self.assertRaises(
            exception.BuildAbortException, self.driver.spawn, self.context,
            instance, self.image_meta, [('etc/../../x', b'')], None, {}, [])
        self.assertIn('not a plain file path', str(exc))
        self.assertNoContainer(instance)

    def test_relative_path_written_from_the_root(self):
        # Tempest's rebuild test injects 'rebuild.txt', as Nova's own
        # file injection takes it: from the root.
        instance = self.spawn_with(self.drive_instance(config_drive=False),
                                   injected_files=[('rebuild.txt', b'r\n')])
        self.assertEqual(b'r\n', self.read(instance, '/rebuild.txt'))

    def test_admin_password_without_drive_changes_no_account(self):
        instance = self.spawn_with(self.drive_instance(config_drive=False),
                                   admin_password=ADMIN_PASSWORD)
        self.assertEqual([], self.inspect(instance)['Mounts'])
        code, output = self.exec_in(instance, 'grep', '-r', ADMIN_PASSWORD,
                                    '/etc')
        self.assertEqual(1, code, output)


class TestConfigDriveEngineRestart(ConfigDriveMixin,
                                  test_engine_restart.PrivateEngineTestCase):

    def test_drive_is_back_after_engine_restart(self):
        instance = self.spawn_with(self.drive_instance(user_data=b'again'))
        self.assertTrue(self.engine.stop(), 'dockerd did not stop')
        self.engine.start()
        self.driver.init_host(self.host)
        self.driver.resume_state_on_host_boot(self.context, instance, [],
                                              None)
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(instance).state)
        run = self.engine.api.exec_create(
            'nova-%s' % instance.uuid,
            ['cat', '/config-drive/openstack/latest/user_data'])
        self.assertEqual(b'again', self.engine.api.exec_start(run))
        self.driver.destroy(self.context, instance, [])
        self.assertEqual([], os.listdir(self.drive_dir))
