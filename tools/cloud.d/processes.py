"""Processes of tools/cloud: commands, services by PID file, liveness.

A service is started in a session of its own (its process group is the
one to signal), its output appended to ``log/<name>.out``, and its PID
file ``run/<name>.pid`` records the PID with the process's start time
(``/proc/<pid>/stat``), so a PID the kernel gave to another process
later is never signalled. Liveness checks ("heartbeats") are the services
table's health checks: an HTTP answer, a TCP port, a unix socket.
"""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

#: Seconds a service gets between SIGTERM and SIGKILL by default.
STOP_GRACE = 20


class CloudError(Exception):
    pass


def info(text):
    print('      ' + text, flush=True)


def run(argv, check=True, env=None, timeout=900, input=None):  # noqa: A002
    """Run a command; on failure raise CloudError with its output."""
    res = subprocess.run(argv, check=False, capture_output=True, text=True,
                         env=env, timeout=timeout, input=input)
    if check and res.returncode != 0:
        raise CloudError('%s failed (exit %d):\n%s%s' % (
            ' '.join(argv), res.returncode, res.stdout[-3000:],
            res.stderr[-3000:]))
    return res


# -- /proc -------------------------------------------------------------------

def _stat(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None
    fields = data.rsplit(')', 1)[1].split()
    return {'state': fields[0], 'pgrp': int(fields[2]),
            'start': int(fields[19])}


def alive(pid, start=None):
    st = _stat(pid)
    if st is None or st['state'] in ('Z', 'X'):
        return False
    return start is None or st['start'] == start


def group_pids(pgid):
    pids = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            st = _stat(int(entry))
            if st and st['pgrp'] == pgid and st['state'] not in ('Z', 'X'):
                pids.append(int(entry))
    return pids


def pss_kb(pid):
    """Proportional set size: shared pages counted once over all users."""
    try:
        with open('/proc/%d/smaps_rollup' % pid) as f:
            for line in f:
                if line.startswith('Pss:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pid_record(pidfile):
    """[pid, start time] of the process a pidfile names, or None."""
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    st = _stat(pid)
    if st is None or st['state'] in ('Z', 'X'):
        return None
    return [pid, st['start']]


def stop_records(records, grace=30):
    """SIGTERM the recorded processes (if still the same), wait, KILL."""
    live = [r for r in records if r and alive(r[0], r[1])]
    for pid, _start in live:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(*r) for r in live):
        time.sleep(0.3)
    for pid, start in live:
        if alive(pid, start):
            os.kill(pid, signal.SIGKILL)
    return bool(live)


# -- health checks -----------------------------------------------------------

def port_open(port, host='127.0.0.1'):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def port_open_unix(path):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.settimeout(2)
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def http_ready(url):
    try:
        urllib.request.urlopen(url, timeout=5).close()  # noqa: S310
        return True
    except urllib.error.HTTPError:
        return True  # it answers: 300, 401 ... all mean "up"
    except (urllib.error.URLError, OSError):
        return False


def check_port_free(port, who, wait=20):
    """Fail unless ``port`` is free, after up to ``wait`` seconds: the
    program holding it may be on its way out (a cloud on the same ports
    that was just brought down: its Erlang port mapper outlives
    RabbitMQ briefly)."""
    deadline = time.monotonic() + wait
    while port_open(port) and time.monotonic() < deadline:
        time.sleep(1)
    if port_open(port):
        raise CloudError(
            '127.0.0.1:%d (for %s) is taken by another program; stop it, or '
            'use another PYDOCK_CLOUD_PORT_OFFSET with a fresh '
            'PYDOCK_CLOUD_DIR' % (port, who))


# -- services by PID file ----------------------------------------------------

class Processes:
    """The cloud's service processes, by their PID files in ``run_dir``."""

    def __init__(self, run_dir, log_dir, cwd):
        self.run_dir, self.log_dir, self.cwd = run_dir, log_dir, cwd

    def _pidfile(self, name):
        return os.path.join(self.run_dir, name + '.pid')

    def record(self, name):
        try:
            with open(self._pidfile(name)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def running(self, name):
        rec = self.record(name)
        return bool(rec) and alive(rec['pid'], rec['start'])

    def spawn(self, name, argv, env=None):
        os.makedirs(self.run_dir, exist_ok=True)
        os.makedirs(self.log_dir, exist_ok=True)
        full_env = dict(os.environ)
        full_env.pop('OS_CLOUD', None)
        full_env.update(env or {})
        with open(os.path.join(self.log_dir, name + '.out'), 'ab') as out:
            out.write(('\n=== %s start: %s\n' % (
                time.strftime('%Y-%m-%d %H:%M:%S'), ' '.join(argv))).encode())
            out.flush()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT,
                                    env=full_env, cwd=self.cwd,
                                    start_new_session=True)
        st = _stat(proc.pid)
        with open(self._pidfile(name), 'w') as f:
            json.dump({'pid': proc.pid, 'start': st['start'] if st else None,
                       'time': time.time(), 'argv': argv}, f)
        return proc

    def stop_many(self, names, grace=None, leader_only=()):
        """SIGTERM the process groups of ``names`` together (of those in
        ``leader_only``, the main process alone: it stops its children
        itself), wait up to their grace (``grace``: name -> seconds,
        STOP_GRACE otherwise), SIGKILL what is left. Returns the names
        that were running."""
        grace = grace or {}
        groups = {}
        for name in names:
            rec = self.record(name)
            if not rec:
                continue
            if alive(rec['pid'], rec['start']):
                groups[name] = (rec['pid'], group_pids(rec['pid']))
                try:
                    if name in leader_only:
                        os.kill(rec['pid'], signal.SIGTERM)
                    else:
                        os.killpg(rec['pid'], signal.SIGTERM)
                except ProcessLookupError:
                    pass
        start = time.monotonic()
        while True:
            now = time.monotonic() - start
            waiting = [n for n, (_pgid, pids) in groups.items()
                       if now < grace.get(n, STOP_GRACE)
                       and any(alive(p) for p in pids)]
            if not waiting:
                break
            time.sleep(0.2)
        for pgid, pids in groups.values():
            _kill_group(pgid, pids)
        for name in names:
            if os.path.exists(self._pidfile(name)):
                os.unlink(self._pidfile(name))
        return list(groups)

    def tail(self, name, lines=25):
        out = []
        for suffix in ('.out', '.log'):
            path = os.path.join(self.log_dir, name + suffix)
            if os.path.exists(path):
                with open(path, errors='replace') as f:
                    out.append('--- %s\n%s' % (
                        path, ''.join(f.readlines()[-lines:])))
        return '\n'.join(out)

    def wait(self, name, check, timeout):
        """Until ``check()`` says yes; fails when ``name`` exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if not self.running(name):
                raise CloudError('%s exited while starting:\n%s'
                                 % (name, self.tail(name)))
            time.sleep(0.3)
        raise CloudError('%s did not come up in %ds:\n%s'
                         % (name, timeout, self.tail(name)))

    def memory_kb(self, names):
        """PSS in all and per running service of ``names``."""
        total, per = 0, {}
        for name in names:
            rec = self.record(name)
            if rec and alive(rec['pid'], rec['start']):
                kb = sum(pss_kb(p) for p in group_pids(rec['pid']))
                per[name] = kb
                total += kb
        return total, per


def _kill_group(pgid, pids):
    for p in set(group_pids(pgid) + [p for p in pids if alive(p)]):
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.waitpid(pgid, os.WNOHANG)
    except ChildProcessError:
        pass
