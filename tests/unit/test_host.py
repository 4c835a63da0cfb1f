"""Host facts as Nova wants them."""
import os

import os_resource_classes as orc
from oslo_config import fixture as config_fixture
import testtools

from nova_pydock import host


class TestVersionNumber(testtools.TestCase):

    def test_engine_versions(self):
        self.assertEqual(20010024, host._version_number('20.10.24+dfsg1'))
        self.assertEqual(28002002, host._version_number('28.2.2'))
        self.assertEqual(5000000, host._version_number('5'))


def _proc_stat_ns():
    with open('/proc/stat') as f:
        fields = [int(v) for v in f.readline().split()[1:8]]
    tick = 10 ** 9 // os.sysconf('SC_CLK_TCK')
    user, nice, system, idle, iowait, irq, softirq = fields
    return {'user': (user + nice) * tick,
            'kernel': (system + irq + softirq) * tick,
            'idle': idle * tick, 'iowait': iowait * tick}


class TestCpuStats(testtools.TestCase):
    """Read from this machine's kernel, between two readings of our own."""

    def test_times_are_the_kernels_in_nanoseconds(self):
        before = _proc_stat_ns()
        stats = host.Host.cpu_stats()
        after = _proc_stat_ns()
        for key in ('user', 'kernel', 'idle', 'iowait'):
            self.assertLessEqual(before[key], stats[key], key)
            self.assertLessEqual(stats[key], after[key], key)
        # Idle time in ticks would be far below 10**9 on any machine up
        # for less than a few months: the unit is nanoseconds.
        self.assertGreater(stats['idle'], 10 ** 9)

    def test_frequency_is_the_first_cpus_mhz(self):
        with open('/proc/cpuinfo') as f:
            mhz = [line.split(':')[1] for line in f
                   if line.startswith('cpu MHz')]
        if not mhz:
            self.skipTest('this kernel gives no cpu MHz in /proc/cpuinfo')
        self.assertEqual(int(float(mhz[0])),
                         host.Host.cpu_stats()['frequency'])


class _Engine:
    """The one engine answer inventory needs: its data directory."""

    @staticmethod
    def info():
        return {'DockerRootDir': '/'}


class TestInventory(testtools.TestCase):
    """This machine's CPUs, memory and root file system, with ratios that
    overcommit every class, as a container host's do."""

    def setUp(self):
        super().setUp()
        self.fixture = self.useFixture(config_fixture.Config(host.CONF))
        self.fixture.config(reserved_host_memory_mb=512,
                            reserved_host_disk_mb=2048, reserved_host_cpus=1)
        self.ratios = {orc.VCPU: 512.0, orc.MEMORY_MB: 3.0,
                       orc.DISK_GB: 4.0}

    def test_ratios_pass_through_one_server_gets_no_more_than_the_host(self):
        inventory = host.Host(_Engine()).inventory(self.ratios)
        cpus = len(os.sched_getaffinity(0))
        memory_mb = host.Host.memory_mb()[0]
        stat = os.statvfs('/')
        disk_gb = stat.f_blocks * stat.f_frsize // host.GiB
        self.assertEqual(
            {orc.VCPU: (cpus, 1, cpus, 512.0),
             orc.MEMORY_MB: (memory_mb, 512, memory_mb - 512, 3.0),
             orc.DISK_GB: (disk_gb, 2, disk_gb - 2, 4.0)},
            {rc: (inv['total'], inv['reserved'], inv['max_unit'],
                  inv['allocation_ratio'])
             for rc, inv in inventory.items()})

    def test_reserved_beyond_the_host_still_allows_one_unit(self):
        self.fixture.config(reserved_host_memory_mb=10 ** 9)
        inventory = host.Host(_Engine()).inventory(self.ratios)
        self.assertEqual(1, inventory[orc.MEMORY_MB]['max_unit'])

    def test_described_for_the_log(self):
        inventory = host.Host(_Engine()).inventory(self.ratios)
        text = host.describe_inventory(inventory)
        self.assertIn('MEMORY_MB %d x 3 (512 reserved, at most %d per '
                      'server)' % (inventory[orc.MEMORY_MB]['total'],
                                   inventory[orc.MEMORY_MB]['max_unit']),
                      text)
        self.assertIn('VCPU %d x 512 (1 reserved' %
                      inventory[orc.VCPU]['total'], text)
