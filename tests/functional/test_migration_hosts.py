"""Cold migration and resize between two hosts with engines of their own.

The source host's driver runs on the shared engine, the destination's on
a private engine (see test_engine_restart); both talk to one Glance
stand-in, through which the container's files travel. The calls are
Nova's, in Nova's order: migrate_disk_and_power_off on the source,
finish_migration on the destination, then confirm_migration on the source,
or destroy on the destination and finish_revert_migration on the source.
Nova's database only answers the migration lookup.
"""
import io
import json
import os
import tarfile

from directory_images import DirectoryImages
from docker import errors as docker_errors
import fixtures
from nova import exception
from nova import objects
from nova.compute import vm_states
from nova.network import model
from nova.virt import fake as fake_virt
from oslo_serialization import jsonutils
from oslo_utils import uuidutils

from nova_pydock import configdrive
from nova_pydock import container
from nova_pydock import driver as pydock_driver
from nova_pydock import transfer
from tests.functional import driver_base
from tests.functional import test_configdrive
from tests.functional import test_engine_restart
from tests.functional.network import base as net_base

CONF = driver_base.CONF
MiB = 1024 * 1024
WRITE_1MIB = 'dd if=/dev/urandom of=/root/moved.bin bs=1024 count=1024'


class _UploadKilled(DirectoryImages):
    """Glance whose upload connection dies after the first chunk."""

    def update(self, context, image_id, metadata, data=None,
               purge_props=True):
        if data is not None:
            data.read(64 * 1024)
            raise ConnectionResetError('upload connection reset')
        super().update(context, image_id, metadata, data, purge_props)


