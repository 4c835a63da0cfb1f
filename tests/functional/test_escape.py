"""Escape matrix: what a process inside an instance cannot do.

Each instance is spawned through the driver on the real engine; the
attempts run inside its container through the engine's exec API, as root
of the container, the strongest user an image can bring. Every refusal
is asserted from the inside (exit code, the kernel's error) and, where the
kernel keeps a counter, from the host's cgroup too.
"""
import glob
import os
import subprocess
import time
import uuid

from nova_pydock import security
from tests.functional import driver_base

# Bit numbers of capabilities(7), as /proc/<pid>/status shows them.
CAPABILITY_BITS = {name: bit for bit, name in enumerate((
    'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL',
    'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE', 'NET_BIND_SERVICE',
    'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
    'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT',
    'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME',
    'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL',
    'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM',
    'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE'))}

# Processes an instance of the test image runs, plus what the checks exec.
INSTANCE_COMMANDS = {'docker-init', 'sleep', 'sh', 'cat', 'ps', 'ls'}


def _cgroup_file(controller, container_id, name):
    """Path of a cgroup file of the container on the host (v1 or v2)."""
    patterns = (
        '/sys/fs/cgroup/%s/docker/%s/%s' % (controller, container_id, name),
        '/sys/fs/cgroup/%s/*/docker-%s.scope/%s' % (controller,
                                                     container_id, name),
        '/sys/fs/cgroup/docker/%s/%s' % (container_id, name),
        '/sys/fs/cgroup/*/docker-%s.scope/%s' % (container_id, name),
    )
    for pattern in patterns:
        found = glob.glob(pattern)
        if found:
            return found[0]
    raise AssertionError('no cgroup file %s of container %s on the host'
                         % (name, container_id))


def _read_counters(path):
    """``key value`` lines of a cgroup file as a dict of ints."""
    with open(path) as f:
        return {key: int(value) for key, value in
                (line.split() for line in f if line.strip())}


