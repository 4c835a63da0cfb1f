"""Resize through Nova's API, on the server's own host.

A container's disk is its writable layer in this host's engine, so the
driver resizes on the server's own host where it may ([DEFAULT]
allow_resize_to_same_host); to another host its files travel through a
Glance transfer image. Memory
and CPU limits change in place; a flavor that changes what is fixed when
a container is created gets a new container with the old one's files,
and the old one is kept, stopped, until the resize is confirmed.
"""
import time

import docker

from tests.nova import base

MIB = 1024 * 1024
MARK = 'written before the resize'


class _ResizeTestCase(base.PyDockTestCase):

    def boot_marked(self, flavor):
        """A server whose container holds a file of its own."""
        server = self.boot(self.service_image('resize')['id'], flavor)
        code, _ = self.exec_in(server, 'sh', '-c',
                               'echo "%s" > /mark' % MARK)
        self.assertEqual(0, code)
        return server

    def assertSameContainer(self, server, container_id, memory_mb, vcpus):
        details = self.inspect(server)
        self.assertEqual(container_id, details['Id'])
        self.assertTrue(details['State']['Running'])
        host_config = details['HostConfig']
        self.assertEqual(memory_mb * MIB, host_config['Memory'])
        self.assertEqual(memory_mb * MIB, host_config['MemorySwap'])
        self.assertEqual(vcpus * 100000, host_config['CpuQuota'])
        self.assertEqual(vcpus * 1024, host_config['CpuShares'])
        code, output = self.exec_in(server, 'cat', '/mark')
        self.assertEqual((0, MARK), (code, output.decode().strip()))
        self.assertEqual(memory_mb, server['flavor']['ram'])

    def resize_error(self, server):
        """What Nova recorded of the resize that was refused.

        Nova puts the server back before it finishes the action's event,
        so the event may still be open when the server is ACTIVE again.
        """
        actions = self.api.api_get(
            '/servers/%s/os-instance-actions' % server['id']
        ).body['instanceActions']
        resize = [a for a in actions if a['action'] == 'resize'][0]
        deadline = time.monotonic() + base.WAIT
        while True:
            events = self.api.api_get(
                '/servers/%s/os-instance-actions/%s'
                % (server['id'], resize['request_id'])
            ).body['instanceAction']['events']
            if all(e['finish_time'] for e in events) or (
                    time.monotonic() > deadline):
                break
            time.sleep(base.POLL)
        failed = [e for e in events if e['result'] == 'Error']
        self.assertEqual(['compute_resize_instance'],
                         [e['event'] for e in failed])
        return failed[0]['details']


