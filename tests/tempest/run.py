"""Run Tempest's compute API tests against a running tools/cloud cloud.

    python tests/tempest/run.py [--subset ci] [--concurrency N]
                                [--regex R] [--write-conf-only]

Reads the cloud that ``PYDOCK_CLOUD_DIR`` names (default
/var/lib/pydock-cloud): its cloud.json, clouds.yaml and service
configuration, and the image, flavors and network ``tools/cloud up``
provisioned (through the cloud's own ``openstack`` client). Writes a
Tempest workspace in ``<cloud dir>/tempest`` with that tempest.conf and
runs ``tempest run`` there, with the exclusion list ``exclude.txt``
beside this file (and, for ``--subset ci``, the tests ``ci.txt`` names).
Tempest's own closing lines (`` - Passed: N``, `` - Failed: N``) are what
tools/run-tests adds up.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tempest_conf  # noqa: E402

DEFAULT_CLOUD_DIR = '/var/lib/pydock-cloud'
EXCLUDE_LIST = os.path.join(HERE, 'exclude.txt')
SUBSETS = {'ci': os.path.join(HERE, 'ci.txt')}
ALL_COMPUTE = r'^tempest\.api\.compute\.'
#: Service -> its configuration file in the cloud's etc/.
SERVICE_CONFS = {
    'nova': 'nova/nova.conf', 'neutron': 'neutron/neutron.conf',
    'glance': 'glance/glance-api.conf', 'keystone': 'keystone/keystone.conf',
    'placement': 'placement/placement.conf',
}


class CloudNotReadyError(Exception):
    pass


def read_cloud(cloud_dir):
    """(cloud.json, its clouds.yaml entry) of the cloud in ``cloud_dir``."""
    settings_path = os.path.join(cloud_dir, 'cloud.json')
    clouds_path = os.path.join(cloud_dir, 'clouds.yaml')
    for path in (settings_path, clouds_path):
        if not os.path.exists(path):
            raise CloudNotReadyError(
                '%s is missing: is there a cloud in %s? (tools/cloud up '
                'with the same PYDOCK_CLOUD_DIR)' % (path, cloud_dir))
    with open(settings_path) as f:
        settings = json.load(f)
    with open(clouds_path) as f:
        clouds = yaml.safe_load(f)['clouds']
    return settings, clouds[settings['name']]


def service_confs(cloud_dir):
    texts = {}
    for service, path in SERVICE_CONFS.items():
        full = os.path.join(cloud_dir, 'etc', path)
        if os.path.exists(full):
            with open(full) as f:
                texts[service] = f.read()
    return texts


def openstack(settings, cloud_dir, *args):
    """The parsed JSON output of the cloud's own ``openstack`` client."""
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env.update(OS_CLIENT_CONFIG_FILE=os.path.join(cloud_dir, 'clouds.yaml'),
               OS_CLOUD=settings['name'])
    argv = [os.path.join(settings['venv'], 'bin', 'openstack')]
    res = subprocess.run(argv + list(args) + ['-f', 'json'], env=env,
                         check=False, capture_output=True, text=True,
                         timeout=300)
    if res.returncode != 0:
        raise CloudNotReadyError('openstack %s failed: %s'
                                 % (' '.join(args), res.stderr.strip()))
    return json.loads(res.stdout)


def provisioned(settings, cloud_dir):
    """Ids of the image, flavors and network tools/cloud provisions."""
    def one_id(kind, name):
        return openstack(settings, cloud_dir, kind, 'show', name)['id']
    extensions = openstack(settings, cloud_dir, 'extension', 'list',
                           '--network')
    return {
        # busybox plus an SSH server: Tempest logs in to its servers.
        'image': one_id('image', 'busybox-ssh'),
        'flavor': one_id('flavor', 'c1.small'),
        'flavor_alt': one_id('flavor', 'c1.medium'),
        'network': 'demo',
        'network_extensions': sorted(e['Alias'] for e in extensions),
    }


def workspace_name(cloud_dir):
    """The workspace's name in ~/.tempest/workspace.yaml: one per cloud
    directory (Tempest refuses a name that is taken)."""
    digest = hashlib.sha256(cloud_dir.encode()).hexdigest()[:8]
    return 'pydock-%s-%s' % (os.path.basename(cloud_dir), digest)


def write_workspace(cloud_dir):
    """The Tempest workspace of this cloud, with a current tempest.conf."""
    workspace = os.path.join(cloud_dir, 'tempest')
    if not os.path.exists(os.path.join(workspace, '.stestr.conf')):
        subprocess.run(['tempest', 'init', '--name',
                        workspace_name(cloud_dir), workspace], check=True)
    settings, auth = read_cloud(cloud_dir)
    conf = tempest_conf.build(auth,
                              provisioned(settings, cloud_dir),
                              service_confs(cloud_dir), workspace)
    path = os.path.join(workspace, 'etc', 'tempest.conf')
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
              'w') as f:
        conf.write(f)
    return workspace


def tempest_argv(args):
    argv = ['tempest', 'run', '--concurrency', str(args.concurrency),
            '--exclude-list', EXCLUDE_LIST]
    if args.subset:
        argv += ['--include-list', SUBSETS[args.subset]]
    else:
        argv += ['--regex', args.regex or ALL_COMPUTE]
    return argv


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cloud-dir', default=os.environ.get(
        'PYDOCK_CLOUD_DIR', DEFAULT_CLOUD_DIR))
    parser.add_argument('--concurrency', type=int, default=2)
    parser.add_argument('--subset', choices=sorted(SUBSETS))
    parser.add_argument('--regex', help='tests to run (default: %s)'
                        % ALL_COMPUTE)
    parser.add_argument('--write-conf-only', action='store_true')
    args = parser.parse_args(argv)
    try:
        workspace = write_workspace(os.path.abspath(args.cloud_dir))
    except (CloudNotReadyError, subprocess.CalledProcessError) as exc:
        print('tempest: %s' % exc, file=sys.stderr)
        print(' - Failed: 1')
        return 1
    print('tempest: workspace %s' % workspace, flush=True)
    if args.write_conf_only:
        return 0
    return subprocess.run(tempest_argv(args), cwd=workspace,
                          check=False).returncode


if __name__ == '__main__':
    sys.exit(main())
