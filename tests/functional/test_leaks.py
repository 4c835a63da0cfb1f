"""Leak check: many spawn/destroy cycles leave nothing behind.

50 cycles of spawn and destroy through the driver on the real engine must
leave no container, no image but the one cached for the Glance image, no
mount (the containers' overlay root file systems, their network
namespace files) and no open file descriptor of this process. Only what
this test made is counted: other tests share the engine.
(veth devices are checked by the network tests.)
"""
import gc
import os

from tests.functional import driver_base

CYCLES = 50


def _mountinfo():
    with open('/proc/self/mountinfo') as f:
        return f.read().splitlines()


def _open_fds():
    """This process's open descriptors and what each one is."""
    fds = {}
    for fd in os.listdir('/proc/self/fd'):
        try:
            fds[int(fd)] = os.readlink('/proc/self/fd/%s' % fd)
        except OSError:  # the descriptor listdir itself used
            pass
    return fds


class TestLeaks(driver_base.DriverTestCase):

    def _cycle(self):
        instance = self.instance()
        self.driver.spawn(self.context, instance, self.image_meta, [], None,
                          {}, [])
        details = self.inspect(instance)
        self.assertTrue(details['State']['Running'])
        traces = [details['Id'],
                  details['GraphDriver']['Data'].get('MergedDir'),
                  details['NetworkSettings'].get('SandboxKey')]
        self.driver.destroy(self.context, instance, [])
        return instance, [trace for trace in traces if trace]

    def _idle_connections_closed(self):
        """This process's descriptors once idle engine connections close.

        The docker SDK keeps idle keep-alive connections in one pool per
        request URL (at most 25 pools per client, so each container name
        costs one until it is evicted): bounded, not leaked. Closing the
        clients' sessions drops exactly those; both clients go on working.
        """
        self.driver._engine.api.close()
        self.api.close()
        gc.collect()
        return _open_fds()

    def test_spawn_destroy_cycles_leave_nothing(self):
        # One warm-up cycle: loads the image, opens the engine connection.
        self._cycle()
        fds_before = self._idle_connections_closed()
        overlay_before = sum('overlay' in line for line in _mountinfo())
        traces = []
        uuids = []
        for _ in range(CYCLES):
            instance, made = self._cycle()
            uuids.append(instance.uuid)
            traces.extend(made)
        gc.collect()

        # No container of this host, under any name or state.
        self.assertEqual([], self.containers_of_host())
        self.assertEqual([], self.driver.list_instance_uuids())
        for uuid in uuids[-5:]:
            self.assertEqual([], self.api.containers(
                all=True, filters={'name': 'nova-%s' % uuid}))

        # No mount left of any of them: overlay roots, namespace files.
        mounts = '\n'.join(_mountinfo())
        left = [trace for trace in traces if trace in mounts]
        self.assertEqual([], left)
        self.addDetail('traces', driver_base.testtools.content.text_content(
            '%d container IDs, overlay roots and namespace files of %d '
            'containers checked' % (len(traces), len(uuids))))
        overlay_after = sum('overlay' in line for line in _mountinfo())
        self.addDetail('overlay-mounts', driver_base.testtools.content
                       .text_content('%d before, %d after (whole host)'
                                     % (overlay_before, overlay_after)))

        # Exactly one image for the Glance image: the cached one.
        ref = driver_base.pydock_images.reference(self.image_meta.id)
        cached = self.api.inspect_image(ref)
        self.assertEqual([ref], cached['RepoTags'])
        self.assertEqual(1, self.glance.downloads[self.image_meta.id])
        # ... and the cache policy removes it once unused.
        self.driver.manage_image_cache(self.context, [])
        driver_base.CONF.set_override(
            'remove_unused_original_minimum_age_seconds', 0,
            group='image_cache')
        self.addCleanup(driver_base.CONF.clear_override,
                        'remove_unused_original_minimum_age_seconds',
                        group='image_cache')
        self.driver.manage_image_cache(self.context, [])
        self.assertEqual([], self.api.images(name=ref))
        self.assertNotIn(cached['Id'], [
            image['Id'] for image in self.api.images(all=True)
            if not image.get('RepoTags')
            or image['RepoTags'] == ['<none>:<none>']])

        # No new open file descriptor in this process.
        fds_after = self._idle_connections_closed()
        self.addDetail('descriptors', driver_base.testtools.content
                       .text_content('%d before, %d after'
                                     % (len(fds_before), len(fds_after))))
        self.assertEqual(fds_before, fds_after)
