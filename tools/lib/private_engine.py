"""A Docker engine of its own, in a temporary directory.

``tools/ensure-engine`` starts a dockerd with its own socket, data root,
exec root and pidfile (dockerd starts its own managed containerd per exec
root), so that a test or a benchmark may stop, start and kill it without
touching the engine everyone else uses. ``destroy`` kills whatever of it
is left, unmounts what it mounted and removes its directories.
"""
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time

import docker
import engine_client

# Upper bound of every wait on a private engine (seconds).
WAIT = 60


def processes_under(*paths):
    """PIDs of processes whose command line names one of ``paths``."""
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                cmdline = f.read().replace(b'\0', b' ').decode(
                    'utf-8', 'replace')
        except OSError:
            continue
        if any(path in cmdline for path in paths):
            found.append(int(pid))
    return found


def mounts_under(*paths):
    """Mount points below ``paths``, deepest first."""
    with open('/proc/self/mountinfo') as f:
        points = [line.split()[4] for line in f]
    return sorted((p for p in points
                   if any(p.startswith(path + '/') or p == path
                          for path in paths)),
                  key=len, reverse=True)


def _comm(pid):
    try:
        with open('/proc/%d/comm' % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for all purposes here.
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().split(') ', 1)[1][0] != 'Z'
    except OSError:
        return False


class PrivateEngine:
    """A dockerd of its own in a temporary directory."""

    def __init__(self, live_restore=False):
        # Short paths: unix socket paths below the exec root are limited.
        self.root = tempfile.mkdtemp(prefix='pde-', dir='/tmp')
        self.socket = os.path.join(self.root, 'engine.sock')
        self.data_root = os.path.join(self.root, 'data')
        self.exec_root = os.path.join(self.root, 'exec')
        self.pidfile = os.path.join(self.root, 'dockerd.pid')
        self.log = os.path.join(self.root, 'dockerd.log')
        self.url = 'unix://' + self.socket
        self.live_restore = live_restore
        self.api = None

    def start(self):
        env = dict(os.environ,
                   PYDOCK_ENGINE_SOCKET=self.socket,
                   PYDOCK_ENGINE_DATA_ROOT=self.data_root,
                   PYDOCK_ENGINE_EXEC_ROOT=self.exec_root,
                   PYDOCK_ENGINE_PIDFILE=self.pidfile,
                   PYDOCK_ENGINE_LOG=self.log,
                   PYDOCK_ENGINE_LIVE_RESTORE=str(int(self.live_restore)),
                   PYDOCK_ENGINE_WAIT=str(WAIT))
        subprocess.run(
            [os.path.join(engine_client.REPO, 'tools', 'ensure-engine')],
            env=env, check=True, timeout=WAIT + 30)
        if self.api is None:
            self.api = docker.APIClient(base_url=self.url, version='auto',
                                        timeout=WAIT)
        return self.pid()

    def pid(self):
        with open(self.pidfile) as f:
            return int(f.read().strip())

    def containerd_pids(self):
        """The managed containerd of this engine (not the shims)."""
        return [pid for pid in processes_under(self.exec_root)
                if _comm(pid) == 'containerd' and alive(pid)]

    def stop(self):
        """SIGTERM to dockerd, as a host shutdown does; wait for its end."""
        pid = self.pid()
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + WAIT
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        return not alive(pid)

    def container_ids(self):
        try:
            return os.listdir(os.path.join(self.data_root, 'containers'))
        except FileNotFoundError:
            return []

    def destroy(self):
        """Stop or kill what is left, unmount, remove the directories.

        Works whatever state the engine is in: a container whose shim was
        killed lives on under init, so its processes are found through
        its cgroups (named by its ID) and killed there too.
        """
        if self.api is not None:
            self.api.close()
        ids = self.container_ids()
        try:
            if alive(self.pid()):
                self.stop()
        except (OSError, ValueError):
            pass
        for _ in range(2):
            pids = processes_under(self.root)
            for cgroup in cgroups_of(ids):
                pids += _cgroup_pids(cgroup)
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 10
            while (any(alive(p) for p in pids)
                   and time.monotonic() < deadline):
                time.sleep(0.2)
        for point in mounts_under(self.root):
            subprocess.run(['umount', '-l', point], check=False,
                           capture_output=True)
        for cgroup in sorted(cgroups_of(ids), key=len, reverse=True):
            try:
                os.rmdir(cgroup)
            except OSError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)
        return ids


def cgroups_of(container_ids):
    """The host's cgroup directories of these containers (v1 and v2)."""
    found = []
    for container_id in container_ids:
        found += glob.glob('/sys/fs/cgroup/*/docker/%s' % container_id)
        found += glob.glob('/sys/fs/cgroup/docker/%s' % container_id)
    return found


def _cgroup_pids(cgroup):
    try:
        with open(os.path.join(cgroup, 'cgroup.procs')) as f:
            return [int(pid) for pid in f.read().split()]
    except OSError:
        return []
