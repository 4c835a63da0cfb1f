"""The cloud the browser suite drives, and what it asks the engine.

A cloud already up in PYDOCK_BROWSER_CLOUD_DIR is used as it is and left
running (a developer's own: ``PYDOCK_BROWSER_CLOUD_DIR=$PYDOCK_CLOUD_DIR``).
Otherwise the suite brings one up there with settings that clash with no
other test cloud on the machine, and purges it at the end
(PYDOCK_BROWSER_KEEP=1 keeps it for the next run), holding the
machine-wide cloud test lock meanwhile, as the cloud test does: one test
cloud coming up at a time.

Environment: PYDOCK_BROWSER_CLOUD_DIR (/var/tmp/pydock-browser-cloud),
PYDOCK_BROWSER_OFFSET (700), PYDOCK_BROWSER_SUBNET (198.19.70.0/24),
PYDOCK_BROWSER_VENV (/opt/pydock-cloud/venv-e2e: the cloud test's, which
also runs under the lock, so CI installs the services once).
"""
import fcntl
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CLOUD = os.path.join(ROOT, 'tools', 'cloud')
LOCK = '/var/lock/pydock-cloud-test.lock'
STATE = os.environ.get('PYDOCK_BROWSER_CLOUD_DIR',
                       '/var/tmp/pydock-browser-cloud')  # noqa: S108
CLI_TIMEOUT = 300


def log(text):
    sys.stderr.write('[browser %s] %s\n' % (time.strftime('%H:%M:%S'), text))
    sys.stderr.flush()


def sh(argv, **kwargs):
    return subprocess.run(argv, check=False, capture_output=True, text=True,
                          **kwargs)


class Cloud:
    """tools/cloud in STATE: up (or found up), the CLI, the engine."""

    def __init__(self):
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith('OS_')}
        self.env.update(
            PYDOCK_CLOUD_DIR=STATE,
            PYDOCK_CLOUD_PORT_OFFSET=os.environ.get('PYDOCK_BROWSER_OFFSET',
                                                    '700'),
            PYDOCK_CLOUD_SUBNET=os.environ.get('PYDOCK_BROWSER_SUBNET',
                                               '198.19.70.0/24'),
            PYDOCK_CLOUD_NAME='pydock-browser',
            PYDOCK_CLOUD_SOURCE='worktree',
            PYDOCK_CLOUD_VENV=os.environ.get(
                'PYDOCK_BROWSER_VENV', '/opt/pydock-cloud/venv-e2e'))
        self.brought_up = False
        self.settings = None
        self._lock = None

    def start(self):
        """Use the cloud in STATE if it is up, else bring one up (under
        the lock). Returns the seconds ``tools/cloud up`` took (0 if
        none)."""
        t = time.monotonic()
        if sh([CLOUD, 'status'], env=self.env, timeout=120).returncode == 0:
            log('using the cloud that is up in %s' % STATE)
            seconds = 0.0
        else:
            os.makedirs(os.path.dirname(LOCK), exist_ok=True)
            self._lock = open(LOCK, 'w')  # noqa: SIM115 - until stop()
            log('waiting for the machine-wide cloud test lock')
            fcntl.flock(self._lock, fcntl.LOCK_EX)
            log('tools/cloud up in %s' % STATE)
            t = time.monotonic()
            self.brought_up = True
            res = sh([CLOUD, 'up'], env=self.env, timeout=3600)
            if res.returncode != 0:
                raise RuntimeError('tools/cloud up failed:\n%s%s' % (
                    res.stdout[-3000:], res.stderr[-3000:]))
            seconds = time.monotonic() - t
        with open(os.path.join(STATE, 'cloud.json')) as f:
            self.settings = json.load(f)
        return seconds

    def stop(self):
        """Purge the cloud the suite brought up, release the lock."""
        try:
            if self.brought_up and not os.environ.get('PYDOCK_BROWSER_KEEP'):
                log('tools/cloud down --purge')
                sh([CLOUD, 'down', '--purge'], env=self.env, timeout=600)
        finally:
            if self._lock:
                self._lock.close()

    def horizon_settings(self):
        """The local_settings.py tools/cloud wrote for the dashboard."""
        with open(os.path.join(STATE, 'etc', 'horizon', 'local',
                               'local_settings.py')) as f:
            return f.read()

    def restart(self, service):
        res = sh([CLOUD, 'restart', service], env=self.env, timeout=600)
        if res.returncode != 0:
            raise AssertionError('tools/cloud restart %s failed: %s%s' % (
                service, res.stdout[-2000:], res.stderr[-2000:]))

    def service_pid(self, service):
        """The PID ``tools/cloud status`` lists for a running service."""
        out = sh([CLOUD, 'status'], env=self.env, timeout=120).stdout
        for line in out.splitlines():
            fields = line.split()
            if fields[:2] == [service, 'running']:
                return int(fields[2])
        raise AssertionError('%s is not running:\n%s' % (service, out))

    @property
    def dashboard_url(self):
        return 'http://127.0.0.1:%d' % self.settings['ports']['horizon']

    def openstack(self, *args, check=True, parse=True):
        """The openstack CLI as the cloud's admin; its JSON output parsed
        (``parse=False`` for commands without output: delete)."""
        env = dict(self.env, OS_CLOUD=self.settings['name'],
                   OS_CLIENT_CONFIG_FILE=os.path.join(STATE, 'clouds.yaml'))
        res = sh([os.path.join(self.settings['venv'], 'bin', 'openstack')]
                 + list(args) + (['-f', 'json'] if parse else []), env=env,
                 timeout=CLI_TIMEOUT)
        if check and res.returncode != 0:
            raise AssertionError('openstack %s failed: %s' % (
                ' '.join(args), res.stderr[-2000:]))
        if parse and res.returncode == 0 and res.stdout.strip():
            return json.loads(res.stdout)
        return None

    def server(self, name):
        return self.openstack('server', 'show', name)

    @staticmethod
    def container(server_id):
        """(name, state) of the server's container in the engine, or
        None when the engine holds none."""
        res = sh(['docker', 'ps', '-a', '--filter',
                  'label=org.openstack.nova.instance-uuid=%s' % server_id,
                  '--format', '{{.Names}} {{.State}}'])
        lines = res.stdout.split('\n')
        return tuple(lines[0].split()) if lines[0] else None

    @staticmethod
    def container_exec(name, *argv):
        return sh(['docker', 'exec', name] + list(argv))

    @classmethod
    def container_started(cls, server_id):
        """When the engine last started the server's container."""
        name = cls.container(server_id)[0]
        return sh(['docker', 'inspect', '-f', '{{.State.StartedAt}}',
                   name]).stdout.strip()
