"""CI's cloud of its own, brought up once for the suites that need one.

    python tests/ci_cloud.py SUITE [SUITE ...]    (tempest, browser)

Brings a cloud up from nothing with ``tools/cloud up`` in a fresh state
directory, runs each SUITE against it in the order given, and always
brings it down again (``tools/cloud down --purge``):

- ``tempest``: CI's Tempest subset (tests/tempest/ci.txt, through
  tests/tempest/run.py);
- ``browser``: the browser suite's core (tests/browser/ci.txt) in
  headless Chromium; the suite finds the cloud up and leaves it running.

``tox -e tempest-ci`` runs the first alone, ``tox -e tempest-browser-ci``
(CI) both: one cloud's ``up`` and ``down`` fewer than two envs of a cloud
each. Its ports, subnet and bridges are its own (port offset 700,
198.19.70.0/24: never the end-to-end cloud test's 100 and
198.19.200.0/24), so a cloud the other left behind cannot get in its way.
It holds that test's machine-wide lock and uses its services' venv
(tests/cloud/base.py): the lock keeps the two from reinstalling the venv
under each other, and CI installs it only once.

Every suite prints its `` - Passed: N`` / `` - Failed: N`` lines, which
tools/run-tests adds up; a cloud that does not come up is one failure
for each suite it was for, and a suite that ends in error without a
failure counted is one failure.

Environment: PYDOCK_CI_CLOUD_OFFSET (default 700), PYDOCK_CI_CLOUD_SUBNET
(default 198.19.70.0/24), PYDOCK_CLOUD_TEST_VENV (the end-to-end test's,
default /opt/pydock-cloud/venv-e2e).
"""
import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLOUD = os.path.join(ROOT, 'tools', 'cloud')
LOCK = '/var/lock/pydock-cloud-test.lock'
sys.path.insert(0, os.path.join(HERE, 'tempest'))
import run as tempest_run  # noqa: E402

FAILED = re.compile(r'^ - Failed: ([0-9]+)')


class CloudUpError(Exception):
    pass


def cloud_env(state):
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env.update(
        PYDOCK_CLOUD_DIR=state,
        PYDOCK_CLOUD_PORT_OFFSET=os.environ.get(
            'PYDOCK_CI_CLOUD_OFFSET', '700'),
        PYDOCK_CLOUD_SUBNET=os.environ.get(
            'PYDOCK_CI_CLOUD_SUBNET', '198.19.70.0/24'),
        PYDOCK_CLOUD_VENV=os.environ.get(
            'PYDOCK_CLOUD_TEST_VENV', '/opt/pydock-cloud/venv-e2e'),
        PYDOCK_CLOUD_NAME='pydock-ci',
        PYDOCK_CLOUD_SOURCE='worktree')
    return env


def say(text):
    print('ci-cloud [%s]: %s' % (time.strftime('%H:%M:%S'), text),
          flush=True)


@contextlib.contextmanager
def ci_cloud(timings):
    """A cloud up from nothing under the machine-wide lock: yields its
    state directory and environment; down --purge whatever happens."""
    os.makedirs(os.path.dirname(LOCK), exist_ok=True)
    with open(LOCK, 'w') as lock:
        say('waiting for the machine-wide cloud test lock')
        t = time.monotonic()
        fcntl.flock(lock, fcntl.LOCK_EX)
        timings['waiting for the lock'] = time.monotonic() - t
        state = tempfile.mkdtemp(prefix='pydock-ci-cloud-', dir='/var/tmp')
        env = cloud_env(state)
        try:
            t = time.monotonic()
            up = subprocess.run([CLOUD, 'up'], env=env, check=False)
            timings['tools/cloud up'] = time.monotonic() - t
            if up.returncode != 0:
                raise CloudUpError('tools/cloud up failed (%d)'
                                   % up.returncode)
            yield state, env
        finally:
            t = time.monotonic()
            subprocess.run([CLOUD, 'down', '--purge'], env=env, check=False)
            subprocess.run(['tempest', 'workspace', 'remove', '--name',
                            tempest_run.workspace_name(state)], check=False,
                           capture_output=True)
            shutil.rmtree(state, ignore_errors=True)
            timings['tools/cloud down --purge'] = time.monotonic() - t


def suite_argv(suite, state):
    if suite == 'tempest':
        return [sys.executable, os.path.join(HERE, 'tempest', 'run.py'),
                '--subset', 'ci', '--concurrency', '2', '--cloud-dir', state]
    return [os.path.join(os.path.dirname(sys.executable), 'stestr'),
            '--test-path=./tests/browser', '--top-dir=./', 'run',
            '--concurrency=1', '--include-list',
            os.path.join(HERE, 'browser', 'ci.txt')]


def run_suite(suite, state, env):
    """Run one suite, its output passed on; returns its exit status."""
    env = dict(env, PYDOCK_BROWSER_CLOUD_DIR=state)
    proc = subprocess.Popen(suite_argv(suite, state), cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    counted = 0
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        match = FAILED.match(line)
        counted += int(match.group(1)) if match else 0
    rc = proc.wait()
    if rc != 0 and counted == 0:
        say('%s ended in error (%d) with no failure counted' % (suite, rc))
        print(' - Failed: 1', flush=True)
    return rc


def main(suites):
    if not suites or set(suites) - {'tempest', 'browser'}:
        print(__doc__.split('\n\n')[1], file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        say('needs root (tools/cloud)')
        print(' - Failed: %d' % len(suites))
        return 1
    timings, status = {}, 0
    try:
        with ci_cloud(timings) as (state, env):
            for suite in suites:
                t = time.monotonic()
                status |= run_suite(suite, state, env) != 0
                timings[suite] = time.monotonic() - t
    except CloudUpError as exc:
        say(str(exc))
        print(' - Failed: %d' % len(suites))
        status = 1
    for what, seconds in timings.items():
        say('timing: %-26s %6.0f s' % (what, seconds))
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
