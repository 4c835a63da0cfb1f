"""Host facts as Nova wants them."""
import os

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
