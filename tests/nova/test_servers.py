"""Servers through Nova's REST API, each step checked on the engine too."""
import nova.conf
from nova.tests.functional.api import client as api_client

from nova_pydock import driver as pydock_driver
from tests.nova import base

CONF = nova.conf.CONF

MIB = 1024 * 1024
# The driver's default [pydock] pids_limit.
DEFAULT_PIDS_LIMIT = 1024


class TestServerLifecycle(base.PyDockTestCase):
    """One server through every power action Nova offers a container."""

    def test_boot_power_console_diagnostics_delete(self):
        # nova-compute loaded the driver as operators configure it.
        self.assertEqual('pydock.PyDockDriver', CONF.compute_driver)
        self.assertIsInstance(self.computes[self.hosts[0]].manager.driver,
                              pydock_driver.PyDockDriver)
        flavor = self.container_flavor(memory_mb=96, vcpus=1)
        image = self.service_image('lifecycle')
        server = self.boot(image['id'], flavor)
        host = self.hosts[0]
        self.assertEqual(host, server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(1, server['OS-EXT-STS:power_state'])  # RUNNING

        self._check_container(server, image, host)

        # What the container printed is the server's console.
        marker = 'pydock-console-lifecycle'
        self.assertIn(marker, self.wait_for_console(server, marker))
        # Nova tails by lines; the log ends with a newline.
        self.assertEqual(marker + '\n', self.console(server, length=2))

        self._check_diagnostics(server)

        self._check_power_actions(server, marker)

        self.delete(server)
        self.assertNoContainer(server)
        self.assertEqual([], self.engine_containers())

    def _check_container(self, server, image, host):
        # Exactly one container, named after the server, with the
        # flavor's limits, no network and the labels of its host.
        containers = self.engine_containers()
        self.assertEqual(['/nova-%s' % server['id']],
                         [c['Names'][0] for c in containers])
        details = self.inspect(server)
        self.assertTrue(details['State']['Running'])
        host_config = details['HostConfig']
        self.assertEqual(96 * MIB, host_config['Memory'])
        self.assertEqual(96 * MIB, host_config['MemorySwap'])
        self.assertEqual(100000, host_config['CpuPeriod'])
        self.assertEqual(100000, host_config['CpuQuota'])
        self.assertEqual(1024, host_config['CpuShares'])
        self.assertEqual(DEFAULT_PIDS_LIMIT, host_config['PidsLimit'])
        self.assertFalse(host_config['ReadonlyRootfs'])
        self.assertFalse(host_config['Privileged'])
        self.assertEqual('none', host_config['NetworkMode'])
        labels = details['Config']['Labels']
        self.assertEqual(server['id'],
                         labels['org.openstack.nova.instance-uuid'])
        self.assertEqual(host, labels['org.openstack.nova.compute-host'])
        self.assertEqual(server['tenant_id'],
                         labels['org.openstack.nova.project-id'])
        self.assertEqual('pydock-glance:%s' % image['id'],
                         details['Config']['Image'])
        self.assertEqual(1, self.glance.downloads[image['id']])

    def _check_power_actions(self, server, marker):
        started = self.inspect(server)['State']['StartedAt']
        # stop -> SHUTOFF, container exited; start -> running again.
        server = self.action(server, {'os-stop': None}, 'SHUTOFF')
        self.assertEqual(4, server['OS-EXT-STS:power_state'])  # SHUTDOWN
        self.assertEqual('exited', self.engine_status(server))
        server = self.action(server, {'os-start': None}, 'ACTIVE')
        started = self._assertRestarted(server, started)

        # Soft and hard reboot both start the same container anew.
        server = self.action(server, {'reboot': {'type': 'SOFT'}}, 'ACTIVE')
        started = self._assertRestarted(server, started)
        server = self.action(server, {'reboot': {'type': 'HARD'}}, 'ACTIVE')
        started = self._assertRestarted(server, started)
        # Each of the four starts printed the marker once more.
        self.assertEqual(4, self.wait_for_console(
            server, marker + '\n' + marker + '\n' + marker + '\n'
            + marker).count(marker))

        # pause/unpause and suspend/resume freeze and thaw the container.
        server = self.action(server, {'pause': None}, 'PAUSED')
        self.assertEqual(3, server['OS-EXT-STS:power_state'])  # PAUSED
        self.assertEqual('paused', self.engine_status(server))
        server = self.action(server, {'unpause': None}, 'ACTIVE')
        self.assertEqual('running', self.engine_status(server))
        server = self.action(server, {'suspend': None}, 'SUSPENDED')
        self.assertEqual(7, server['OS-EXT-STS:power_state'])  # SUSPENDED
        self.assertEqual('paused', self.engine_status(server))
        server = self.action(server, {'resume': None}, 'ACTIVE')
        self.assertEqual('running', self.engine_status(server))
        self.assertEqual(1, server['OS-EXT-STS:power_state'])
        # Freezing is not a restart.
        self.assertEqual(started, self.inspect(server)['State']['StartedAt'])

    def _assertRestarted(self, server, started_before):
        details = self.inspect(server)
        self.assertTrue(details['State']['Running'])
        self.assertEqual(1, server['OS-EXT-STS:power_state'])
        self.assertNotEqual(started_before, details['State']['StartedAt'])
        # Still the one container of this server.
        self.assertEqual(1, len(self.engine_containers()))
        return details['State']['StartedAt']

    def _check_diagnostics(self, server):
        # The driver serves Nova's legacy diagnostics (microversion 2.47
        # and older); the versioned ones only fit VM hypervisors.
        self.api.microversion = '2.47'
        try:
            diagnostics = self.api.get_server_diagnostics(server['id'])
        finally:
            self.api.microversion = self.microversion
        self.assertEqual('running', diagnostics['state'])
        self.assertEqual(96 * MIB, diagnostics['memory_limit_bytes'])
        self.assertGreater(diagnostics['memory_used_bytes'], 0)
        self.assertGreater(diagnostics['cpu_time_ns'], 0)
        self.assertGreaterEqual(diagnostics['pids'], 1)
        error = self.assertRaises(api_client.OpenStackApiException,
                                  self.api.get_server_diagnostics,
                                  server['id'])
        self.assertEqual(501, error.response.status_code)


class TestFlavorExtraSpecs(base.PyDockTestCase):

    def test_invalid_refused_valid_changes_container(self):
        flavor = self.container_flavor()
        for specs in ({'pydock:pids_limit': 'many'},
                      {'pydock:pids_limit': '2'},
                      {'pydock:read_only_root': 'perhaps'},
                      {'pydock:no_such_knob': '1'}):
            error = self.assertRaises(
                api_client.OpenStackApiException,
                self.admin_api.post_extra_spec, flavor,
                {'extra_specs': specs})
            self.assertEqual(400, error.response.status_code, specs)
        self.assertEqual({}, self.admin_api.get_extra_specs(flavor))

        self.admin_api.post_extra_spec(
            flavor, {'extra_specs': {'pydock:pids_limit': '64',
                                     'pydock:read_only_root': 'true'}})
        server = self.boot(self.service_image('specs')['id'], flavor)
        host_config = self.inspect(server)['HostConfig']
        self.assertEqual(64, host_config['PidsLimit'])
        self.assertTrue(host_config['ReadonlyRootfs'])
        code, _ = self.exec_in(server, 'touch', '/written')
        self.assertNotEqual(0, code)
        self.delete(server)
        self.assertNoContainer(server)


class TestFlavorLocalDisks(base.PyDockTestCase):
    """A flavor with an ephemeral disk or swap: refused, never ignored."""

    def test_build_fails_with_the_reason(self):
        image = self.service_image('disks')
        for ephemeral, swap, reason in ((1, 0, 'an ephemeral disk of 1 GB'),
                                        (0, 256, '256 MB of swap')):
            flavor = self._create_flavor(memory_mb=128, vcpu=1, disk=1,
                                         ephemeral=ephemeral, swap=swap)
            server = self.boot(image['id'], flavor, status='ERROR')
            fault = server['fault']['message']
            self.assertIn('aborted', fault)  # not rescheduled
            self.assertIn(reason, fault)
            self.assertIn('offers no ephemeral disk and no swap', fault)
            self.assertNoContainer(server)


class TestBadImages(base.PyDockTestCase):
    """Builds that cannot work: ERROR at once, the reason in the fault."""

    def _assertBuildRefused(self, image, *reasons):
        server = self.boot(image['id'], self.container_flavor(),
                           status='ERROR')
        fault = server['fault']['message']
        for reason in reasons:
            self.assertIn(reason, fault)
        self.assertNoContainer(server)
        self.assertEqual([], self.engine_containers())
        return fault

    def test_unusable_images_fail_with_the_reason(self):
        qcow2 = self.docker_image(container_format='bare',
                                  disk_format='qcow2')
        self._assertBuildRefused(qcow2, 'is unacceptable',
                                 'runs docker images only')
        self.assertEqual(0, self.glance.downloads[qcow2['id']])

        garbage = self.docker_image(data=b'not a tar archive\n' * 4096)
        truncated = self.docker_image(data=self._truncated_archive())
        for image, reason in ((garbage, 'not a docker save archive'),
                              (truncated, 'the archive ends early')):
            self._assertBuildRefused(image, 'is unacceptable', reason)
            self.assertEqual(1, self.glance.downloads[image['id']])
            self.assertEqual([], self._engine.images(
                name='pydock-glance:%s' % image['id']))

        # With a start-up watch, a command that dies at once fails on any
        # host: no reschedule ("Exceeded maximum number of retries"), but
        # why it died.
        self.flags(startup_check_seconds=1, group='pydock')
        dying = self.docker_image(
            os_command_line="sh -c 'echo config file missing >&2; exit 3'")
        self._assertBuildRefused(dying, 'exited at start with code 3',
                                 'config file missing')

    def test_process_that_ends_soon_after_start_gives_shutoff(self):
        # Without a start-up watch (the default) the build succeeds and
        # the driver tells Nova when the process ends; Nova's periodic
        # power state sync (every 10 minutes) is not what notices it.
        image = self.docker_image(
            os_command_line="sh -c 'sleep 2; echo finished early; exit 3'")
        server = self.boot(image['id'], self.container_flavor())
        server = self.wait_for(server, 'SHUTOFF')
        self.assertEqual('exited', self.engine_status(server))
        self.assertEqual(3, self.inspect(server)['State']['ExitCode'])
        self.assertIn('finished early', self.console(server))
        log = self.stdlog.logger.output
        self.assertIn('VM Stopped (Lifecycle Event)', log)
        self.assertIn('stopped on its own: exit code 3', log)

    def _truncated_archive(self):
        with open(self._base_archive, 'rb') as f:
            data = f.read()
        return data[:len(data) // 2]


class TestSoftDelete(base.PyDockTestCase):
    """With ``reclaim_instance_interval`` set, a delete is a soft delete.

    The driver has no soft_delete or restore of its own: Nova powers the
    server off and on instead, and removes it when reclaimed or
    force-deleted.
    """

    def test_soft_delete_restore_force_delete(self):
        self.flags(reclaim_instance_interval=3600)
        server = self.boot(self.service_image('soft')['id'],
                           self.container_flavor())
        container_id = self.inspect(server)['Id']

        self.api.delete_server(server['id'])
        server = self.wait_for(server, 'SOFT_DELETED')
        self.assertEqual('exited', self.engine_status(server))

        server = self.action(server, {'restore': None}, 'ACTIVE')
        self.assertEqual('running', self.engine_status(server))
        self.assertEqual(container_id, self.inspect(server)['Id'])

        self.api.delete_server(server['id'])
        server = self.wait_for(server, 'SOFT_DELETED')
        self.api.post_server_action(server['id'], {'forceDelete': None})
        self.wait_gone(server)
        self.assertNoContainer(server)