class TwoHostsTestCase(test_engine_restart.PrivateEngineTestCase,
                       net_base.NetworkTestCase):

    def setUp(self):
        shared_url = CONF.pydock.engine_url
        super().setUp()
        self.dest_host, self.dest = self.host, self.driver
        self.source_host = self.host + '-src'
        conf = self.useFixture(driver_base.config_fixture.Config(CONF))
        conf.config(engine_url=shared_url, group='pydock',
                    **self.host_options('source'))
        self.source = pydock_driver.PyDockDriver(fake_virt.FakeVirtAPI())
        conf.config(engine_url=self.engine.url, group='pydock',
                    **self.host_options('destination'))
        self.source._images.image_api = self.glance
        self.source.init_host(self.source_host)
        self.addCleanup(self.source.cleanup_host, self.source_host)
        self.migration = objects.Migration(
            uuid=uuidutils.generate_uuid(), source_compute=self.source_host,
            dest_compute=self.dest_host, migration_type='migration')
        self.useFixture(fixtures.MockPatchObject(
            objects.Migration, 'get_by_instance_and_status',
            side_effect=lambda ctx, uuid, status: self.migration))
        octet = int(net_base.short_id()[:2], 16)
        self.address = '198.19.%d.40' % octet
        bridge = self.make_bridge()
        self.peer = self.make_peer(bridge, '198.19.%d.1/24' % octet)
        self.vif = self.make_vif(bridge, self.address,
                                 '198.19.%d.0/24' % octet,
                                 gateway='198.19.%d.1' % octet)
        self.server = self._spawn_on_source()

    def host_options(self, host):
        """[pydock] options of the source's or the destination's driver
        other than its engine."""
        return {}

    def new_server(self):
        return self.instance(memory_mb=128, vm_state=vm_states.ACTIVE)

    def _spawn_on_source(self):
        instance = self.new_server()
        instance.host = instance.node = self.source_host
        instance.info_cache = objects.InstanceInfoCache(
            network_info=model.NetworkInfo([self.vif]))
        self.addCleanup(self._destroy_everywhere, instance)
        self.source.spawn(self.context, instance, self.image_meta, [], None,
                          {}, [self.vif])
        code, _ = self.run_in(self.api, instance, 'sh', '-c', WRITE_1MIB)
        self.assertEqual(0, code)
        self.checksum = self.run_in(self.api, instance, 'md5sum',
                                    '/root/moved.bin')[1]
        return instance

    def _destroy_everywhere(self, instance):
        self.source.destroy(self.context, instance, [self.vif])
        self._destroy_quietly(instance)

    @staticmethod
    def run_in(api, instance, *command, name=None):
        run = api.exec_create(name or container.name_for(instance),
                              list(command))
        output = api.exec_start(run)
        return api.exec_inspect(run)['ExitCode'], output

    def new_flavor(self):
        return objects.Flavor(
            name='c1.bigger', memory_mb=256, vcpus=1, root_gb=1,
            ephemeral_gb=0, swap=0, extra_specs={}, flavorid='c2', id=2)

    def migrate(self):
        """Nova's resize_instance on the source; returns disk_info."""
        flavor = self.new_flavor()
        disk_info = self.source.migrate_disk_and_power_off(
            self.context, self.server, '127.0.0.1', flavor, [self.vif],
            timeout=2)
        self.old_flavor, self.server.flavor = self.server.flavor, flavor
        self.server.host = self.server.node = self.dest_host
        return disk_info

    def finish(self, disk_info):
        self.dest.finish_migration(
            self.context, self.migration, self.server, disk_info,
            [self.vif], self.image_meta, True, {}, power_on=True)

    # What the engines and Glance hold

    def glance_images(self):
        return sorted(set(self.glance.metadata) - {self.image_meta.id})

    def transfer_images_in(self, api):
        """This test's transfer commit and resize images (other tests
        migrate on the shared engine at the same time)."""
        commit = '%s:%s' % (transfer.REPOSITORY, self.migration.uuid)
        return [tag for image in api.images()
                for tag in image.get('RepoTags') or ()
                if tag == commit or self.server.uuid in tag]

    def kept_on_source(self):
        return self.api.inspect_container(
            container.name_for(self.server) + container.RESIZE_SOURCE_SUFFIX)

    def assertKeptFilesOnSource(self):
        """The kept (stopped) container on the source holds the file."""
        stream, _ = self.api.get_archive(
            container.name_for(self.server) + container.RESIZE_SOURCE_SUFFIX,
            '/root/moved.bin')
        with tarfile.open(fileobj=io.BytesIO(b''.join(stream))) as tar:
            self.assertEqual(MiB, tar.getmember('moved.bin').size)