class TestResizeInPlace(_ResizeTestCase):

    def setUp(self):
        super().setUp()
        self.flags(allow_resize_to_same_host=True)

    def test_resize_confirm_then_resize_revert(self):
        small = self.container_flavor(memory_mb=96, vcpus=1)
        large = self.container_flavor(memory_mb=192, vcpus=2)
        larger = self.container_flavor(memory_mb=256, vcpus=2)
        server = self.boot_marked(small)
        container_id = self.inspect(server)['Id']

        server = self.action(server, {'resize': {'flavorRef': large}},
                             'VERIFY_RESIZE')
        self.assertSameContainer(server, container_id, 192, 2)
        server = self.action(server, {'confirmResize': None}, 'ACTIVE')
        self.assertSameContainer(server, container_id, 192, 2)

        server = self.action(server, {'resize': {'flavorRef': larger}},
                             'VERIFY_RESIZE')
        self.assertSameContainer(server, container_id, 256, 2)
        server = self.action(server, {'revertResize': None}, 'ACTIVE')
        self.assertSameContainer(server, container_id, 192, 2)
        self.assertEqual([container_id],
                         [c['Id'] for c in self.engine_containers()])

        self.delete(server)
        self.assertNoContainer(server)

    def test_stopped_server_stays_stopped(self):
        server = self.boot_marked(self.container_flavor(memory_mb=96))
        server = self.action(server, {'os-stop': None}, 'SHUTOFF')
        large = self.container_flavor(memory_mb=192, vcpus=2)
        server = self.action(server, {'resize': {'flavorRef': large}},
                             'VERIFY_RESIZE')
        self.assertEqual('exited', self.engine_status(server))
        self.assertEqual(192 * MIB, self.inspect(server)['HostConfig'][
            'Memory'])
        server = self.action(server, {'confirmResize': None}, 'SHUTOFF')
        self.assertEqual('exited', self.engine_status(server))

    def test_flavor_fixed_at_creation_gets_a_new_container(self):
        small = self.container_flavor(memory_mb=96)
        server = self.boot_marked(small)
        original = self.inspect(server)['Id']
        read_only = self.container_flavor(
            memory_mb=128, extra_specs={'pydock:read_only_root': 'true'})
        source = 'nova-%s-resize-source' % server['id']
        resize_images = 'pydock-resize:%s-*' % server['id']

        # Revert: the original container comes back, running.
        server = self.action(server, {'resize': {'flavorRef': read_only}},
                             'VERIFY_RESIZE')
        self.assertReadOnlyCopy(server, original, source)
        server = self.action(server, {'revertResize': None}, 'ACTIVE')
        self.assertSameContainer(server, original, 96, 1)
        self.assertFalse(self.inspect(server)['HostConfig'][
            'ReadonlyRootfs'])
        self.assertNoContainerNamed(source)
        self.assertEqual([], self._engine.images(name=resize_images))

        # Confirm: the new container stays, the old one goes.
        server = self.action(server, {'resize': {'flavorRef': read_only}},
                             'VERIFY_RESIZE')
        resized = self.assertReadOnlyCopy(server, original, source)
        server = self.action(server, {'confirmResize': None}, 'ACTIVE')
        self.assertEqual(resized, self.inspect(server)['Id'])
        self.assertNoContainerNamed(source)
        self.assertEqual([resized],
                         [c['Id'] for c in self.engine_containers()])
        first_image = self.inspect(server)['Image']
        self.assertEqual(1, len(self._engine.images(name=resize_images)))

        # A second new container, reverted: the confirmed one comes back
        # on its image, which keeps its tag; the second image goes.
        fewer_pids = self.container_flavor(
            memory_mb=128, extra_specs={'pydock:pids_limit': '64'})
        server = self.action(server, {'resize': {'flavorRef': fewer_pids}},
                             'VERIFY_RESIZE')
        second_image = self.inspect(server)['Image']
        self.assertEqual(64, self.inspect(server)['HostConfig']['PidsLimit'])
        server = self.action(server, {'revertResize': None}, 'ACTIVE')
        self.assertEqual(resized, self.inspect(server)['Id'])
        self.assertEqual([first_image],
                         [i['Id'] for i in self._engine.images(
                             name=resize_images)])
        self.assertImageGone(second_image)

        # Delete takes every image of the instance's files along.
        self.delete(server)
        self.assertNoContainer(server)
        self.assertEqual([], self._engine.images(name=resize_images))
        self.assertImageGone(first_image)

    def assertImageGone(self, image_id):
        self.assertRaises(docker.errors.NotFound, self._engine.inspect_image,
                          image_id)

    def assertReadOnlyCopy(self, server, original, source):
        """A new, read-only container with the old one's files; the old
        one kept aside, stopped. Returns the new container's ID."""
        details = self.inspect(server)
        self.assertNotEqual(original, details['Id'])
        self.assertTrue(details['State']['Running'])
        self.assertTrue(details['HostConfig']['ReadonlyRootfs'])
        self.assertEqual(128 * MIB, details['HostConfig']['Memory'])
        code, output = self.exec_in(server, 'cat', '/mark')
        self.assertEqual((0, MARK), (code, output.decode().strip()))
        code, _ = self.exec_in(server, 'sh', '-c', 'echo x > /other')
        self.assertNotEqual(0, code)
        kept = self._engine.inspect_container(source)
        self.assertEqual(original, kept['Id'])
        self.assertFalse(kept['State']['Running'])
        return details['Id']

    def assertNoContainerNamed(self, name):
        self.assertEqual([], self._engine.containers(
            all=True, filters={'name': '^/%s$' % name}))


