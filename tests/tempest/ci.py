"""CI's Tempest subset: a cloud of its own, the tests of ci.txt, no trace.

Brings a cloud up from nothing with ``tools/cloud up`` in a fresh state
directory, runs ``run.py --subset ci`` against it, and always brings it
down again (``tools/cloud down --purge``). Its ports, subnet and bridges
are its own (port offset 700, 198.19.70.0/24: never the end-to-end cloud
test's 100 and 198.19.200.0/24), so a cloud the other left behind cannot
get in its way. It shares that test's machine-wide lock and services'
venv (tests/cloud/base.py): the lock keeps the two from reinstalling the
venv under each other, and CI installs it only once. Prints Tempest's
`` - Passed: N`` / `` - Failed: N`` lines, which tools/run-tests adds
up; a cloud that does not come up is `` - Failed: 1``.

Environment: PYDOCK_TEMPEST_CI_OFFSET (default 700),
PYDOCK_TEMPEST_CI_SUBNET (default 198.19.70.0/24), PYDOCK_CLOUD_TEST_VENV
(the end-to-end test's, default /opt/pydock-cloud/venv-e2e).
"""
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLOUD = os.path.join(ROOT, 'tools', 'cloud')
LOCK = '/var/lock/pydock-cloud-test.lock'
sys.path.insert(0, HERE)
import run  # noqa: E402


def cloud_env(state):
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env.update(
        PYDOCK_CLOUD_DIR=state,
        PYDOCK_CLOUD_PORT_OFFSET=os.environ.get(
            'PYDOCK_TEMPEST_CI_OFFSET', '700'),
        PYDOCK_CLOUD_SUBNET=os.environ.get(
            'PYDOCK_TEMPEST_CI_SUBNET', '198.19.70.0/24'),
        PYDOCK_CLOUD_VENV=os.environ.get(
            'PYDOCK_CLOUD_TEST_VENV', '/opt/pydock-cloud/venv-e2e'),
        PYDOCK_CLOUD_NAME='pydock-tempest-ci',
        PYDOCK_CLOUD_SOURCE='worktree')
    return env


def main():
    if os.geteuid() != 0:
        print('tempest-ci: needs root (tools/cloud)', file=sys.stderr)
        print(' - Failed: 1')
        return 1
    os.makedirs(os.path.dirname(LOCK), exist_ok=True)
    with open(LOCK, 'w') as lock:
        print('tempest-ci: waiting for the machine-wide cloud test lock',
              flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = tempfile.mkdtemp(prefix='pydock-tempest-ci-',
                                 dir='/var/tmp')
        env = cloud_env(state)
        try:
            up = subprocess.run([CLOUD, 'up'], env=env, check=False)
            if up.returncode != 0:
                print('tempest-ci: tools/cloud up failed (%d)'
                      % up.returncode)
                print(' - Failed: 1')
                return 1
            return subprocess.run(
                [sys.executable, os.path.join(HERE, 'run.py'),
                 '--subset', 'ci', '--concurrency', '2',
                 '--cloud-dir', state], env=env, check=False).returncode
        finally:
            subprocess.run([CLOUD, 'down', '--purge'], env=env, check=False)
            subprocess.run(['tempest', 'workspace', 'remove', '--name',
                            run.workspace_name(state)], check=False,
                           capture_output=True)
            shutil.rmtree(state, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