class TestMigrationBetweenHosts(TwoHostsTestCase):

    def assertMovedToDest(self):
        details = self.private_inspect(self.server)
        self.assertTrue(details['State']['Running'])
        self.assertEqual(self.dest_host,
                         details['Config']['Labels'][container.LABEL_HOST])
        self.assertEqual(256 * MiB, details['HostConfig']['Memory'])
        self.assertEqual(self.checksum, self.run_in(
            self.engine.api, self.server, 'md5sum', '/root/moved.bin')[1])
        self.assertTrue(self.peer.ping(self.address),
                        'the port is not reachable on the destination')
        self.assertEqual([self.server.uuid], self.dest.list_instance_uuids())
        self.assertEqual([], self.source.list_instance_uuids())

    def test_migrate_then_confirm(self):
        disk_info = self.migrate()
        transfer_id = jsonutils.loads(disk_info)['transfer_image']
        meta = self.glance.metadata[transfer_id]
        self.assertEqual({transfer.PROPERTY: self.migration.uuid,
                          'instance_uuid': self.server.uuid},
                         meta['properties'])
        self.assertEqual(('private', self.server.project_id),
                         (meta['visibility'], meta['owner']))
        # docker save sends every layer: the base and the new one.
        base_size = self.glance.metadata[self.image_meta.id]['size']
        self.assertGreater(meta['size'], base_size + MiB)
        self.assertLess(meta['size'], base_size + 2 * MiB)
        self.assertFalse(self.kept_on_source()['State']['Running'])
        self.assertEqual([], self.transfer_images_in(self.api))
        self.assertFalse(self.peer.ping(self.address, tries=2))

        self.finish(disk_info)
        self.assertMovedToDest()
        # Glance held the files only while they moved.
        self.assertEqual([], self.glance_images())
        self.assertFalse(self.source.check_instance_shared_storage_remote(
            self.context, self.dest.check_instance_shared_storage_local(
                self.context, self.server)))

        self.source.confirm_migration(self.context, self.migration,
                                      self.server, [self.vif])
        self.assertEqual([], self.containers_of(self.api, self.source_host))
        self.assertEqual([], self.transfer_images_in(self.api))
        self.assertTrue(self.peer.ping(self.address))

        self.dest.destroy(self.context, self.server, [self.vif])
        self.assertEqual([], self.engine.api.containers(all=True))
        self.assertEqual([], self.transfer_images_in(self.engine.api))

    def test_migrate_then_revert(self):
        self.finish(self.migrate())
        self.assertMovedToDest()

        # Nova's revert_resize on the destination (disks not shared) ...
        self.dest.destroy(self.context, self.server, [self.vif],
                          destroy_disks=True)
        self.assertEqual([], self.engine.api.containers(all=True))
        self.assertEqual([], self.transfer_images_in(self.engine.api))
        # ... then finish_revert_resize on the source.
        self.server.flavor = self.old_flavor
        self.server.host = self.server.node = self.source_host
        self.source.finish_revert_migration(
            self.context, self.server, [self.vif], self.migration,
            power_on=True)
        details = self.inspect(self.server)
        self.assertTrue(details['State']['Running'])
        self.assertEqual(self.source_host,
                         details['Config']['Labels'][container.LABEL_HOST])
        self.assertEqual(128 * MiB, details['HostConfig']['Memory'])
        self.assertEqual(self.checksum, self.run_in(
            self.api, self.server, 'md5sum', '/root/moved.bin')[1])
        self.assertTrue(self.peer.ping(self.address))
        self.assertEqual([self.server.uuid],
                         self.source.list_instance_uuids())
        self.assertEqual([], self.glance_images())
        self.assertEqual([], self.transfer_images_in(self.api))

    @staticmethod
    def containers_of(api, host):
        return api.containers(all=True, filters={
            'label': '%s=%s' % (container.LABEL_HOST, host)})


class TestMigrationFailures(TwoHostsTestCase):

    def test_killed_upload_leaves_the_server_running_on_its_source(self):
        killed = _UploadKilled(self.glance.path)
        killed.metadata = self.glance.metadata
        self.source._images.image_api = killed
        exc = self.assertRaises(exception.InstanceFaultRollback,
                                self.migrate)
        self.assertIn('upload connection reset',
                      exc.inner_exception.format_message())
        self.assertIn(self.dest_host, exc.inner_exception.format_message())
        details = self.inspect(self.server)
        self.assertTrue(details['State']['Running'])
        self.assertEqual(self.checksum, self.run_in(
            self.api, self.server, 'md5sum', '/root/moved.bin')[1])
        self.assertTrue(self.peer.ping(self.address))
        self.assertEqual([], self.glance_images())
        self.assertEqual([], self.transfer_images_in(self.api))
        self.assertRaises(docker_errors.NotFound, self.kept_on_source)
        self.assertEqual([], self.engine.api.containers(all=True))

    def test_stopped_destination_engine_loses_no_files(self):
        disk_info = self.migrate()
        self.assertTrue(self.engine.stop(), 'dockerd did not stop')
        self.assertRaises(exception.HypervisorUnavailable, self.finish,
                          disk_info)
        # Nothing in Glance; the source still holds the files.
        self.assertEqual([], self.glance_images())
        self.assertKeptFilesOnSource()
        self.engine.start()
        self.assertEqual([], self.engine.api.containers(all=True))
        self.assertEqual([], self.transfer_images_in(self.engine.api))