class TestEscapeMatrix(driver_base.DriverTestCase):

    def setUp(self):
        super().setUp()
        self.instance_ = self.spawn()

    def sh(self, script, instance=None):
        code, output = self.exec_in(instance or self.instance_,
                                    'sh', '-c', script)
        return code, output.decode('utf-8', 'replace')

    def assertDenied(self, script, *messages):
        code, output = self.sh(script)
        self.assertNotEqual(0, code, '%r succeeded: %s' % (script, output))
        self.assertTrue(any(message in output for message in messages),
                        '%r failed, but not for lack of permission: %s'
                        % (script, output))
        return output

    def test_host_pids_invisible(self):
        code, output = self.sh(
            'for d in /proc/[0-9]*; do echo "${d#/proc/} $(cat $d/comm)"; '
            'done')
        self.assertEqual(0, code, output)
        seen = dict(line.split(' ', 1) for line in output.splitlines()
                    if line.strip())
        self.assertLessEqual(set(seen.values()), INSTANCE_COMMANDS, seen)
        self.assertEqual('docker-init', seen.get('1'), seen)
        self.assertIn('sleep', seen.values())
        # The host's own processes are many; none of them shows inside.
        host_pids = [d for d in os.listdir('/proc') if d.isdigit()]
        self.assertGreater(len(host_pids), len(seen))
        self.assertLess(len(seen), 8, seen)
        code, output = self.sh('ps -o pid,comm')
        self.assertEqual(0, code, output)
        for host_only in ('dockerd', 'containerd', 'python', 'stestr'):
            self.assertNotIn(host_only, output)
        # The container's first process has another PID on the host.
        host_pid = self.inspect(self.instance_)['State']['Pid']
        self.assertNotEqual(1, host_pid)
        with open('/proc/%d/comm' % host_pid) as f:
            self.assertEqual('docker-init', f.read().strip())

    def test_kernel_sees_reduced_privileges(self):
        """What the kernel holds for processes in the instance."""
        expected = sum(1 << CAPABILITY_BITS[name]
                       for name in security.BASE_CAPABILITIES)
        for target in ('1', 'self'):
            code, output = self.sh('cat /proc/%s/status' % target)
            self.assertEqual(0, code, output)
            status = dict(line.split(':', 1) for line in output.splitlines()
                          if ':' in line)
            for field in ('CapEff', 'CapPrm', 'CapBnd'):
                held = int(status[field].strip(), 16)
                self.assertEqual(expected, held, '%s of %s: %s' % (
                    field, target, sorted(
                        name for name, bit in CAPABILITY_BITS.items()
                        if held >> bit & 1)))
            for dropped in ('NET_RAW', 'MKNOD', 'SETFCAP', 'SYS_ADMIN',
                            'NET_ADMIN', 'SYS_PTRACE', 'SYS_MODULE'):
                self.assertFalse(int(status['CapBnd'], 16)
                                 >> CAPABILITY_BITS[dropped] & 1, dropped)
            self.assertEqual('1', status['NoNewPrivs'].strip())
            self.assertEqual('2', status['Seccomp'].strip())  # filtering

    def test_mount_denied(self):
        self.assertDenied('mkdir -p /mnt && mount -t tmpfs none /mnt',
                          'permission denied', 'Operation not permitted')
        self.assertDenied('mount -t proc proc /tmp',
                          'permission denied', 'Operation not permitted')

    def test_unshare_denied(self):
        for flags in ('-m', '-U', '-n', '-p -f'):
            self.assertDenied('unshare %s true' % flags,
                              'Operation not permitted')

    def test_raw_sockets_denied(self):
        # ping without CAP_NET_RAW; traceroute opens SOCK_RAW itself and
        # arping an AF_PACKET socket: both are refused by the kernel.
        self.assertDenied('ping -c 1 -W 1 127.0.0.1', 'permission denied',
                          'Operation not permitted')
        self.assertDenied('traceroute -m 1 -w 1 127.0.0.1',
                          'socket: Operation not permitted')
        self.assertDenied('arping -c 1 -w 1 -I lo 127.0.0.1',
                          'socket: Operation not permitted')

    def test_mknod_denied(self):
        self.assertDenied('mknod /tmp/mem c 1 1', 'Operation not permitted')
        self.assertDenied('mknod /tmp/sda b 8 0', 'Operation not permitted')
        code, output = self.sh('ls /dev')
        self.assertEqual(0, code, output)
        self.assertNotIn('sda', output.split())
        self.assertNotIn('mem', output.split())

    def test_engine_socket_absent(self):
        for path in ('/var/run/docker.sock', '/run/docker.sock',
                     '/run/containerd/containerd.sock',
                     '/var/run/docker/containerd/containerd.sock'):
            code, output = self.sh('test -e %s' % path)
            self.assertEqual(1, code, '%s exists in the instance' % path)
        code, output = self.sh('find / -xdev -type s 2>/dev/null')
        self.assertEqual('', output.strip())
        self.assertEqual([], self.inspect(self.instance_)['Mounts'])

    def test_fork_bomb_stops_at_pids_limit(self):
        instance = self.spawn(self.instance(
            extra_specs={'pydock:pids_limit': '64'}))
        details = self.inspect(instance)
        self.assertEqual(64, details['HostConfig']['PidsLimit'])
        pids_max = _cgroup_file('pids', details['Id'], 'pids.max')
        with open(pids_max) as f:
            self.assertEqual('64', f.read().strip())
        # Bounded: at most 200 forks, each child gone after 3 seconds.
        code, output = self.sh(
            'i=0; while [ $i -lt 200 ]; do sleep 3 & i=$((i + 1)); done; '
            'wait', instance)
        self.assertNotEqual(0, code, output)
        self.assertIn("can't fork", output)
        events = _read_counters(_cgroup_file('pids', details['Id'],
                                             'pids.events'))
        self.assertGreater(events['max'], 0)
        # The host was not hurt: it forks, and the engine answers.
        self.assertEqual(0, subprocess.run(['true'], check=False).returncode)
        self.assertTrue(self.api.ping())
        # The instance recovers once its children are gone.
        current = _cgroup_file('pids', details['Id'], 'pids.current')
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with open(current) as f:
                if int(f.read()) <= 4:
                    break
            time.sleep(0.5)
        self.assertTrue(self.driver.instance_exists(instance))
        code, output = self.sh('echo alive', instance)
        self.assertEqual((0, 'alive'), (code, output.strip()))

    def test_memory_hog_killed_at_flavor_limit(self):
        instance = self.spawn(self.instance(memory_mb=32))
        details = self.inspect(instance)
        limit = 32 * 1024 * 1024
        self.assertEqual(limit, details['HostConfig']['Memory'])
        self.assertEqual(limit, details['HostConfig']['MemorySwap'])
        oom = _cgroup_file('memory', details['Id'], 'memory.oom_control')
        if not os.path.exists(oom):  # cgroup v2
            oom = _cgroup_file('memory', details['Id'], 'memory.events')
        before = _read_counters(oom).get('oom_kill', 0)
        # dd fills a 64 MiB buffer: twice what the flavor gives.
        code, output = self.sh(
            'dd if=/dev/zero of=/dev/null bs=64M count=1', instance)
        self.assertEqual(137, code, output)  # 128 + SIGKILL
        self.assertGreater(_read_counters(oom).get('oom_kill', 0), before)
        # Only the hog died: the instance runs on, the host is unhurt.
        state = self.inspect(instance)['State']
        self.assertTrue(state['Running'], state)
        self.assertTrue(self.api.ping())

    def test_memory_hog_as_main_process_is_oom_killed(self):
        meta = self.glance.add(
            str(uuid.uuid4()),
            source_path=self.base_archive,
            properties={'os_command_line':
                        'sh -c "sleep 2; dd if=/dev/zero of=/dev/null '
                        'bs=64M count=1"'})
        instance = self.spawn(self.instance(memory_mb=32), image_meta=meta)
        state = self.api.wait('nova-%s' % instance.uuid, timeout=30)
        self.assertEqual(137, state['StatusCode'])
        details = self.inspect(instance)
        self.assertTrue(details['State']['OOMKilled'], details['State'])
