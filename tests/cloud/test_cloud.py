"""End to end: the one-command cloud, driven only by the openstack CLI.

Brings a cloud up from nothing with ``tools/cloud up`` (its own state
directory, ports and demo subnet, so it runs next to a developer's cloud),
then, as a user would: boots a server on the ``demo`` network, pings it
and opens a TCP connection to its web server from the host, reads its
console log, stops/starts/reboots it, snapshots it and boots the snapshot
(the page the first server wrote on its first boot comes back from the
second one: boot, change, snapshot, boot the snapshot, reach its
service), shows that the layered Glance store keeps the shared base layer
once, deletes everything, and checks that ``tools/cloud down`` leaves no
process, container, veth or OVS port behind.

Needs root on Debian 12 (it installs Debian packages and a venv the first
time: several minutes). One cloud test at a time per machine (a lock).
Environment: PYDOCK_CLOUD_TEST_OFFSET (port offset, default 100),
PYDOCK_CLOUD_TEST_SUBNET (default 198.19.200.0/24),
PYDOCK_CLOUD_TEST_VENV (default /opt/pydock-cloud/venv-e2e).
"""
import fcntl
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import testtools
from testtools import content

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CLOUD = os.path.join(ROOT, 'tools', 'cloud')
LOCK = '/var/lock/pydock-cloud-test.lock'
OFFSET = int(os.environ.get('PYDOCK_CLOUD_TEST_OFFSET', '100'))
SUBNET = os.environ.get('PYDOCK_CLOUD_TEST_SUBNET', '198.19.200.0/24')
VENV = os.environ.get('PYDOCK_CLOUD_TEST_VENV', '/opt/pydock-cloud/venv-e2e')
CLI_TIMEOUT = 300
PUBLIC_KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2Jq3yqmDhQaQvvRlzQ2h'
              'r7WGDmxCQ9O6Fv1YB5Rvmz pydock-e2e')
USER_DATA = '#!/bin/sh\necho configured by user data\n'


def sh(argv, **kwargs):
    """Run a command, capture its output, never raise on its status."""
    return subprocess.run(argv, check=False, capture_output=True, text=True,
                          **kwargs)


def log(text):
    sys.stderr.write('[cloud-e2e %s] %s\n' % (time.strftime('%H:%M:%S'),
                                              text))
    sys.stderr.flush()


class CloudTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest('the cloud test needs root')
        if not os.path.exists('/etc/debian_version'):
            self.skipTest('the cloud test needs Debian')
        os.makedirs(os.path.dirname(LOCK), exist_ok=True)
        self._lock = open(LOCK, 'w')
        self.addCleanup(self._lock.close)
        log('waiting for the machine-wide cloud test lock')
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        self.state = tempfile.mkdtemp(prefix='pydock-cloud-e2e-',
                                      dir='/var/tmp')
        self.env = dict(os.environ,
                        PYDOCK_CLOUD_DIR=self.state,
                        PYDOCK_CLOUD_PORT_OFFSET=str(OFFSET),
                        PYDOCK_CLOUD_SUBNET=SUBNET,
                        PYDOCK_CLOUD_NAME='pydock-e2e',
                        PYDOCK_CLOUD_SOURCE='worktree',
                        # its own venv: re-installing the working tree
                        # must not pull the code from under a
                        # developer's running cloud
                        PYDOCK_CLOUD_VENV=VENV)
        for key in list(self.env):
            if key.startswith('OS_'):
                del self.env[key]
        self.addCleanup(self._purge)
        self.os_env = dict(self.env,
                           OS_CLIENT_CONFIG_FILE=os.path.join(
                               self.state, 'clouds.yaml'),
                           OS_CLOUD='pydock-e2e')

    def _purge(self):
        sh([CLOUD, 'down', '--purge'], env=self.env, timeout=600)
        shutil.rmtree(self.state, ignore_errors=True)

    # helpers ---------------------------------------------------------------
    def cloud(self, *args, timeout=3600):
        t = time.monotonic()
        res = sh([CLOUD] + list(args), env=self.env, timeout=timeout)
        self._n = getattr(self, '_n', 0) + 1
        self.addDetail_text('%d tools/cloud %s' % (self._n, ' '.join(args)),
                            res.stdout + res.stderr)
        for line in res.stdout.splitlines():
            if line.startswith('[') or ' ok (' in line:
                log('  ' + line.strip())
        if res.returncode != 0 and args[0] != 'status':
            self.fail('tools/cloud %s failed (%d):\n%s%s' % (
                ' '.join(args), res.returncode, res.stdout, res.stderr))
        log('tools/cloud %s: %.0fs' % (' '.join(args), time.monotonic() - t))
        return res

    def addDetail_text(self, name, text):
        self.addDetail(name.replace(' ', '-'), content.text_content(text))

    def openstack(self, *args, parse=True, check=True):
        venv = self.settings['venv']
        argv = [os.path.join(venv, 'bin', 'openstack')] + list(args)
        if parse:
            argv += ['-f', 'json']
        res = sh(argv, env=self.os_env, timeout=CLI_TIMEOUT)
        if check and res.returncode != 0:
            self.fail('openstack %s failed (%d): %s' % (
                ' '.join(args), res.returncode, res.stderr[-2000:]))
        if parse and res.returncode == 0 and res.stdout.strip():
            return json.loads(res.stdout)
        return res

    def concurrently(self, commands):
        """Run openstack commands at the same time; all must succeed."""
        venv = self.settings['venv']
        procs = [subprocess.Popen(
            [os.path.join(venv, 'bin', 'openstack')] + cmd,
            env=self.os_env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True) for cmd in commands]
        failed = []
        for cmd, proc in zip(commands, procs, strict=True):
            _out, err = proc.communicate(timeout=CLI_TIMEOUT)
            if proc.returncode != 0:
                failed.append('%s: %s' % (' '.join(cmd), err[-500:]))
        self.assertEqual([], failed)

    def wait_server(self, name, status, timeout=180):
        deadline = time.monotonic() + timeout
        while True:
            server = self.openstack('server', 'show', name)
            if (server['status'] == status
                    and not server.get('OS-EXT-STS:task_state')):
                return server
            if server['status'] == 'ERROR':
                self.fail('server %s went to ERROR: %s' % (
                    name, server.get('fault')))
            if time.monotonic() > deadline:
                self.fail('server %s not %s after %ds: %s/%s' % (
                    name, status, timeout, server['status'],
                    server.get('OS-EXT-STS:task_state')))
            time.sleep(2)

    def container_state(self, server_id):
        res = sh(['docker', 'ps', '-a', '--filter',
                  'label=org.openstack.nova.instance-uuid=%s' % server_id,
                  '--format', '{{.State}}'])
        return res.stdout.split()

    def fixed_ip(self, server):
        addresses = server['addresses']
        return addresses['demo'][0]

    def ping(self, ip):
        for _ in range(15):
            if sh(['ping', '-c', '1', '-W', '2', ip]).returncode == 0:
                return
            time.sleep(1)
        self.fail('no ping answer from %s' % ip)

    def http_get(self, ip, port=80, tries=30):
        last = None
        for _ in range(tries):
            try:
                with socket.create_connection((ip, port), timeout=5) as s:
                    s.sendall(b'GET / HTTP/1.0\r\nHost: x\r\n\r\n')
                    data = b''
                    while chunk := s.recv(4096):
                        data += chunk
                return data.decode(errors='replace')
            except OSError as exc:
                last = exc
                time.sleep(1)
        self.fail('no TCP connection to %s:%d: %s' % (ip, port, last))

    def console_session(self, server, command, marker, leave=True):
        """``pydock-console SERVER`` (through the openstack CLI and
        nova-serialproxy): type ``command``, wait for ``marker``, leave
        with Ctrl-] (or, ``leave=False``, wait for the console to close).
        Returns what the console showed."""
        bin_dir = os.path.join(self.settings['venv'], 'bin')
        env = dict(self.os_env, PATH=bin_dir + os.pathsep
                   + self.os_env.get('PATH', ''))
        proc = subprocess.Popen(
            [os.path.join(bin_dir, 'pydock-console'), server],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=env)
        self.addCleanup(proc.kill)
        os.write(proc.stdin.fileno(), command.encode() + b'\n')
        output = b''
        deadline = time.monotonic() + CLI_TIMEOUT
        while marker.encode() not in output:
            if time.monotonic() > deadline or proc.poll() is not None:
                self.fail('no %r on the console of %s: %r %r' % (
                    marker, server, output[-1000:],
                    proc.stderr.read() if proc.poll() is not None else ''))
            if select.select([proc.stdout], [], [], 1)[0]:
                output += os.read(proc.stdout.fileno(), 65536)
        if leave:
            os.write(proc.stdin.fileno(), b'\x1d')
        self.assertEqual(0, proc.wait(60))
        self.assertIn(b'left the console' if leave else b'console closed',
                      proc.stderr.read())
        return output.decode(errors='replace')

    def our_processes(self):
        """Live processes that belong to this cloud."""
        marks = [self.state, '%s-' % self.settings['host']]
        epmd = 'epmd -port %d ' % self.settings['ports']['epmd']
        found = []
        for entry in os.listdir('/proc'):
            if not entry.isdigit():
                continue
            try:
                with open('/proc/%s/stat' % entry) as f:
                    state = f.read().rsplit(')', 1)[1].split()[0]
                with open('/proc/%s/cmdline' % entry, 'rb') as f:
                    cmd = f.read().replace(b'\0', b' ').decode(
                        errors='replace')
            except OSError:
                continue
            if state == 'Z':
                continue
            if any(m in cmd for m in marks) or cmd.startswith(epmd):
                found.append('%s %s' % (entry, cmd[:150]))
        return found

    def in_container(self, server_id, *command):
        return sh(['docker', 'exec', 'nova-%s' % server_id] + list(command))

    def check_config_drive(self):
        """User data, key pair and properties, read back from the drive."""
        key = os.path.join(self.state, 'e2e-key.pub')
        with open(key, 'w') as f:
            f.write(PUBLIC_KEY + '\n')
        script = os.path.join(self.state, 'e2e-user-data')
        with open(script, 'w') as f:
            f.write(USER_DATA)
        self.openstack('keypair', 'create', '--public-key', key, 'e2e-k1')
        server = self.openstack(
            'server', 'create', '--flavor', 'c1.small', '--image', 'busybox',
            '--network', 'demo', '--user-data', script, '--key-name',
            'e2e-k1', '--property', 'role=web', '--config-drive', 'true',
            '--wait', 'e2e-drive')
        drive_id = server['id']
        latest = '/config-drive/openstack/latest/'
        res = self.in_container(drive_id, 'cat', latest + 'meta_data.json')
        self.assertEqual(0, res.returncode, res.stderr)
        meta = json.loads(res.stdout)
        # As the key file had it, with its newline.
        self.assertEqual({'e2e-k1': PUBLIC_KEY + '\n'}, meta['public_keys'])
        self.assertEqual({'role': 'web'}, meta['meta'])
        self.assertEqual('e2e-drive', meta['name'])
        for path in (latest + 'user_data', '/var/lib/cloud/seed/'
                     'config_drive/openstack/latest/user_data'):
            res = self.in_container(drive_id, 'cat', path)
            self.assertEqual((0, USER_DATA), (res.returncode, res.stdout))
        res = self.in_container(drive_id, 'sh', '-c',
                                'echo x > %suser_data' % latest)
        self.assertIn('Read-only file system', res.stderr)
        drive = os.path.join(self.state, 'nova', 'instances',
                             'pydock-config-drives', drive_id)
        self.assertTrue(os.path.isdir(drive))
        self.openstack('server', 'delete', '--wait', drive_id, parse=False)
        self.openstack('keypair', 'delete', 'e2e-k1', parse=False)
        self.assertFalse(os.path.exists(drive))
        log('config drive: key pair, property and user data read back '
            'inside e2e-drive; removed with it')

    # the scenario ------------------------------------------------------------
    def test_cloud_end_to_end(self):
        t0 = time.monotonic()
        self.bring_up(t0)
        self.check_provisioned()
        one, ip = self.boot_first_server()
        self.check_config_drive()
        self.check_concurrent_requests(one)
        self.check_console_log(one)
        self.check_stop_start_reboot(one, ip)
        self.check_serial_console(one, ip)
        two, ip2 = self.boot_snapshot(one, ip)
        self.check_resize(two, ip2)
        self.check_store_keeps_base_layer_once()
        three = self.check_shell_image_console()
        ports = self.delete_everything(one, two, three)
        self.check_down_leaves_nothing(ports, t0)

    # its steps ---------------------------------------------------------------
    def bring_up(self, t0):
        """Up from nothing; a second up changes nothing, starts nothing."""
        self.cloud('up')
        with open(os.path.join(self.state, 'cloud.json')) as f:
            self.settings = json.load(f)
        log('cloud up from nothing: %.0fs' % (time.monotonic() - t0))
        again = self.cloud('up').stdout
        if 'nova-pydock installed' in again:
            # the working tree changed under the test: only the services
            # that load the project start again
            started = again.split('started: ', 1)[1].split(')')[0]
            self.assertLessEqual(set(started.split(', ')),
                                 {'glance-api', 'nova-api', 'nova-compute'})
        else:
            self.assertIn('already running', again)
        self.assertIn('already provisioned', again)
        status = self.cloud('status')
        self.assertEqual(0, status.returncode, status.stdout)

    def check_provisioned(self):
        """What up provisioned: flavors, the busybox image, demo."""
        flavors = {f['Name'] for f in self.openstack('flavor', 'list')}
        self.assertTrue({'c1.tiny', 'c1.small', 'c1.medium'} <= flavors)
        small = self.openstack('flavor', 'show', 'c1.small')
        self.assertIn('pydock:pids_limit', json.dumps(small['properties']))
        image = self.openstack('image', 'show', 'busybox')
        self.assertEqual(('docker', 'raw', 'active'), (
            image['container_format'], image['disk_format'],
            image['status']))
        net = self.openstack('network', 'show', 'demo')
        self.assertEqual('flat', net['provider:network_type'])

    def boot_first_server(self):
        """1. A server on the demo network, reachable from the host."""
        server = self.openstack(
            'server', 'create', '--flavor', 'c1.small', '--image', 'busybox',
            '--network', 'demo', '--wait', 'e2e-one')
        self.assertEqual('ACTIVE', server['status'])
        one = server['id']
        server = self.openstack('server', 'show', one)
        ip = self.fixed_ip(server)
        log('server e2e-one ACTIVE at %s' % ip)
        self.assertEqual(['running'], self.container_state(one))
        self.ping(ip)
        self.assertIn('hello from e2e-one', self.http_get(ip))
        return one, ip

    def check_concurrent_requests(self, one):
        """SQLite under concurrent requests: writes and reads at once."""
        self.concurrently(
            [['port', 'create', '--network', 'demo', 'e2e-p%d' % i]
             for i in range(3)]
            + [['server', 'list'], ['image', 'list'], ['network', 'list'],
               ['server', 'show', one]])
        self.concurrently([['port', 'delete', 'e2e-p%d' % i]
                           for i in range(3)] + [['port', 'list']])
        log('concurrent port creates/deletes and reads: all answered')

    def check_console_log(self, one):
        """2. The console log."""
        console = self.openstack('console', 'log', 'show', one,
                                 parse=False).stdout
        self.assertIn('busybox: httpd on port 80', console)

    def check_stop_start_reboot(self, one, ip):
        """3. Stop, start, reboot."""
        self.openstack('server', 'stop', one, parse=False)
        self.wait_server(one, 'SHUTOFF')
        self.assertEqual(['exited'], self.container_state(one))
        self.openstack('server', 'start', one, parse=False)
        self.wait_server(one, 'ACTIVE')
        self.assertEqual(['running'], self.container_state(one))
        self.ping(ip)
        self.openstack('server', 'reboot', one, parse=False)
        self.wait_server(one, 'ACTIVE')
        self.assertIn('hello from e2e-one', self.http_get(ip))
        log('stop/start/reboot done')

    def check_serial_console(self, one, ip):
        """3b. The serial console through nova-serialproxy: a shell in the
        container (the web server keeps running) changes the page."""
        url = self.openstack('console', 'url', 'show', '--serial', one)
        self.assertTrue(url['url'].startswith(
            'ws://127.0.0.1:%d/?token='
            % self.settings['ports']['serialproxy']), url)
        shown = self.console_session(
            one, 'echo changed-by-console >> /www/index.html; '
            'echo done-$((6*7))', 'done-42')
        self.assertIn('a shell of its own', shown)
        page = self.http_get(ip)
        self.assertIn('hello from e2e-one', page)
        self.assertIn('changed-by-console', page)
        log('serial console: a shell changed the served page')

    def boot_snapshot(self, one, ip):
        """4. Snapshot, then boot the snapshot: the page the first server
        wrote on its first boot, and the console's change, are in the image
        and served by the second.
        """
        self.openstack('server', 'image', 'create', '--name', 'e2e-snap',
                       '--wait', one)
        snap = self.openstack('image', 'show', 'e2e-snap')
        self.assertEqual(('docker', 'raw', 'active'), (
            snap['container_format'], snap['disk_format'], snap['status']))
        server = self.openstack(
            'server', 'create', '--flavor', 'c1.small', '--image', 'e2e-snap',
            '--network', 'demo', '--wait', 'e2e-two')
        two = server['id']
        ip2 = self.fixed_ip(self.openstack('server', 'show', two))
        self.assertNotEqual(ip, ip2)
        page = self.http_get(ip2)
        self.assertIn('hello from e2e-one', page)
        self.assertIn('changed-by-console', page)
        log('snapshot booted at %s and serves the first server\'s page' % ip2)
        return two, ip2

    def check_resize(self, two, ip2):
        """4b. Resize: c1.small -> c1.medium changes /dev/shm, which only a
        new container can have; it keeps the files and the address.
        """
        self.openstack('server', 'resize', '--flavor', 'c1.medium',
                       '--wait', two, parse=False)
        self.wait_server(two, 'VERIFY_RESIZE')
        self.assertEqual(['running', 'exited'], self.container_state(two))
        self.openstack('server', 'resize', 'confirm', two, parse=False)
        server = self.wait_server(two, 'ACTIVE')
        self.assertEqual('c1.medium', server['flavor']['name'])
        self.assertEqual(['running'], self.container_state(two))
        self.assertIn('hello from e2e-one', self.http_get(ip2))
        log('e2e-two resized to c1.medium, still serving at %s' % ip2)

    def check_store_keeps_base_layer_once(self):
        """5. The layered store keeps the shared base layer once."""
        report = sh(
            [os.path.join(self.settings['venv'], 'bin',
                          'glance-store-layers-report'),
             '--datadir', os.path.join(self.state, 'glance', 'layers'),
             '--json'])
        self.addDetail_text('store report', report.stdout + report.stderr)
        self.assertEqual(0, report.returncode, report.stderr)
        figures = json.loads(report.stdout)
        self.assertEqual(2, figures['images'])
        self.assertGreaterEqual(figures['shared_blobs'], 1)
        self.assertLess(figures['stored_bytes'], figures['logical_bytes'])
        log('store: %d images, %d blobs (%d shared), %d logical bytes in '
            '%d stored' % (figures['images'], figures['blobs'],
                           figures['shared_blobs'], figures['logical_bytes'],
                           figures['stored_bytes']))

    def check_shell_image_console(self):
        """5b. A shell image: the console is the server's own terminal, and
        exit in it shuts the server off.

        :returns: the server's ID
        """
        archive = os.path.join(self.state, 'busybox.tar')
        self.openstack('image', 'save', '--file', archive, 'busybox',
                       parse=False)
        self.openstack('image', 'create', '--container-format', 'docker',
                       '--disk-format', 'raw', '--file', archive,
                       '--property', 'os_command_line=/bin/sh', 'e2e-shell')
        three = self.openstack(
            'server', 'create', '--flavor', 'c1.tiny', '--image',
            'e2e-shell', '--network', 'demo', '--wait', 'e2e-shell')['id']
        shown = self.console_session(three, 'echo terminal-$((2*9)); exit',
                                     'terminal-18', leave=False)
        self.assertIn("the server's own terminal", shown)
        self.wait_server(three, 'SHUTOFF')
        self.assertEqual(['exited'], self.container_state(three))
        log('shell image: exit on its console shut e2e-shell off')
        return three

    def delete_everything(self, one, two, three):
        """6. Delete everything; the servers' ports leave no device.

        :returns: the IDs of the ports the servers had
        """
        ports = [p['ID'] for p in self.openstack('port', 'list',
                                                 '--network', 'demo')
                 if p.get('Fixed IP Addresses')]
        self.openstack('server', 'delete', '--wait', one, two, three,
                       parse=False)
        self.openstack('image', 'delete', 'e2e-snap', 'e2e-shell',
                       parse=False)
        self.assertEqual([], self.openstack('server', 'list'))
        self.assertEqual([], self.container_state(one)
                         + self.container_state(two)
                         + self.container_state(three))
        devices = sh(['ip', '-o', 'link']).stdout
        for port in ports:
            self.assertNotIn(port[:11], devices)
        return ports

    def check_down_leaves_nothing(self, ports, t0):
        """7. Down leaves no process, container, veth or OVS port."""
        s = self.settings
        self.cloud('down')
        deadline = time.monotonic() + 30
        while self.our_processes() and time.monotonic() < deadline:
            time.sleep(1)
        self.assertEqual([], self.our_processes())
        containers = sh(['docker', 'ps', '-aq', '--filter',
                         'label=org.openstack.nova.compute-host=%s'
                         % s['host']]).stdout.split()
        self.assertEqual([], containers)
        bridges = sh(['ovs-vsctl', 'list-br']).stdout
        self.assertNotIn(s['int_bridge'], bridges.split())
        self.assertNotIn(s['phys_bridge'], bridges.split())
        ovs_ports = sh(['ovs-vsctl', '--columns=name', 'list',
                        'Interface']).stdout
        devices = sh(['ip', '-o', 'link']).stdout
        for port in ports:
            self.assertNotIn(port[:11], ovs_ports)
            self.assertNotIn(port[:11], devices)
        self.assertNotIn(s['host_port'], devices)
        self.assertNotEqual(0, self.cloud('status').returncode)
        log('down left no process, container, veth or OVS port; total '
            '%.0fs' % (time.monotonic() - t0))
