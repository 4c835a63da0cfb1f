"""A real glance-api (Glance 33) on loopback, with a layers default store.

Glance 33 runs only under a WSGI server (``glance.wsgi.api:application``);
gunicorn serves it here, because it decodes the chunked request bodies
that glanceclient sends for image uploads. The service gets a private
configuration directory: sqlite database, no authentication (the
``unauthenticated-context`` paste pipeline), a policy file that allows
every Glance rule (the unauthenticated context has no project, which the
default rules require), and ``enabled_backends = fast:layers`` with
``fast`` as default backend.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import fixtures

BIN = os.path.dirname(sys.executable)
BACKEND = 'fast'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _paste_ini():
    path = os.path.join(sys.prefix, 'etc', 'glance', 'glance-api-paste.ini')
    if not os.path.exists(path):
        raise RuntimeError('glance is not installed in %s (pip install '
                           '-r test-requirements.txt)' % sys.prefix)
    return path


def _open_policy(path):
    # Imported here: glance is a test requirement, not a runtime one.
    from glance.policies import list_rules  # noqa: PLC0415
    with open(path, 'w') as f:
        json.dump({rule.name: '' for rule in list_rules()}, f)


class GlanceAPI(fixtures.Fixture):
    """Run glance-api until cleanup; ``endpoint`` and ``datadir`` tell
    where it listens and where its layers store keeps data."""

    def __init__(self, extra_store_options=None):
        super().__init__()
        self.extra = extra_store_options or {}

    def _setUp(self):
        self.root = self.useFixture(fixtures.TempDir()).path
        self.datadir = os.path.join(self.root, 'layers')
        self.port = free_port()
        self.endpoint = 'http://127.0.0.1:%d' % self.port
        etc = os.path.join(self.root, 'etc')
        os.mkdir(etc)
        shutil.copy(_paste_ini(), os.path.join(etc, 'glance-api-paste.ini'))
        _open_policy(os.path.join(etc, 'policy.json'))
        self.log_file = os.path.join(self.root, 'glance-api.log')
        store_options = ''.join('%s = %s\n' % kv for kv in self.extra.items())
        self.conf_file = os.path.join(etc, 'glance-api.conf')
        with open(self.conf_file, 'w') as f:
            f.write(f"""[DEFAULT]
enabled_backends = {BACKEND}:layers
worker_self_reference_url = {self.endpoint}
log_file = {self.log_file}
debug = true
[database]
connection = sqlite:///{self.root}/glance.sqlite
[glance_store]
default_backend = {BACKEND}
[{BACKEND}]
layers_store_datadir = {self.datadir}
{store_options}
[os_glance_staging_store]
filesystem_store_datadir = {self.root}/staging
[os_glance_tasks_store]
filesystem_store_datadir = {self.root}/tasks
[paste_deploy]
config_file = {etc}/glance-api-paste.ini
[oslo_policy]
policy_file = {etc}/policy.json
enforce_scope = false
enforce_new_defaults = false
""")
        subprocess.run([os.path.join(BIN, 'glance-manage'), '--config-file',
                        self.conf_file, 'db_sync'], check=True,
                       capture_output=True, timeout=300)
        env = dict(os.environ, OS_GLANCE_CONFIG_DIR=etc)
        self._out = open(os.path.join(self.root, 'gunicorn.log'), 'wb')
        self.addCleanup(self._out.close)
        self.process = subprocess.Popen(
            [os.path.join(BIN, 'gunicorn'),
             '--bind', '127.0.0.1:%d' % self.port,
             '--workers', '1', '--threads', '4', '--timeout', '300',
             'glance.wsgi.api:application'],
            env=env, stdout=self._out, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.addCleanup(self._stop)
        self._wait_ready(timeout=120)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError('glance-api exited with %s:\n%s'
                                   % (self.process.returncode, self.logs()))
            try:
                with urllib.request.urlopen(  # noqa: S310 (loopback)
                        self.endpoint + '/versions',
                        timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError('glance-api did not answer within %d s:\n%s'
                           % (timeout, self.logs()))

    def _stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(30)

    def logs(self, tail=60):
        lines = []
        for path in (self.log_file, os.path.join(self.root, 'gunicorn.log')):
            if os.path.exists(path):
                with open(path, errors='replace') as f:
                    lines += f.read().splitlines()[-tail:]
        return '\n'.join(lines)
