"""What tools/cloud installs: Debian packages, the engine and Open vSwitch,
the services' virtualenv and the project itself.

Debian packages go through ``tools/lib/apt.sh`` (the one installer of the
tools). The engine and Open vSwitch are shared with whatever else uses
them: what this cloud had to start it records, and stops again on
``down`` when nothing else uses it. The venv may be shared by several
clouds (a lock); it is rebuilt when REQUIREMENTS change, and the project
is reinstalled whenever its sources change.
"""
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

from processes import CloudError
from processes import info
from processes import pid_record as _pid_record
from processes import port_open_unix
from processes import run
from processes import stop_records as _stop_records

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
APT = os.path.join(ROOT, 'tools', 'lib', 'apt.sh')

#: What the venv holds: the releases this cloud is made of.
REQUIREMENTS = [
    'keystone==30.0.0',
    'openstack-placement==16.0.0',
    'glance==33.0.0',
    'nova==34.0.0',
    'neutron==29.0.0',
    'python-openstackclient==10.5.0',
    'gunicorn==27.0.1',
    'PyMySQL==1.2.4',
    'horizon==27.0.0',
    'whitenoise==6.12.0',
]
DEBIAN_PACKAGES = ['rabbitmq-server', 'python3-venv', 'python3-dev', 'gcc',
                   'iproute2', 'iputils-ping', 'curl', 'busybox-static',
                   # the SSH server of the busybox-ssh image
                   'dropbear-bin',
                   # Neutron's DHCP agent runs them: DHCP and the
                   # metadata proxy in each network's qdhcp namespace,
                   # checksum offload off on its veth (userspace datapath)
                   'dnsmasq-base', 'haproxy', 'ethtool']


def ensure_debian(mariadb):
    """Install the missing Debian packages, keeping their services from
    starting (the cloud starts its own instances); returns their names."""
    wanted = DEBIAN_PACKAGES + (['mariadb-server'] if mariadb else [])
    res = subprocess.run([APT, '--no-start'] + wanted, stdout=subprocess.PIPE,
                         text=True, check=False)
    if res.returncode != 0:
        raise CloudError('could not install Debian packages (%s)'
                         % ' '.join(wanted))
    return res.stdout.split()


def ensure_engine_and_ovs(cloud):
    """The engine and Open vSwitch: shared with whatever else uses
    them. What this cloud had to start, it records (PID and start
    time) so that `down` can stop it again when nothing else uses it.
    """
    notes = []
    engine_pidfile = os.environ.get('PYDOCK_ENGINE_PIDFILE',
                                    '/var/run/pydock-dockerd.pid')
    before = port_open_unix(os.environ.get('PYDOCK_ENGINE_SOCKET',
                                           '/var/run/docker.sock'))
    run([os.path.join(ROOT, 'tools', 'ensure-engine')])
    if not before:
        cloud.s['started'] = dict(cloud.s.get('started', {}), engine=[
            _pid_record(engine_pidfile)])
        notes.append('engine started')
    rundir = '/var/run/openvswitch'
    pidfiles = [os.path.join(rundir, n + '.pid')
                for n in ('ovs-vswitchd', 'ovsdb-server')]
    before = [_pid_record(f) for f in pidfiles]
    run([os.path.join(ROOT, 'tools', 'ensure-ovs')])
    if not all(before):
        cloud.s['started'] = dict(cloud.s.get('started', {}), ovs=[
            _pid_record(f) for f in pidfiles])
        notes.append('Open vSwitch started')
    cloud.save()
    return ', '.join(notes)


def stop_shared(cloud):
    """Stop the engine / OVS if this cloud started them and nothing
    else uses them now (no container, no bridge left)."""
    started = cloud.s.get('started', {})
    said = []
    if started.get('engine'):
        busy = subprocess.run(['docker', 'ps', '-q'], check=False,
                              capture_output=True, text=True)
        if busy.returncode == 0 and not busy.stdout.split():
            if _stop_records(started['engine']):
                said.append('stopped the engine (this cloud started it)')
            del started['engine']
        else:
            said.append('left the engine running: containers use it')
    if started.get('ovs'):
        bridges = subprocess.run(['ovs-vsctl', '--timeout=10', 'list-br'],
                                 check=False, capture_output=True,
                                 text=True)
        if bridges.returncode == 0 and not bridges.stdout.split():
            if _stop_records(started['ovs']):
                said.append('stopped Open vSwitch (this cloud started '
                            'it)')
            del started['ovs']
        else:
            said.append('left Open vSwitch running: other bridges use '
                        'it')
    cloud.save()
    return said


