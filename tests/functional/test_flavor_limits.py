"""Flavor limits and the security profile, as the kernel enforces them.

Containers are created straight through the docker SDK with the host
config of :func:`nova_pydock.flavor.host_config_for`, so these tests prove
the mapping on the real engine independently of the driver. Each test
reads what the engine recorded (``inspect_container``) and what the kernel
applies from inside the container (cgroup files, /proc/self/status), and
tries what must fail. Works on cgroup v1 and v2.
"""
import os
import re
import types
import uuid

import docker
from nova import objects
import testtools

from nova_pydock import blockdev
from nova_pydock import flavor as pydock_flavor
from nova_pydock import security
from tests import engine
from tests import images

objects.register_all()

MIB = 1024 * 1024
WAIT_SECONDS = 60

# Bit numbers of capabilities(7), for CapEff/CapBnd in /proc/self/status.
CAP_BITS = {
    'CHOWN': 0, 'DAC_OVERRIDE': 1, 'DAC_READ_SEARCH': 2, 'FOWNER': 3,
    'FSETID': 4, 'KILL': 5, 'SETGID': 6, 'SETUID': 7, 'SETPCAP': 8,
    'LINUX_IMMUTABLE': 9, 'NET_BIND_SERVICE': 10, 'NET_BROADCAST': 11,
    'NET_ADMIN': 12, 'NET_RAW': 13, 'IPC_LOCK': 14, 'IPC_OWNER': 15,
    'SYS_MODULE': 16, 'SYS_RAWIO': 17, 'SYS_CHROOT': 18, 'SYS_PTRACE': 19,
    'SYS_PACCT': 20, 'SYS_ADMIN': 21, 'SYS_BOOT': 22, 'SYS_NICE': 23,
    'SYS_RESOURCE': 24, 'SYS_TIME': 25, 'SYS_TTY_CONFIG': 26, 'MKNOD': 27,
    'LEASE': 28, 'AUDIT_WRITE': 29, 'AUDIT_CONTROL': 30, 'SETFCAP': 31,
}

# Prints "key=value" lines of what the kernel applies to the container.
# Shell builtins only where a fork could be refused.
REPORT = r'''
cg=/sys/fs/cgroup
if [ -f $cg/cgroup.controllers ]; then
  echo cgroup=2
  echo memory=$(cat $cg/memory.max)
  echo swap=$(cat $cg/memory.swap.max)
  echo cpu=$(cat $cg/cpu.max)
  echo pids=$(cat $cg/pids.max)
  echo io=$(cat $cg/io.max | tr '\n' ';')
else
  echo cgroup=1
  echo memory=$(cat $cg/memory/memory.limit_in_bytes)
  echo memsw=$(cat $cg/memory/memory.memsw.limit_in_bytes)
  echo cpu=$(cat $cg/cpu/cpu.cfs_quota_us) $(cat $cg/cpu/cpu.cfs_period_us)
  echo shares=$(cat $cg/cpu/cpu.shares)
  echo pids=$(cat $cg/pids/pids.max)
  b=$cg/blkio/blkio.throttle
  echo read_bps=$(cat $b.read_bps_device)
  echo write_bps=$(cat $b.write_bps_device)
  echo read_iops=$(cat $b.read_iops_device)
  echo write_iops=$(cat $b.write_iops_device)
fi
echo nofile=$(ulimit -n)
echo shm_kb=$(df -k /dev/shm | tail -n 1 | awk '{print $2}')
grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status \
  | tr -d ' \t' | tr ':' '='
'''

# Privileged acts that the profile must deny; each prints its outcome.
ESCAPES = r'''
if ping -c 1 -W 2 127.0.0.1 >/dev/null 2>&1; then echo ping=ok;
  else echo ping=denied; fi
if mknod /tmp/null c 1 3 2>/dev/null; then echo mknod=ok;
  else echo mknod=denied; fi
if touch /root/file 2>/dev/null; then echo root_fs=writable;
  else echo root_fs=read-only; fi
if touch /dev/shm/file 2>/dev/null; then echo shm=writable;
  else echo shm=read-only; fi
if touch /tmp/file 2>/dev/null; then echo tmp=writable;
  else echo tmp=read-only; fi
echo pid1=$(cat /proc/1/comm)
'''


