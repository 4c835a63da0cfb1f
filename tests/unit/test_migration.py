"""Resize decisions: refused, in place, or into a new container.

Pure mapping logic on an in-memory engine; resizes on the real engine,
through Nova, are in tests/nova/test_resize.py.
"""
import fnmatch
from unittest import mock

import fixtures
from nova import context
from nova import exception
from nova import objects
from nova.tests.unit import fake_instance
from oslo_serialization import jsonutils
import testtools

from nova_pydock import engine as engine_client
from nova_pydock import migration
from tests.unit import fake_engine


class TestResizeNames(testtools.TestCase):

    def test_each_resize_has_an_image_of_its_own(self):
        instance = fake_instance.fake_instance_obj(
            context.get_admin_context())
        repository, tag = migration.resize_image_for(instance)
        self.assertEqual('pydock-resize', repository)
        self.assertTrue(tag.startswith(instance.uuid + '-'))
        # Each resize gets a tag of its own, all matched by the pattern.
        self.assertNotEqual(tag, migration.resize_image_for(instance)[1])
        self.assertTrue(fnmatch.fnmatch(
            '%s:%s' % (repository, tag),
            migration.resize_images_of(instance)))
        self.assertTrue(migration.is_resize_image_of(
            instance, '%s:%s' % (repository, tag)))
        other = fake_instance.fake_instance_obj(context.get_admin_context())
        for ref in ('pydock-glance:%s' % instance.uuid,
                    '%s:%s' % migration.resize_image_for(other)):
            self.assertFalse(migration.is_resize_image_of(instance, ref))


class ResizeTestCase(fake_engine.DriverTestCase):

    def setUp(self):
        super().setUp()
        self.source = self.name + '-resize-source'
        self.dest = 'host-a'
        self.useFixture(fixtures.MockPatchObject(
            objects.Migration, 'get_by_instance_and_status',
            side_effect=lambda ctx, uuid, status: mock.Mock(
                dest_compute=self.dest, uuid='migration-1')))

    def migrate(self, flavor):
        return jsonutils.loads(self.driver.migrate_disk_and_power_off(
            self.context, self.instance, self.dest, flavor, [], timeout=3))

    def take_flavor(self, flavor):
        self.instance.flavor = flavor


class TestRefused(ResizeTestCase):

    def assertRefused(self, flavor, text):
        self.engine.add(self.name)
        exc = self.assertRaises(exception.InstanceFaultRollback,
                                self.migrate, flavor)
        self.assertIn(text, exc.inner_exception.format_message())
        self.assertEqual('running', self.engine.status(self.name))

    def test_failed_send_to_other_host_starts_the_container_again(self):
        self.dest = 'host-b'
        self.engine.failures['commit'] = engine_client.EngineError(
            call='commit', reason='disk full')
        self.assertRefused(fake_engine.make_flavor(1024),
                           'could not send container %s to host host-b: '
                           % self.name)
        self.assertEqual(['stop', 'commit', 'start'],
                         self.engine.names_called('stop', 'commit', 'start'))
        self.assertEqual({}, self.engine.images)
        self.assertNotIn(self.source, self.engine.containers)

    def test_flavor_the_host_cannot_run_is_refused(self):
        self.assertRefused(fake_engine.make_flavor(1, name='tiny'),
                           'flavor tiny: ')
        self.assertEqual([], self.engine.names_called('stop', 'commit'))

    def test_failed_keep_starts_the_container_again(self):
        self.engine.failures['commit'] = engine_client.EngineError(
            call='commit', reason='disk full')
        self.assertRefused(
            fake_engine.make_flavor(**{'pydock:shm_size_mb': '64'}),
            'disk full')
        self.assertEqual(['stop', 'commit', 'start'],
                         self.engine.names_called('stop', 'commit', 'start'))
        self.assertEqual({}, self.engine.images)
        self.assertNotIn(self.source, self.engine.containers)


class TestInPlace(ResizeTestCase):

    def test_updatable_limits_keep_the_container(self):
        self.engine.add(self.name)
        self.assertEqual({}, self.migrate(fake_engine.make_flavor(1024, 2)))
        self.assertIn(('stop', self.name, 3), self.engine.calls)
        self.take_flavor(fake_engine.make_flavor(1024, 2))
        self.driver.finish_migration(self.context, None, self.instance,
                                     '{}', [], None, True, None)
        self.assertEqual(1024 * 1024 * 1024, self.engine.containers[
            self.name]['HostConfig']['mem_limit'])
        self.assertEqual('running', self.engine.status(self.name))
        self.assertEqual([self.name], list(self.engine.containers))

    def test_revert_without_a_kept_container_takes_old_limits(self):
        self.engine.add(self.name, 'exited')
        self.driver.finish_revert_migration(self.context, self.instance, [],
                                            None)
        self.assertEqual(['update_limits', 'start'],
                         self.engine.names_called('update_limits', 'start',
                                                  'rename'))


class TestNewContainer(ResizeTestCase):

    def resize(self):
        self.engine.add(self.name)
        flavor = fake_engine.make_flavor(**{'pydock:shm_size_mb': '64'})
        disk_info = self.migrate(flavor)
        self.take_flavor(flavor)
        self.driver.finish_migration(self.context, None, self.instance,
                                     jsonutils.dumps(disk_info), [], None,
                                     True, None)
        return disk_info['image']

    def test_fixed_setting_makes_a_new_container_from_the_files(self):
        image = self.resize()
        self.assertTrue(migration.is_resize_image_of(self.instance, image))
        self.assertEqual('exited', self.engine.status(self.source))
        self.assertEqual('running', self.engine.status(self.name))
        self.assertEqual(image,
                         self.engine.containers[self.name]['Config']['Image'])
        self.assertEqual(64 * 1024 * 1024, self.engine.containers[
            self.name]['HostConfig']['shm_size'])

    def test_confirm_removes_the_kept_container_once(self):
        self.resize()
        self.driver.confirm_migration(self.context, None, self.instance, [])
        self.assertEqual([self.name], list(self.engine.containers))
        self.driver.confirm_migration(self.context, None, self.instance, [])

    def test_revert_puts_the_old_container_back(self):
        image = self.resize()
        self.driver.destroy(self.context, self.instance, [],
                            destroy_disks=False)
        self.take_flavor(fake_engine.make_flavor())
        self.driver.finish_revert_migration(self.context, self.instance, [],
                                            None)
        self.assertEqual([self.name], list(self.engine.containers))
        self.assertEqual('pydock-glance:img',
                         self.engine.containers[self.name]['Config']['Image'])
        self.assertEqual('running', self.engine.status(self.name))
        self.assertNotIn(image, self.engine.images)

    def test_delete_removes_what_the_resize_kept(self):
        self.resize()
        self.engine.images['pydock-resize:other-1'] = {
            'RepoTags': ['pydock-resize:other-1']}
        self.driver.destroy(self.context, self.instance, [])
        self.assertEqual({}, self.engine.containers)
        self.assertEqual(['pydock-resize:other-1'], list(self.engine.images))