def ensure_venv(cloud):
    # Several clouds (a developer's, the e2e test's) may share the venv.
    os.makedirs(os.path.dirname(cloud.venv), exist_ok=True)
    with open(cloud.venv + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _ensure_venv(cloud)


def _ensure_venv(cloud):
    stamp = os.path.join(cloud.venv, '.pydock-cloud-requirements')
    wanted = '\n'.join(REQUIREMENTS)
    pip_args = os.environ.get('PYDOCK_CLOUD_PIP_ARGS', '').split()
    notes = []
    current = open(stamp).read() if os.path.exists(stamp) else None
    if current != wanted:
        if not os.path.exists(cloud.bin('python')):
            info('creating %s' % cloud.venv)
            run([sys.executable, '-m', 'venv', cloud.venv])
            run([cloud.bin('pip'), 'install', '-q', '--upgrade', 'pip',
                 'setuptools', 'wheel'] + pip_args)
        info('pip install %s (a few minutes the first time)'
             % ' '.join(REQUIREMENTS))
        run([cloud.bin('pip'), 'install', '-q'] + pip_args + REQUIREMENTS,
            timeout=3600)
        with open(stamp, 'w') as f:
            f.write(wanted)
        notes.append('services installed')
    # The project itself, from this checkout: its committed state
    # (HEAD; PYDOCK_CLOUD_SOURCE=worktree for uncommitted work too),
    # copied out, never built inside the working tree; re-installed
    # whenever it changes.
    worktree = os.environ.get('PYDOCK_CLOUD_SOURCE') == 'worktree'
    digest = source_digest(worktree)
    pstamp = os.path.join(cloud.venv, '.pydock-cloud-project')
    if not os.path.exists(pstamp) or open(pstamp).read() != digest:
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, 'src')
            export_source(src, worktree)
            run([cloud.bin('pip'), 'install', '-q', '--no-build-isolation',
                 '--force-reinstall', '--no-deps', src] + pip_args)
            # its own dependencies (docker SDK, ...) if new ones came
            run([cloud.bin('pip'), 'install', '-q', '--no-build-isolation',
                 src] + pip_args)
        with open(pstamp, 'w') as f:
            f.write(digest)
        notes.append('nova-pydock installed (%s)' % (
            'working tree' if worktree else 'git HEAD'))
    return ', '.join(notes) or 'up to date'

PROJECT_FILES = ['setup.py', 'setup.cfg', 'README.md', 'nova_pydock',
                 'glance_store_layers']


def _is_git():
    return subprocess.run(['git', '-C', ROOT, 'rev-parse', 'HEAD'],
                          check=False, capture_output=True).returncode == 0


def source_digest(worktree=False):
    """What identifies the project's sources to install."""
    if not worktree and _is_git():
        res = subprocess.run(
            ['git', '-C', ROOT, 'ls-tree', 'HEAD', '--'] + PROJECT_FILES,
            capture_output=True, text=True, check=True)
        return 'git:' + hashlib.sha256(res.stdout.encode()).hexdigest()
    h = hashlib.sha256()
    for name in PROJECT_FILES:
        path = os.path.join(ROOT, name)
        if os.path.isfile(path):
            walk = [(ROOT, [], [name])]
        else:
            walk = sorted(os.walk(path))
        for dirpath, dirs, files in walk:
            dirs[:] = sorted(d for d in dirs if d != '__pycache__')
            for f in sorted(files):
                if f.endswith('.pyc'):
                    continue
                full = os.path.join(dirpath, f)
                h.update(os.path.relpath(full, ROOT).encode())
                with open(full, 'rb') as fh:
                    h.update(hashlib.sha256(fh.read()).digest())
    return 'tree:' + h.hexdigest()


def export_source(dest, worktree=False):
    """The project's packaging and packages, copied to ``dest``."""
    os.makedirs(dest)
    if not worktree and _is_git():
        tracked = subprocess.run(
            ['git', '-C', ROOT, 'ls-tree', '--name-only', 'HEAD', '--']
            + PROJECT_FILES, capture_output=True, text=True,
            check=True).stdout.split()
        archive = subprocess.run(
            ['git', '-C', ROOT, 'archive', '--format=tar', 'HEAD', '--']
            + tracked, capture_output=True, check=True).stdout
        subprocess.run(['tar', '-x', '-C', dest], input=archive, check=True)
    else:
        for name in PROJECT_FILES:
            path = os.path.join(ROOT, name)
            if os.path.isdir(path):
                shutil.copytree(path, os.path.join(dest, name),
                                ignore=shutil.ignore_patterns(
                                    '__pycache__', '*.pyc'))
            elif os.path.exists(path):
                shutil.copy(path, dest)
    if not os.path.exists(os.path.join(dest, 'README.md')):
        with open(os.path.join(dest, 'README.md'), 'w') as f:
            f.write('nova-pydock\n')




def ensure_horizon_static(cloud):
    """Horizon's static files, collected and compressed offline into its
    STATIC_ROOT, again whenever Horizon or its settings change."""
    etc = os.path.join(cloud.etc, 'horizon')
    with open(os.path.join(etc, 'local', 'local_settings.py'), 'rb') as f:
        key = hashlib.sha256(f.read() + '\n'.join(REQUIREMENTS).encode())
    stamp = os.path.join(cloud.state, 'stamps', 'horizon-static')
    if os.path.exists(stamp) and open(stamp).read() == key.hexdigest():
        return 'static files up to date'
    env = dict(os.environ, PYTHONPATH=etc,
               DJANGO_SETTINGS_MODULE='openstack_dashboard.settings')
    admin = cloud.bin('django-admin')
    run([admin, 'collectstatic', '--noinput', '--clear', '-v', '0'],
        env=env, timeout=1800)
    run([admin, 'compress', '--force', '-v', '0'], env=env, timeout=1800)
    with open(stamp, 'w') as f:
        f.write(key.hexdigest())
    return 'static files collected and compressed'