def make_flavor(memory_mb=128, vcpus=1, **extra_specs):
    return objects.Flavor(name='c1.limits', memory_mb=memory_mb,
                          vcpus=vcpus, ephemeral_gb=0, swap=0,
                          extra_specs=extra_specs)


def make_conf(pids_limit=1024, allowed_cap_add=()):
    return types.SimpleNamespace(pids_limit=pids_limit,
                                 allowed_cap_add=list(allowed_cap_add))


def cap_mask(names):
    return sum(1 << CAP_BITS[name] for name in names)


class FlavorLimitsTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.api = engine.api()
        self.image = images.import_busybox(
            self.api, tag='flavor-%s' % uuid.uuid4().hex[:12])
        self.addCleanup(images.remove_if_present, self.api, self.image)
        info = self.api.info()
        self.devices = blockdev.throttle_devices(
            [], info.get('DockerRootDir') or '/var/lib/docker')

    def run_script(self, flavor, script, conf=None, devices=None):
        """Run ``script`` in a container for ``flavor``; wait for it.

        :returns: (exit code, output text, inspect_container result)
        """
        host_config = pydock_flavor.host_config_for(
            flavor, conf or make_conf(),
            self.devices if devices is None else devices)
        container = self.api.create_container(
            self.image, command=['sh', '-c', script],
            name='pydock-flavor-test-%s' % uuid.uuid4().hex[:12],
            host_config=self.api.create_host_config(**host_config))
        self.addCleanup(self._remove, container)
        self.api.start(container)
        status = self.api.wait(container, timeout=WAIT_SECONDS)
        output = self.api.logs(container).decode('utf-8', 'replace')
        return (status['StatusCode'], output,
                self.api.inspect_container(container))

    def _remove(self, container):
        try:
            self.api.remove_container(container, force=True)
        except docker.errors.NotFound:
            pass

    def report(self, flavor, script=REPORT, **kwargs):
        code, output, inspected = self.run_script(flavor, script, **kwargs)
        self.assertEqual(0, code, output)
        values = dict(line.split('=', 1) for line in output.splitlines()
                      if '=' in line)
        return values, inspected