class TestConfigDriveMoves(test_configdrive.ConfigDriveMixin,
                           TwoHostsTestCase):
    """The drive follows a move: set aside on the source until Nova
    confirms or reverts, rendered anew on the destination. Each host has
    a drive directory of its own, as two machines do (a shared directory
    is tested in tests/unit/test_configdrive)."""

    META = '/config-drive/openstack/latest/meta_data.json'

    def host_options(self, host):
        if host == 'source':
            return {'config_drive_dir': os.path.join(
                os.path.dirname(self.drive_dir), 'source-drives')}
        return {'config_drive_dir': self.drive_dir}

    def new_server(self):
        return self.drive_instance(memory_mb=128, vm_state=vm_states.ACTIVE)

    def source_drives(self):
        root = self.host_options('source')['config_drive_dir']
        return sorted(os.listdir(root)) if os.path.isdir(root) else []

    def dest_drives(self):
        return (sorted(os.listdir(self.drive_dir))
                if os.path.isdir(self.drive_dir) else [])

    def read_meta(self, api):
        code, output = self.run_in(api, self.server, 'cat', self.META)
        self.assertEqual(0, code, output)
        return json.loads(output)

    def test_drive_on_the_destination_then_confirm(self):
        self.assertEqual('web', self.read_meta(self.api)['meta']['role'])
        self.finish(self.migrate())
        self.assertEqual(
            [self.server.uuid + configdrive.SET_ASIDE_SUFFIX],
            self.source_drives())
        self.assertEqual([self.server.uuid], self.dest_drives())
        meta = self.read_meta(self.engine.api)
        self.assertEqual((self.server.uuid, {'role': 'web'}, 'web-1',
                          {'k1': test_configdrive.PUBLIC_KEY}),
                         (meta['uuid'], meta['meta'], meta['name'],
                          meta['public_keys']))
        self.assertEqual(b'#!/bin/sh\necho hello\n', self.run_in(
            self.engine.api, self.server, 'cat',
            '/config-drive/openstack/latest/user_data')[1])
        code, output = self.run_in(
            self.engine.api, self.server, 'sh', '-c',
            'echo x > /config-drive/openstack/latest/user_data')
        self.assertNotEqual(0, code)
        self.assertIn(b'Read-only file system', output)

        self.source.confirm_migration(self.context, self.migration,
                                      self.server, [self.vif])
        self.assertEqual([], self.source_drives())
        self.assertEqual([self.server.uuid], self.dest_drives())
        self.dest.destroy(self.context, self.server, [self.vif])
        self.assertEqual([], self.dest_drives())

    def test_revert_brings_back_the_source_drive(self):
        self.finish(self.migrate())
        self.dest.destroy(self.context, self.server, [self.vif],
                          destroy_disks=True)
        self.assertEqual([], self.dest_drives())
        self.server.flavor = self.old_flavor
        self.server.host = self.server.node = self.source_host
        self.source.finish_revert_migration(
            self.context, self.server, [self.vif], self.migration,
            power_on=True)
        self.assertEqual([self.server.uuid], self.source_drives())
        self.assertEqual(self.server.uuid, self.read_meta(self.api)['uuid'])

    def test_failed_moves_leave_the_drive_where_the_server_is(self):
        killed = _UploadKilled(self.glance.path)
        killed.metadata = self.glance.metadata
        self.source._images.image_api = killed
        self.assertRaises(exception.InstanceFaultRollback, self.migrate)
        self.assertEqual([self.server.uuid], self.source_drives())
        self.assertEqual(self.server.uuid, self.read_meta(self.api)['uuid'])

        self.source._images.image_api = self.glance
        disk_info = self.migrate()
        self.assertTrue(self.engine.stop(), 'dockerd did not stop')
        self.assertRaises(exception.HypervisorUnavailable, self.finish,
                          disk_info)
        self.engine.start()
        self.assertEqual([], self.dest_drives())
        self.assertEqual(
            [self.server.uuid + configdrive.SET_ASIDE_SUFFIX],
            self.source_drives())
