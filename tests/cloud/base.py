"""What the cloud test drives a cloud with: its settings and helpers.

``CloudTestCase`` brings nothing up by itself. It takes the machine-wide
lock (one cloud test at a time per machine), gives the test a state
directory, ports and a demo subnet of its own (so it runs next to a
developer's cloud), purges that cloud at the end, and offers the steps a
user takes: the openstack CLI, waiting for a server, ping, a TCP GET, a
serial console session through nova-serialproxy, the metadata service
from inside a server, a second project, and the checks that a
cloud left nothing running.

Environment: PYDOCK_CLOUD_TEST_OFFSET (port offset, default 100),
PYDOCK_CLOUD_TEST_SUBNET (default 198.19.200.0/24),
PYDOCK_CLOUD_TEST_VENV (default /opt/pydock-cloud/venv-e2e).
"""
import fcntl
import json
import os
import re
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
METADATA_URL = 'http://169.254.169.254/'


def sh(argv, **kwargs):
    """Run a command, capture its output, never raise on its status."""
    return subprocess.run(argv, check=False, capture_output=True, text=True,
                          **kwargs)


def log(text):
    sys.stderr.write('[cloud-e2e %s] %s\n' % (time.strftime('%H:%M:%S'),
                                              text))
    sys.stderr.flush()


class CloudTestCase(testtools.TestCase):
    """A cloud of the test's own, and the steps a user takes in it."""

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

    def up(self):
        """``tools/cloud up``; its settings become ``self.settings``."""
        self.cloud('up')
        with open(os.path.join(self.state, 'cloud.json')) as f:
            self.settings = json.load(f)

    def keep_log(self, service, pattern=' WARNING | ERROR |interrupted'):
        """At the end of the test (before the purge), keep the lines of
        ``service``'s log that match ``pattern`` as a detail."""
        path = os.path.join(self.state, 'log', service + '.log')

        def keep():
            if os.path.exists(path):
                with open(path, errors='replace') as f:
                    self.addDetail_text(service + '.log', ''.join(
                        line for line in f if re.search(pattern, line)))
        self.addCleanup(keep)

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

    def servers_in_detail(self, name):
        """The servers whose name matches regex ``name`` as the compute
        API details them, faults included, in one request (openstacksdk
        in the cloud's venv): a ``server show`` each takes seconds on a
        loaded machine."""
        script = ('import json, sys, openstack; print(json.dumps([s.to_dict()'
                  ' for s in openstack.connect().compute.servers('
                  'name=sys.argv[1])], default=str))')
        res = sh([os.path.join(self.settings['venv'], 'bin', 'python'), '-c',
                  script, name], env=self.os_env, timeout=CLI_TIMEOUT)
        if res.returncode != 0:
            self.fail('listing servers %s failed: %s' % (name,
                                                         res.stderr[-2000:]))
        return json.loads(res.stdout)

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

    @staticmethod
    def listed_ip(server):
        """The fixed IP in ``server list``'s Networks column."""
        return server['Networks']['demo'][0]

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

    def key_pair_and_user_data(self, name, public_key, user_data):
        """Create key pair ``name`` from ``public_key`` and write
        ``user_data`` to a file; returns the file's path. The key pair
        goes when the test does."""
        key = os.path.join(self.state, name + '.pub')
        with open(key, 'w') as f:
            f.write(public_key + '\n')
        script = os.path.join(self.state, name + '-user-data')
        with open(script, 'w') as f:
            f.write(user_data)
        self.openstack('keypair', 'create', '--public-key', key, name)
        self.addCleanup(self.openstack, 'keypair', 'delete', name,
                        parse=False, check=False)
        return script

    def in_container(self, server_id, *command):
        return sh(['docker', 'exec', 'nova-%s' % server_id] + list(command))

    def metadata(self, server_id, path, *headers):
        """GET 169.254.169.254/``path`` from inside the server's container
        (bounded tries: the first request may meet a cold proxy)."""
        argv = ['timeout', '10', 'wget', '-qO-']
        for header in headers:
            argv += ['--header', header]
        for _ in range(5):
            res = self.in_container(server_id, *argv, METADATA_URL + path)
            if res.returncode == 0:
                return res.stdout
            time.sleep(1)
        self.fail('no %s from the metadata service in %s: %s' % (
            path, server_id, res.stderr))

    def other_project(self):
        """A second project with a member of its own; returns the CLI
        arguments that act as that member."""
        password = 'e2e-%s' % os.urandom(6).hex()
        self.openstack('project', 'create', 'e2e-other')
        self.openstack('user', 'create', '--project', 'e2e-other',
                       '--password', password, 'e2e-other')
        self.openstack('role', 'add', '--project', 'e2e-other', '--user',
                       'e2e-other', 'member', parse=False)
        return ['--os-project-name', 'e2e-other', '--os-username',
                'e2e-other', '--os-password', password]

    def demo_ports(self):
        """IDs of the servers' Neutron ports on the demo network."""
        return [p['ID'] for p in self.openstack(
            'port', 'list', '--network', 'demo', '--device-owner',
            'compute:nova')]

    def check_nothing_left(self, server_ids, ports):
        """No server, container, veth, OVS port or Neutron port remains."""
        self.assertEqual([], self.openstack('server', 'list'))
        for server_id in server_ids:
            self.assertEqual([], self.container_state(server_id))
        self.assertEqual([], self.demo_ports())
        devices = sh(['ip', '-o', 'link']).stdout
        ovs_ports = sh(['ovs-vsctl', '--columns=name', 'list',
                        'Interface']).stdout
        for port in ports:
            self.assertNotIn(port[:11], devices)
            self.assertNotIn(port[:11], ovs_ports)
        log('deleted: no server, container, veth, OVS or Neutron port left')