class TestResourceLimits(FlavorLimitsTestCase):

    def test_memory_cpu_pids_and_knobs(self):
        flavor = make_flavor(
            memory_mb=96, vcpus=2, **{
                'quota:cpu_quota': '25000',     # a quarter CPU per vCPU
                'quota:cpu_shares': '700',
                'pydock:pids_limit': '40',
                'pydock:shm_size_mb': '16',
                'pydock:ulimit_nofile': '512'})
        values, inspected = self.report(flavor,
                                        conf=make_conf(pids_limit=100))

        host = inspected['HostConfig']
        self.assertEqual(96 * MIB, host['Memory'])
        self.assertEqual(96 * MIB, host['MemorySwap'])
        self.assertEqual(100000, host['CpuPeriod'])
        self.assertEqual(50000, host['CpuQuota'])
        self.assertEqual(700, host['CpuShares'])
        self.assertEqual(40, host['PidsLimit'])
        self.assertEqual(16 * MIB, host['ShmSize'])
        self.assertEqual([{'Name': 'nofile', 'Soft': 512, 'Hard': 512}],
                         host['Ulimits'])

        self.assertEqual(str(96 * MIB), values['memory'])
        self.assertEqual('40', values['pids'])
        self.assertEqual('512', values['nofile'])
        self.assertEqual(str(16 * 1024), values['shm_kb'])
        if values['cgroup'] == '2':
            self.assertEqual('0', values['swap'])  # no swap beyond memory
            self.assertEqual('50000 100000', values['cpu'])
        else:
            self.assertEqual(str(96 * MIB), values['memsw'])
            self.assertEqual('50000 100000', values['cpu'])
            self.assertEqual('700', values['shares'])

    def test_defaults_of_a_plain_flavor(self):
        values, inspected = self.report(make_flavor(memory_mb=64, vcpus=1),
                                        conf=make_conf(pids_limit=300))
        self.assertEqual('300', values['pids'])
        self.assertEqual('100000 100000', values['cpu'])
        self.assertEqual(str(64 * MIB), values['memory'])
        self.assertEqual(1024, inspected['HostConfig']['CpuShares'])

    def test_disk_throttles(self):
        if not self.devices:
            self.skipTest('no block device under the engine data root')
        device = os.stat(self.devices[0]).st_rdev
        number = '%d:%d' % (os.major(device), os.minor(device))
        flavor = make_flavor(**{'quota:disk_read_bytes_sec': '4194304',
                                'quota:disk_total_iops_sec': '150',
                                'quota:disk_write_iops_sec': '90'})
        values, inspected = self.report(flavor)

        host = inspected['HostConfig']
        self.assertEqual([{'Path': self.devices[0], 'Rate': 4194304}],
                         host['BlkioDeviceReadBps'])
        self.assertEqual([{'Path': self.devices[0], 'Rate': 150}],
                         host['BlkioDeviceReadIOps'])
        self.assertEqual([{'Path': self.devices[0], 'Rate': 90}],
                         host['BlkioDeviceWriteIOps'])
        self.assertFalse(host['BlkioDeviceWriteBps'])
        if values['cgroup'] == '2':
            line = [entry for entry in values['io'].split(';')
                    if entry.startswith(number + ' ')]
            self.assertEqual(1, len(line), values['io'])
            fields = dict(item.split('=') for item in line[0].split()[1:])
            self.assertEqual({'rbps': '4194304', 'wbps': 'max',
                              'riops': '150', 'wiops': '90'}, fields)
        else:
            self.assertEqual('%s 4194304' % number, values['read_bps'])
            self.assertEqual('%s 150' % number, values['read_iops'])
            self.assertEqual('%s 90' % number, values['write_iops'])
            self.assertEqual('', values['write_bps'])

    def test_disk_write_is_throttled(self):
        if not self.devices:
            self.skipTest('no block device under the engine data root')
        # 4 MiB written past the page cache at 2 MiB/s take about 2 s.
        code, output, _inspected = self.run_script(
            make_flavor(**{'quota:disk_write_bytes_sec': str(2 * MIB)}),
            'time dd if=/dev/zero of=/tmp/data bs=1M count=4 oflag=direct')
        self.assertEqual(0, code, output)
        took = re.search(r'real\s+(\d+)m\s*([\d.]+)s', output)
        self.assertIsNotNone(took, output)
        self.assertGreaterEqual(
            int(took.group(1)) * 60 + float(took.group(2)), 1.5, output)

    def test_memory_hog_is_killed_at_the_limit(self):
        # tail must hold one 64 MiB "line" in memory; with no swap to
        # escape to, the kernel kills it at the 32 MiB limit.
        # The OOM killer may pick tail or, now and then, the shell that
        # waits for it: either way the container ends with SIGKILL.
        code, output, inspected = self.run_script(
            make_flavor(memory_mb=32),
            'head -c 67108864 /dev/zero | tail -n 1 >/dev/null')
        self.assertEqual(128 + 9, code, output)
        self.assertTrue(inspected['State']['OOMKilled'], inspected['State'])

    def test_forks_stop_at_pids_limit(self):
        # The loop runs in a subshell: a refused fork ends it. Then the
        # outer shell, with builtins only, reads the cgroup's counters.
        script = r'''
( i=0; while [ $i -lt 60 ]; do sleep 30 & i=$((i+1)); done ) 2>/dev/null
cg=/sys/fs/cgroup; [ -f $cg/pids.current ] || cg=$cg/pids
read current < $cg/pids.current
read max < $cg/pids.max
read event refused < $cg/pids.events
echo current=$current; echo max=$max; echo refused=$refused
kill -9 -1 2>/dev/null
'''
        values, _inspected = self.report(
            make_flavor(**{'pydock:pids_limit': '20'}), script=script)
        self.assertEqual('20', values['max'])
        # The 60 sleeps never fit: forks were refused, and the tasks left
        # are the sleeps that did fit, the shell and the init.
        self.assertGreater(int(values['refused']), 0)
        self.assertLessEqual(int(values['current']), 20)
        self.assertGreaterEqual(int(values['current']), 15)