class TestResizeToAnotherHost(_ResizeTestCase):
    """Two nova-compute services; the resize lands on the other one.

    Both services share this harness's engine: the files still travel
    through a Glance transfer image (tests/functional/
    test_migration_hosts.py does the same between two engines).
    """

    compute_hosts = 2

    def resize_away(self):
        server = self.boot_marked(self.container_flavor(memory_mb=96))
        host = server['OS-EXT-SRV-ATTR:host']
        original = self.inspect(server)['Id']
        large = self.container_flavor(memory_mb=192, vcpus=2)
        server = self.action(server, {'resize': {'flavorRef': large}},
                             'VERIFY_RESIZE')
        self.assertNotEqual(host, server['OS-EXT-SRV-ATTR:host'])
        details = self.inspect(server)
        self.assertNotEqual(original, details['Id'])
        self.assertEqual(server['OS-EXT-SRV-ATTR:host'], details['Config'][
            'Labels']['org.openstack.nova.compute-host'])
        self.assertSameContainer(server, details['Id'], 192, 2)
        self.assertEqual([], self.transfer_images())
        return server, original

    def transfer_images(self):
        return [i for i in self.glance.images.values()
                if i.get('name', '').startswith('pydock-migration-')]

    def test_resize_to_other_host_then_confirm(self):
        server, original = self.resize_away()
        resized = self.inspect(server)['Id']
        server = self.action(server, {'confirmResize': None}, 'ACTIVE')
        self.assertEqual([resized],
                         [c['Id'] for c in self.engine_containers()])
        self.assertContainerGone(original)

    def test_resize_to_other_host_then_revert(self):
        server, original = self.resize_away()
        host = self.api.get_server(server['id'])['OS-EXT-SRV-ATTR:host']
        server = self.action(server, {'revertResize': None}, 'ACTIVE')
        self.assertNotEqual(host, server['OS-EXT-SRV-ATTR:host'])
        self.assertSameContainer(server, original, 96, 1)
        self.assertEqual([original],
                         [c['Id'] for c in self.engine_containers()])

    def assertContainerGone(self, container_id):
        self.assertRaises(docker.errors.NotFound,
                          self._engine.inspect_container, container_id)


class TestResizeStaysWithTheWeigher(_ResizeTestCase):
    """Two nova-compute services; the scheduler weigher of nova-pydock
    makes the resize land on the server's own host."""

    compute_hosts = 2
    service_flags = {
        None: {'allow_resize_to_same_host': True},
        'filter_scheduler': {'weight_classes': [
            'nova.scheduler.weights.all_weighers',
            'nova_pydock.scheduler.InstanceHostWeigher']},
    }

    def test_resize_on_own_host_each_time(self):
        server = self.boot_marked(self.container_flavor(memory_mb=96))
        host = server['OS-EXT-SRV-ATTR:host']
        container_id = self.inspect(server)['Id']
        for memory_mb, vcpus in ((128, 1), (192, 2)):
            flavor = self.container_flavor(memory_mb=memory_mb, vcpus=vcpus)
            server = self.action(server, {'resize': {'flavorRef': flavor}},
                                 'VERIFY_RESIZE')
            self.assertEqual(host, server['OS-EXT-SRV-ATTR:host'])
            server = self.action(server, {'confirmResize': None}, 'ACTIVE')
            self.assertSameContainer(server, container_id, memory_mb, vcpus)
