"""Compute hosts on the engine: what Nova and Placement learn of them, what
Nova's CPU monitor reads through the driver, and two nova-compute services
sharing one engine."""
import os

from nova import objects
from nova.compute.monitors.cpu import virt_driver as cpu_monitor
import nova.conf
import os_resource_classes as orc

from tests.nova import base

CONF = nova.conf.CONF
MIB = 1024 * 1024
GIB = 1024 * MIB


def _host_memory_mb():
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('MemTotal:'):
                return int(line.split()[1]) * 1024 // MIB
    raise AssertionError('no MemTotal in /proc/meminfo')


class TestHypervisor(base.PyDockTestCase):

    def test_compute_node_up_and_inventory_matches_host(self):
        host = self.hosts[0]
        stat = os.statvfs(self._engine.info()['DockerRootDir'])
        expected = {'vcpus': len(os.sched_getaffinity(0)),
                    'memory_mb': _host_memory_mb(),
                    'disk_gb': stat.f_blocks * stat.f_frsize // GIB}

        services = self.admin_api.get_services(binary='nova-compute',
                                               host=host)
        self.assertEqual(1, len(services))
        self.assertEqual('up', services[0]['state'])
        self.assertEqual('enabled', services[0]['status'])
        self._check_hypervisor(host, expected)
        rp_uuid = self._get_provider_uuid_by_host(host)
        self._check_inventory(rp_uuid, expected)

        # A server's flavor is what Placement counts against the host.
        flavor_id = self.container_flavor(memory_mb=64, vcpus=1)
        server = self.boot(self.service_image('inventory')['id'], flavor_id)
        self.assertEqual(
            {orc.VCPU: 1, orc.MEMORY_MB: 64, orc.DISK_GB: 1},
            self._get_provider_usages(rp_uuid))
        self.delete(server)
        self.assertEqual(
            {orc.VCPU: 0, orc.MEMORY_MB: 0, orc.DISK_GB: 0},
            self._get_provider_usages(rp_uuid))

    def _check_hypervisor(self, host, expected):
        """``openstack hypervisor show`` (microversion 2.87 still shows the
        resource fields; from 2.88 the host's uptime is part of it)."""
        self.admin_api.microversion = '2.87'
        try:
            hypervisors = self.admin_api.api_get(
                '/os-hypervisors/detail').body['hypervisors']
        finally:
            self.admin_api.microversion = self.microversion
        self.assertEqual([host],
                         [h['hypervisor_hostname'] for h in hypervisors])
        hypervisor = hypervisors[0]
        self.assertEqual('up', hypervisor['state'])
        self.assertEqual('docker', hypervisor['hypervisor_type'])
        self.assertEqual(expected['vcpus'], hypervisor['vcpus'])
        self.assertEqual(expected['memory_mb'], hypervisor['memory_mb'])
        self.assertEqual(expected['disk_gb'], hypervisor['local_gb'])
        self.assertEqual(host, hypervisor['service']['host'])
        shown = self.admin_api.api_get(
            '/os-hypervisors/%s' % hypervisor['id']).body['hypervisor']
        self.assertEqual('up', shown['state'])
        self.assertIn(' up ', shown['uptime'])
        self.assertIn('load average', shown['uptime'])

    def _check_inventory(self, rp_uuid, expected):
        """Placement's inventory of the host: totals, reserved, ratios."""
        inventory = self._get_provider_inventory(rp_uuid)
        self.assertEqual({orc.VCPU, orc.MEMORY_MB, orc.DISK_GB},
                         set(inventory))
        self.assertEqual(expected['vcpus'], inventory[orc.VCPU]['total'])
        self.assertEqual(CONF.reserved_host_cpus,
                         inventory[orc.VCPU]['reserved'])
        self.assertEqual(CONF.initial_cpu_allocation_ratio,
                         inventory[orc.VCPU]['allocation_ratio'])
        self.assertEqual(expected['memory_mb'],
                         inventory[orc.MEMORY_MB]['total'])
        self.assertEqual(CONF.reserved_host_memory_mb,
                         inventory[orc.MEMORY_MB]['reserved'])
        self.assertEqual(CONF.initial_ram_allocation_ratio,
                         inventory[orc.MEMORY_MB]['allocation_ratio'])
        self.assertEqual(expected['disk_gb'], inventory[orc.DISK_GB]['total'])
        self.assertEqual(CONF.initial_disk_allocation_ratio,
                         inventory[orc.DISK_GB]['allocation_ratio'])


class TestTwoComputes(base.PyDockTestCase):
    """Two nova-compute services, two host names, one engine."""

    compute_hosts = 2

    def test_spread_own_containers_isolated_delete(self):
        flavor = self.container_flavor()
        image = self.service_image('pair')
        servers = [self.boot(image['id'], flavor) for _ in range(2)]
        by_host = {s['OS-EXT-SRV-ATTR:host']: s for s in servers}
        self.assertEqual(set(self.hosts), set(by_host))
        # One load of the image serves both hosts: the engine is shared.
        self.assertEqual(1, self.glance.downloads[image['id']])

        for host, server in by_host.items():
            self._assertHostHolds(host, [server])
            self.assertEqual(
                {orc.VCPU: 1, orc.MEMORY_MB: 128, orc.DISK_GB: 1},
                self._get_provider_usages(
                    self._get_provider_uuid_by_host(host)))

        gone_host, kept_host = self.hosts
        gone, kept = by_host[gone_host], by_host[kept_host]
        started = self.inspect(kept)['State']['StartedAt']
        self.delete(gone)
        self.assertNoContainer(gone)
        self._assertHostHolds(gone_host, [])
        self._assertUntouched(kept, started)
        self.assertEqual(
            {orc.VCPU: 0, orc.MEMORY_MB: 0, orc.DISK_GB: 0},
            self._get_provider_usages(
                self._get_provider_uuid_by_host(gone_host)))

        # A fresh nova-compute on the emptied host (new driver, init_host
        # on the shared engine) and a round of periodic tasks leave the
        # other host's container alone.
        self.computes[gone_host] = self.restart_compute_service(
            self.computes[gone_host], keep_hypervisor_state=False)
        self._run_periodics()
        self._assertHostHolds(gone_host, [])
        self._assertHostHolds(kept_host, [kept])
        self._assertUntouched(kept, started)

        self.delete(kept)
        self.assertNoContainer(kept)
        self.assertEqual([], self.engine_containers())

    def _assertHostHolds(self, host, servers):
        driver = self.computes[host].manager.driver
        self.assertEqual([s['id'] for s in servers],
                         driver.list_instance_uuids())
        self.assertEqual(
            [s['OS-EXT-SRV-ATTR:instance_name'] for s in servers],
            driver.list_instances())
        self.assertEqual(['/nova-%s' % s['id'] for s in servers],
                         [c['Names'][0]
                          for c in self.engine_containers(host)])

    def _assertUntouched(self, server, started):
        details = self.inspect(server)
        self.assertTrue(details['State']['Running'])
        self.assertEqual(started, details['State']['StartedAt'])
        server = self.api.get_server(server['id'])
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual(1, server['OS-EXT-STS:power_state'])


class TestCpuMonitor(base.PyDockTestCase):

    def test_nova_cpu_monitor_reads_the_host(self):
        """Nova's ``cpu.virt_driver`` monitor, on this compute's driver."""
        tracker = self.computes[self.hosts[0]].manager.rt
        monitor = cpu_monitor.Monitor(tracker)
        metrics = objects.MonitorMetricList(objects=[])
        monitor.populate_metrics(metrics)
        # Percentages need a second reading, with some CPU time between.
        with open('/dev/urandom', 'rb') as f:
            f.read(4 * MIB)
        metrics = objects.MonitorMetricList(objects=[])
        monitor.populate_metrics(metrics)
        values = {m.name: m.value for m in metrics.objects}
        self.assertEqual(set(monitor.get_metric_names()), set(values))
        for name in ('cpu.user.percent', 'cpu.kernel.percent',
                     'cpu.idle.percent', 'cpu.iowait.percent',
                     'cpu.percent'):
            self.assertGreaterEqual(values[name], 0, name)
            self.assertLessEqual(values[name], 100, name)
        self.assertGreater(values['cpu.kernel.time'], 0)
        self.assertGreater(values['cpu.idle.time'], 0)
        self.assertEqual('pydock.PyDockDriver',
                         metrics.objects[0].source)
