"""The cloud test's steps for the busybox-ssh image (tools/cloud.d/
provision.py): a user logs in over SSH with the key pair's key, which the
image takes from the config drive, or else from the metadata service."""
import os
import time

from tests.cloud.base import log
from tests.cloud.base import sh

SSH_TRIES = 40


class SshImageSteps:
    """Mixed into the cloud test (needs its ``openstack``, ``state``)."""

    def ssh(self, key, ip, command):
        """``command``'s output over SSH as root; retried while the server
        starts its SSH server (bounded: SSH_TRIES, 5 s to connect)."""
        options = ('BatchMode=yes', 'StrictHostKeyChecking=no',
                   'UserKnownHostsFile=/dev/null', 'ConnectTimeout=5',
                   'LogLevel=ERROR')
        argv = ['ssh', '-i', key]
        for option in options:
            argv += ['-o', option]
        argv += ['root@' + ip, command]
        res = None
        for _ in range(SSH_TRIES):
            res = sh(argv, timeout=60)
            if res.returncode == 0:
                return res.stdout
            time.sleep(1)
        self.fail('no SSH login to %s: %s' % (ip, res.stderr[-500:]))

    def check_ssh_image(self):
        """busybox-ssh: root logs in with the key pair's key, taken from
        the config drive of one server and the metadata service of the
        other; its console says where the key came from."""
        key = os.path.join(self.state, 'e2e-ssh-key')
        for path in (key, key + '.pub'):
            if os.path.exists(path):
                os.unlink(path)
        res = sh(['ssh-keygen', '-q', '-t', 'ecdsa', '-b', '384', '-N', '',
                  '-C', 'pydock-e2e-ssh', '-f', key])
        self.assertEqual(0, res.returncode, res.stderr)
        self.openstack('keypair', 'create', '--public-key', key + '.pub',
                       'e2e-ssh')
        for name, drive, source in (
                ('e2e-ssh-drive', 'true', 'config drive'),
                ('e2e-ssh-md', 'false', 'metadata service')):
            server = self.openstack(
                'server', 'create', '--flavor', 'c1.tiny', '--image',
                'busybox-ssh', '--network', 'demo', '--key-name', 'e2e-ssh',
                '--config-drive', drive, '--wait', name)
            self.assertEqual(name, self.ssh(key, self.fixed_ip(server),
                                            'hostname').strip())
            self.assertEqual('0', self.ssh(key, self.fixed_ip(server),
                                           'sudo id -u').strip())
            console = self.openstack('console', 'log', 'show', server['id'],
                                     parse=False).stdout
            self.assertIn('1 key(s) from the %s' % source, console)
            self.openstack('server', 'delete', '--wait', server['id'],
                           parse=False)
            log('busybox-ssh: root logged in to %s with the key from the %s'
                % (name, source))
        self.openstack('keypair', 'delete', 'e2e-ssh', parse=False)
