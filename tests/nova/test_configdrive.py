"""User data, key pairs, metadata and the config drive through Nova's API.

``POST /servers`` with ``user_data``, ``key_name``, ``metadata`` and
``config_drive``; each value is read back from inside the container, from
the drive Nova's own metadata code rendered on the compute host. Rebuild
and resize go through Nova as a user asks for them.
"""
import base64
import json
import os
import shutil
import tempfile
import uuid

from tests.nova import base

LATEST = '/config-drive/openstack/latest/'
PUBLIC_KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2Jq3yqmDhQaQvvRlzQ2h'
              'r7WGDmxCQ9O6Fv1YB5Rvmz pydock-test')
USER_DATA = b'#!/bin/sh\necho configured by user data\n'


class TestConfigDrive(base.PyDockTestCase):

    def setUp(self):
        # Read by nova-compute when it starts, so set before it does.
        self.drive_dir = tempfile.mkdtemp(prefix='pydock-drives-')
        self.service_flags = {'pydock': {'config_drive_dir': self.drive_dir},
                              None: {'allow_resize_to_same_host': True}}
        super().setUp()
        self.addCleanup(shutil.rmtree, self.drive_dir, True)

    def boot_with_drive(self, image_id, flavor, **extra):
        self.api.post_keypair({'keypair': {'name': 'k1',
                                           'public_key': PUBLIC_KEY}})
        self.addCleanup(self.api.delete_keypair, 'k1')
        body = {'server': dict({
            'name': 'web-%s' % uuid.uuid4().hex[:8],
            'imageRef': image_id, 'flavorRef': flavor, 'networks': 'none',
            'user_data': base64.b64encode(USER_DATA).decode(),
            'key_name': 'k1', 'metadata': {'role': 'web'},
            'config_drive': True}, **extra)}
        created = self.api.post_server(body)
        self.addCleanup(self._delete_quietly, created['id'])
        return created, self.wait_for(created, 'ACTIVE')

    def read(self, server, path):
        code, output = self.exec_in(server, 'cat', path)
        self.assertEqual(0, code, output)
        return output

    def test_values_read_back_from_inside(self):
        created, server = self.boot_with_drive(
            self.service_image('drive')['id'], self.container_flavor())
        self.assertEqual('True', server['config_drive'])
        meta = json.loads(self.read(server, LATEST + 'meta_data.json'))
        self.assertEqual({'k1': PUBLIC_KEY}, meta['public_keys'])
        self.assertEqual({'role': 'web'}, meta['meta'])
        self.assertEqual(server['name'], meta['name'])
        self.assertEqual(server['id'], meta['uuid'])
        # Nova's generated password, as the API returned it.
        self.assertEqual(created['adminPass'], meta['admin_pass'])
        self.assertEqual(USER_DATA, self.read(server, LATEST + 'user_data'))
        self.assertEqual(USER_DATA, self.read(
            server, '/var/lib/cloud/seed/config_drive/openstack/latest/'
            'user_data'))
        self.assertEqual(USER_DATA, self.read(
            server, '/config-drive/ec2/latest/user-data'))
        json.loads(self.read(server, LATEST + 'network_data.json'))
        json.loads(self.read(server, LATEST + 'vendor_data2.json'))
        code, output = self.exec_in(server, 'sh', '-c',
                                    'echo x > %suser_data' % LATEST)
        self.assertNotEqual(0, code)
        self.assertIn(b'Read-only file system', output)

        drive = os.path.join(self.drive_dir, server['id'])
        self.assertTrue(os.path.isdir(drive))
        self.delete(server)
        self.assertFalse(os.path.exists(drive))

    def test_rebuild_renders_it_anew_and_resize_keeps_it(self):
        _, server = self.boot_with_drive(
            self.service_image('drive')['id'], self.container_flavor())
        new_user_data = b'#cloud-config\nhostname: rebuilt\n'
        server = self.action(server, {'rebuild': {
            'imageRef': self.service_image('rebuilt')['id'],
            'user_data': base64.b64encode(new_user_data).decode(),
            'metadata': {'role': 'db'}}}, 'ACTIVE')
        self.assertEqual(new_user_data,
                         self.read(server, LATEST + 'user_data'))
        meta = json.loads(self.read(server, LATEST + 'meta_data.json'))
        self.assertEqual({'role': 'db'}, meta['meta'])

        # A flavor fixed at creation gives the server a new container:
        # it mounts the same drive.
        before = self.inspect(server)['Id']
        read_only = self.container_flavor(
            memory_mb=192, extra_specs={'pydock:read_only_root': 'true'})
        server = self.action(server, {'resize': {'flavorRef': read_only}},
                             'VERIFY_RESIZE')
        server = self.action(server, {'confirmResize': None}, 'ACTIVE')
        self.assertNotEqual(before, self.inspect(server)['Id'])
        self.assertEqual(new_user_data,
                         self.read(server, LATEST + 'user_data'))
        self.assertEqual([server['id']], os.listdir(self.drive_dir))