class TestSecurityProfile(FlavorLimitsTestCase):

    def test_engine_records_the_profile(self):
        _values, inspected = self.report(make_flavor(), script='true')
        host = inspected['HostConfig']
        self.assertFalse(host['Privileged'])
        self.assertEqual(['no-new-privileges:true'], host['SecurityOpt'])
        self.assertEqual(['ALL'], host['CapDrop'])
        self.assertEqual(sorted(security.BASE_CAPABILITIES),
                         sorted(host['CapAdd']))
        self.assertEqual('none', host['NetworkMode'])
        self.assertEqual('private', host['IpcMode'])
        self.assertEqual('private', host['CgroupnsMode'])
        self.assertIn(host['PidMode'], ('', None))
        self.assertIn(host['UsernsMode'], ('', None))
        self.assertIn(host['UTSMode'], ('', None))
        self.assertEqual('no', host['RestartPolicy']['Name'])
        self.assertFalse(host['Binds'])
        self.assertFalse(host['Devices'])
        self.assertFalse(inspected['Mounts'])
        self.assertTrue(host['Init'])

    def test_kernel_enforces_the_profile(self):
        values, _inspected = self.report(make_flavor(),
                                         script=REPORT + ESCAPES)
        expected = cap_mask(security.BASE_CAPABILITIES)
        self.assertEqual(expected, int(values['CapEff'], 16))
        self.assertEqual(expected, int(values['CapBnd'], 16))
        self.assertEqual('1', values['NoNewPrivs'])
        self.assertEqual('2', values['Seccomp'])  # engine's filter in force
        self.assertEqual('denied', values['ping'])   # NET_RAW dropped
        self.assertEqual('denied', values['mknod'])  # MKNOD dropped
        self.assertEqual('writable', values['root_fs'])
        self.assertEqual('docker-init', values['pid1'])

    def test_operator_allowed_capabilities_come_back(self):
        # The same checks can see a capability: they are not vacuous.
        flavor = make_flavor(**{'pydock:cap_add': 'NET_RAW,MKNOD'})
        values, inspected = self.report(
            flavor, script=REPORT + ESCAPES,
            conf=make_conf(allowed_cap_add=['NET_RAW', 'MKNOD']))
        self.assertEqual(
            cap_mask(set(security.BASE_CAPABILITIES) | {'NET_RAW', 'MKNOD'}),
            int(values['CapEff'], 16))
        self.assertEqual('ok', values['ping'])
        self.assertEqual('ok', values['mknod'])
        self.assertEqual('1', values['NoNewPrivs'])
        self.assertEqual(['ALL'], inspected['HostConfig']['CapDrop'])

    def test_read_only_root(self):
        values, inspected = self.report(
            make_flavor(**{'pydock:read_only_root': 'true'}), script=ESCAPES)
        self.assertTrue(inspected['HostConfig']['ReadonlyRootfs'])
        self.assertEqual('read-only', values['root_fs'])
        self.assertEqual('writable', values['shm'])
        self.assertEqual('writable', values['tmp'])
        self.assertEqual(set(pydock_flavor.READ_ONLY_ROOT_SCRATCH),
                         set(inspected['HostConfig']['Tmpfs']))