class TestConfigDriveMovesToAnotherHost(TestConfigDrive):
    """A cold migration through Nova's API: two nova-compute services that
    share this harness's engine and drive directory, the harder case of
    the drive's set-aside (tests/functional/test_migration_hosts.py moves
    it between two engines with a directory each)."""

    compute_hosts = 2

    def migrate_away(self):
        _, server = self.boot_with_drive(
            self.service_image('drive')['id'], self.container_flavor())
        host = server['OS-EXT-SRV-ATTR:host']
        server = self.action(server, {'migrate': None}, 'VERIFY_RESIZE')
        self.assertNotEqual(host, server['OS-EXT-SRV-ATTR:host'])
        meta = json.loads(self.read(server, LATEST + 'meta_data.json'))
        self.assertEqual((server['id'], {'role': 'web'}, {'k1': PUBLIC_KEY}),
                         (meta['uuid'], meta['meta'], meta['public_keys']))
        self.assertEqual(USER_DATA, self.read(server, LATEST + 'user_data'))
        self.assertEqual([server['id'], server['id'] + '.moved'],
                         sorted(os.listdir(self.drive_dir)))
        return server, host

    def test_confirm_keeps_the_destination_drive(self):
        server, _ = self.migrate_away()
        server = self.action(server, {'confirmResize': None}, 'ACTIVE')
        self.assertEqual([server['id']], os.listdir(self.drive_dir))
        self.assertEqual(USER_DATA, self.read(server, LATEST + 'user_data'))

    def test_revert_brings_back_the_source_drive(self):
        server, host = self.migrate_away()
        server = self.action(server, {'revertResize': None}, 'ACTIVE')
        self.assertEqual(host, server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual([server['id']], os.listdir(self.drive_dir))
        meta = json.loads(self.read(server, LATEST + 'meta_data.json'))
        self.assertEqual(server['id'], meta['uuid'])


class TestPersonality(base.PyDockTestCase):
    """Personality files: API microversions below 2.57."""

    microversion = '2.56'

    def test_files_written_into_the_container(self):
        server = self.api.post_server({'server': {
            'name': 'files-%s' % uuid.uuid4().hex[:8],
            'imageRef': self.service_image('files')['id'],
            'flavorRef': self.container_flavor(), 'networks': 'none',
            'personality': [{
                'path': '/etc/app.conf',
                'contents': base64.b64encode(b'port=80\n').decode()}]}})
        self.addCleanup(self._delete_quietly, server['id'])
        server = self.wait_for(server, 'ACTIVE')
        code, output = self.exec_in(server, 'cat', '/etc/app.conf')
        self.assertEqual((0, b'port=80\n'), (code, output))

    def test_refused_on_a_read_only_root(self):
        flavor = self.container_flavor(
            extra_specs={'pydock:read_only_root': 'true'})
        server = self.api.post_server({'server': {
            'name': 'files-%s' % uuid.uuid4().hex[:8],
            'imageRef': self.service_image('files')['id'],
            'flavorRef': flavor, 'networks': 'none',
            'personality': [{'path': '/etc/app.conf',
                             'contents': base64.b64encode(b'x').decode()}]}})
        self.addCleanup(self._delete_quietly, server['id'])
        server = self.wait_for(server, 'ERROR')
        self.assertIn('read-only root file system',
                      server['fault']['message'])
        self.assertNoContainer(server)
