"""End to end: the one-command cloud, driven only by the openstack CLI.

Brings a cloud up from nothing with ``tools/cloud up`` (its own state
directory, ports and demo subnet, so it runs next to a developer's cloud),
then, as a user would: boots a server on the ``demo`` network, pings it
and opens a TCP connection to its web server from the host, reads its
console log, reads a server's user data, key and properties from its
config drive and, without one, from the metadata service (a second
project's server gets only its own; a server behind a project's router
through the router's proxy, tests/cloud/router.py), logs in to
busybox-ssh servers over SSH with a key pair's key (from the drive, from
the metadata service), stops/starts/reboots it, snapshots it and boots
the snapshot (the page the first server wrote on its first boot comes
back from the second one: boot, change, snapshot, boot the snapshot,
reach its service), shows that the layered Glance store keeps the shared
base layer once, deletes everything, and checks that ``tools/cloud
down`` leaves no process (the DHCP and L3 agents' dnsmasq and haproxy
included), container, namespace (qdhcp, qrouter), veth or OVS port
behind.

Needs root on Debian 12 (it installs Debian packages and a venv the first
time: several minutes). One cloud test at a time per machine (a lock);
settings and helpers in ``tests/cloud/base.py``.
"""
import json
import os
import time

from tests.cloud import base
from tests.cloud import router
from tests.cloud import ssh_image
from tests.cloud.base import log
from tests.cloud.base import sh

PUBLIC_KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2Jq3yqmDhQaQvvRlzQ2h'
              'r7WGDmxCQ9O6Fv1YB5Rvmz pydock-e2e')
USER_DATA = '#!/bin/sh\necho configured by user data\n'


class CloudTest(ssh_image.SshImageSteps, router.RouterSteps,
                base.CloudTestCase):

    def check_config_drive(self):
        """User data, key pair and properties, read back from the drive."""
        script = self.key_pair_and_user_data('e2e-k1', PUBLIC_KEY,
                                             USER_DATA)
        server = self.openstack(
            'server', 'create', '--flavor', 'c1.small', '--image', 'busybox',
            '--network', 'demo', '--user-data', script, '--key-name',
            'e2e-k1', '--property', 'role=web', '--config-drive', 'true',
            '--wait', 'e2e-drive')
        drive_id = server['id']
        latest = '/config-drive/openstack/latest/'
        res = self.in_container(drive_id, 'cat', latest + 'meta_data.json')
        self.assertEqual(0, res.returncode, res.stderr)
        meta = json.loads(res.stdout)
        # As the key file had it, with its newline.
        self.assertEqual({'e2e-k1': PUBLIC_KEY + '\n'}, meta['public_keys'])
        self.assertEqual({'role': 'web'}, meta['meta'])
        self.assertEqual('e2e-drive', meta['name'])
        for path in (latest + 'user_data', '/var/lib/cloud/seed/'
                     'config_drive/openstack/latest/user_data'):
            res = self.in_container(drive_id, 'cat', path)
            self.assertEqual((0, USER_DATA), (res.returncode, res.stdout))
        res = self.in_container(drive_id, 'sh', '-c',
                                'echo x > %suser_data' % latest)
        self.assertIn('Read-only file system', res.stderr)
        drive = os.path.join(self.state, 'nova', 'instances',
                             'pydock-config-drives', drive_id)
        self.assertTrue(os.path.isdir(drive))
        self.openstack('server', 'delete', '--wait', drive_id, parse=False)
        self.assertFalse(os.path.exists(drive))
        log('config drive: key pair, property and user data read back '
            'inside e2e-drive; removed with it')

    def check_metadata_service(self):
        """A server without a config drive reads its user data, key and
        properties from 169.254.169.254 (OpenStack and EC2 paths).

        :returns: the server's ID, fixed IP and project ID
        """
        script = self.key_pair_and_user_data('e2e-k2', PUBLIC_KEY,
                                             USER_DATA)
        first = self.openstack(
            'server', 'create', '--flavor', 'c1.tiny', '--image', 'busybox',
            '--network', 'demo', '--user-data', script, '--key-name',
            'e2e-k2', '--property', 'role=web', '--wait', 'e2e-md')
        self.assertEqual([], self.in_container(
            first['id'], 'ls', '/config-drive').stdout.split())
        meta = json.loads(self.metadata(
            first['id'], 'openstack/latest/meta_data.json'))
        self.assertEqual((first['id'], 'e2e-md', {'role': 'web'},
                          {'e2e-k2': PUBLIC_KEY + '\n'}),
                         (meta['uuid'], meta['name'], meta['meta'],
                          meta['public_keys']))
        self.assertEqual(USER_DATA, self.metadata(
            first['id'], 'openstack/latest/user_data'))
        self.assertEqual(USER_DATA, self.metadata(first['id'],
                                                  'latest/user-data'))
        ec2 = self.metadata(first['id'], 'latest/meta-data/')
        self.assertIn('instance-id', ec2.split())
        self.assertEqual(PUBLIC_KEY, self.metadata(
            first['id'], 'latest/meta-data/public-keys/0/openssh-key'
        ).strip())
        first_ip = self.fixed_ip(first)
        self.assertEqual(first_ip, self.metadata(
            first['id'], 'latest/meta-data/local-ipv4').strip())
        log('metadata service: e2e-md read its key, property and user '
            'data from 169.254.169.254')
        return first['id'], first_ip, meta['project_id']

    def check_metadata_of_other_project(self, first_id, first_ip,
                                        first_project):
        """A server of another project gets its own metadata, never the
        first server's, even when it claims to be the first; then both
        go."""
        other = self.other_project()
        second = self.openstack(
            *other, 'server', 'create', '--flavor', 'c1.tiny', '--image',
            'busybox', '--network', 'demo', '--property', 'role=db',
            '--wait', 'e2e-md-other')
        # Claims to be the first server: the proxy knows it by its port.
        meta = json.loads(self.metadata(
            second['id'], 'openstack/latest/meta_data.json',
            'X-Instance-ID: %s' % first_id, 'X-Instance-ID-Signature: x',
            'X-Tenant-ID: %s' % first_project))
        self.assertEqual((second['id'], {'role': 'db'}),
                         (meta['uuid'], meta['meta']))
        self.assertNotIn('public_keys', meta)
        for path, headers in (
                ('openstack/latest/user_data', []), ('latest/user-data', []),
                # Neutron's agent refuses a forged client address (its
                # haproxy appends the real one): an error, no data
                ('openstack/latest/user_data',
                 ['--header', 'X-Forwarded-For: %s' % first_ip])):
            res = self.in_container(second['id'], 'timeout', '10', 'wget',
                                    '-qO-', *headers, base.METADATA_URL + path)
            self.assertEqual('', res.stdout)
            self.assertIn('server returned error', res.stderr)
        self.openstack('server', 'delete', '--wait', first_id,
                       second['id'], parse=False)
        log('metadata service: a server of project e2e-other got its own '
            'data only')

    # the scenario ------------------------------------------------------------
    def test_cloud_end_to_end(self):
        t0 = time.monotonic()
        self.bring_up(t0)
        self.check_provisioned()
        one, ip = self.boot_first_server()
        self.check_config_drive()
        self.check_metadata_of_other_project(*self.check_metadata_service())
        kept_router = self.check_metadata_through_router()
        self.check_ssh_image()
        self.check_concurrent_requests(one)
        self.check_console_log(one, ip)
        self.check_stop_start_reboot(one, ip)
        self.check_serial_console(one, ip)
        two, ip2 = self.boot_snapshot(one, ip)
        self.check_resize(two, ip2)
        self.check_store_keeps_base_layer_once()
        three = self.check_shell_image_console()
        ports = self.delete_everything(one, two, three)
        self.check_down_leaves_nothing(ports, kept_router, t0)

    # its steps ---------------------------------------------------------------
    def bring_up(self, t0):
        """Up from nothing; a second up changes nothing, starts nothing."""
        self.cloud('up')
        with open(os.path.join(self.state, 'cloud.json')) as f:
            self.settings = json.load(f)
        log('cloud up from nothing: %.0fs' % (time.monotonic() - t0))
        again = self.cloud('up').stdout
        if 'nova-pydock installed' in again:
            # the working tree changed under the test: only the services
            # that load the project start again
            started = again.split('started: ', 1)[1].split(')')[0]
            self.assertLessEqual(set(started.split(', ')),
                                 {'glance-api', 'nova-api', 'nova-compute'})
        else:
            self.assertIn('already running', again)
        self.assertIn('already provisioned', again)
        status = self.cloud('status')
        self.assertEqual(0, status.returncode, status.stdout)

    def check_provisioned(self):
        """What up provisioned: flavors, the two images, demo."""
        flavors = {f['Name'] for f in self.openstack('flavor', 'list')}
        self.assertTrue({'c1.tiny', 'c1.small', 'c1.medium'} <= flavors)
        small = self.openstack('flavor', 'show', 'c1.small')
        self.assertIn('pydock:pids_limit', json.dumps(small['properties']))
        for name in ('busybox', 'busybox-ssh'):
            image = self.openstack('image', 'show', name)
            self.assertEqual(('docker', 'raw', 'active'), (
                image['container_format'], image['disk_format'],
                image['status']))
        net = self.openstack('network', 'show', 'demo')
        self.assertEqual('flat', net['provider:network_type'])

    def boot_first_server(self):
        """1. A server on the demo network, reachable from the host."""
        server = self.openstack(
            'server', 'create', '--flavor', 'c1.small', '--image', 'busybox',
            '--network', 'demo', '--wait', 'e2e-one')
        self.assertEqual('ACTIVE', server['status'])
        one = server['id']
        server = self.openstack('server', 'show', one)
        ip = self.fixed_ip(server)
        log('server e2e-one ACTIVE at %s' % ip)
        self.assertEqual(['running'], self.container_state(one))
        self.ping(ip)
        self.assertIn('hello from e2e-one', self.http_get(ip))
        return one, ip

    def check_concurrent_requests(self, one):
        """SQLite under concurrent requests: writes and reads at once."""
        self.concurrently(
            [['port', 'create', '--network', 'demo', 'e2e-p%d' % i]
             for i in range(3)]
            + [['server', 'list'], ['image', 'list'], ['network', 'list'],
               ['server', 'show', one]])
        self.concurrently([['port', 'delete', 'e2e-p%d' % i]
                           for i in range(3)] + [['port', 'list']])
        log('concurrent port creates/deletes and reads: all answered')

    def check_console_log(self, one, ip):
        """2. The console log."""
        console = self.openstack('console', 'log', 'show', one,
                                 parse=False).stdout
        # the image's banner: its name, the address Neutron gave it,
        # what it serves
        self.assertIn('=== e2e-one', console)
        self.assertIn('address %s/' % ip, console)
        self.assertIn('serving http on port 80', console)

    def check_stop_start_reboot(self, one, ip):
        """3. Stop, start, reboot."""
        self.openstack('server', 'stop', one, parse=False)
        self.wait_server(one, 'SHUTOFF')
        self.assertEqual(['exited'], self.container_state(one))
        self.openstack('server', 'start', one, parse=False)
        self.wait_server(one, 'ACTIVE')
        self.assertEqual(['running'], self.container_state(one))
        self.ping(ip)
        self.openstack('server', 'reboot', one, parse=False)
        self.wait_server(one, 'ACTIVE')
        self.assertIn('hello from e2e-one', self.http_get(ip))
        # the console log keeps every start: the first, start, reboot
        console = self.openstack('console', 'log', 'show', one,
                                 parse=False).stdout
        self.assertEqual(3, console.count('serving http on port 80'),
                         console)
        log('stop/start/reboot done')

    def check_serial_console(self, one, ip):
        """3b. The serial console through nova-serialproxy: a shell in the
        container (the web server keeps running) changes the page."""
        url = self.openstack('console', 'url', 'show', '--serial', one)
        self.assertTrue(url['url'].startswith(
            'ws://127.0.0.1:%d/?token='
            % self.settings['ports']['serialproxy']), url)
        shown = self.console_session(
            one, 'echo changed-by-console >> /www/index.html; '
            'echo done-$((6*7))', 'done-42')
        self.assertIn('a shell of its own', shown)
        page = self.http_get(ip)
        self.assertIn('hello from e2e-one', page)
        self.assertIn('changed-by-console', page)
        log('serial console: a shell changed the served page')

    def boot_snapshot(self, one, ip):
        """4. Snapshot, then boot the snapshot: the page the first server
        wrote on its first boot, and the console's change, are in the image
        and served by the second.
        """
        self.openstack('server', 'image', 'create', '--name', 'e2e-snap',
                       '--wait', one)
        snap = self.openstack('image', 'show', 'e2e-snap')
        self.assertEqual(('docker', 'raw', 'active'), (
            snap['container_format'], snap['disk_format'], snap['status']))
        server = self.openstack(
            'server', 'create', '--flavor', 'c1.small', '--image', 'e2e-snap',
            '--network', 'demo', '--wait', 'e2e-two')
        two = server['id']
        ip2 = self.fixed_ip(self.openstack('server', 'show', two))
        self.assertNotEqual(ip, ip2)
        page = self.http_get(ip2)
        self.assertIn('hello from e2e-one', page)
        self.assertIn('changed-by-console', page)
        log('snapshot booted at %s and serves the first server\'s page' % ip2)
        return two, ip2

    def check_resize(self, two, ip2):
        """4b. Resize: c1.small -> c1.medium changes /dev/shm, which only a
        new container can have; it keeps the files and the address.
        """
        self.openstack('server', 'resize', '--flavor', 'c1.medium',
                       '--wait', two, parse=False)
        self.wait_server(two, 'VERIFY_RESIZE')
        self.assertEqual(['running', 'exited'], self.container_state(two))
        self.openstack('server', 'resize', 'confirm', two, parse=False)
        server = self.wait_server(two, 'ACTIVE')
        self.assertEqual('c1.medium', server['flavor']['name'])
        self.assertEqual(['running'], self.container_state(two))
        self.assertIn('hello from e2e-one', self.http_get(ip2))
        log('e2e-two resized to c1.medium, still serving at %s' % ip2)

    def check_store_keeps_base_layer_once(self):
        """5. The layered store keeps the shared base layer once."""
        report = sh(
            [os.path.join(self.settings['venv'], 'bin',
                          'glance-store-layers-report'),
             '--datadir', os.path.join(self.state, 'glance', 'layers'),
             '--json'])
        self.addDetail_text('store report', report.stdout + report.stderr)
        self.assertEqual(0, report.returncode, report.stderr)
        figures = json.loads(report.stdout)
        # busybox, busybox-ssh and the snapshot of e2e-one
        self.assertEqual(3, figures['images'])
        self.assertGreaterEqual(figures['shared_blobs'], 1)
        self.assertLess(figures['stored_bytes'], figures['logical_bytes'])
        log('store: %d images, %d blobs (%d shared), %d logical bytes in '
            '%d stored' % (figures['images'], figures['blobs'],
                           figures['shared_blobs'], figures['logical_bytes'],
                           figures['stored_bytes']))

    def check_shell_image_console(self):
        """5b. A shell image: the console is the server's own terminal, and
        exit in it shuts the server off.

        :returns: the server's ID
        """
        archive = os.path.join(self.state, 'busybox.tar')
        self.openstack('image', 'save', '--file', archive, 'busybox',
                       parse=False)
        self.openstack('image', 'create', '--container-format', 'docker',
                       '--disk-format', 'raw', '--file', archive,
                       '--property', 'os_command_line=/bin/sh', 'e2e-shell')
        three = self.openstack(
            'server', 'create', '--flavor', 'c1.tiny', '--image',
            'e2e-shell', '--network', 'demo', '--wait', 'e2e-shell')['id']
        shown = self.console_session(three, 'echo terminal-$((2*9)); exit',
                                     'terminal-18', leave=False)
        self.assertIn("the server's own terminal", shown)
        self.wait_server(three, 'SHUTOFF')
        self.assertEqual(['exited'], self.container_state(three))
        log('shell image: exit on its console shut e2e-shell off')
        return three

    def delete_everything(self, one, two, three):
        """6. Delete everything; the servers' ports leave no device.

        :returns: the IDs of the ports the servers had
        """
        dhcp = {p['ID'] for p in self.openstack(
            'port', 'list', '--network', 'demo', '--device-owner',
            'network:dhcp')}
        ports = [p['ID'] for p in self.openstack('port', 'list',
                                                 '--network', 'demo')
                 if p.get('Fixed IP Addresses') and p['ID'] not in dhcp]
        self.openstack('server', 'delete', '--wait', one, two, three,
                       parse=False)
        self.openstack('image', 'delete', 'e2e-snap', 'e2e-shell',
                       parse=False)
        self.assertEqual([], self.openstack('server', 'list'))
        self.assertEqual([], self.container_state(one)
                         + self.container_state(two)
                         + self.container_state(three))
        devices = sh(['ip', '-o', 'link']).stdout
        for port in ports:
            self.assertNotIn(port[:11], devices)
        # The DHCP port goes with down (its namespace, its veth).
        self.assertEqual(1, len(dhcp))
        return ports + sorted(dhcp)

    def check_down_leaves_nothing(self, ports, kept_router, t0):
        """7. Down leaves no process (dnsmasq and haproxy of the DHCP
        and L3 agents included), container, namespace, veth or OVS
        port."""
        s = self.settings
        demo = self.openstack('network', 'show', 'demo')['id']
        ours = ('qdhcp-' + demo, 'qrouter-' + kept_router)
        self.wait_router_proxy(ours[1])
        for namespace in ours:
            self.assertIn(namespace, sh(['ip', 'netns', 'list']).stdout)
        self.cloud('down')
        for namespace in ours:
            self.assertNotIn(namespace, sh(['ip', 'netns', 'list']).stdout)
        deadline = time.monotonic() + 30
        while self.our_processes() and time.monotonic() < deadline:
            time.sleep(1)
        self.assertEqual([], self.our_processes())
        containers = sh(['docker', 'ps', '-aq', '--filter',
                         'label=org.openstack.nova.compute-host=%s'
                         % s['host']]).stdout.split()
        self.assertEqual([], containers)
        bridges = sh(['ovs-vsctl', 'list-br']).stdout
        self.assertNotIn(s['int_bridge'], bridges.split())
        self.assertNotIn(s['phys_bridge'], bridges.split())
        self.assertNotIn(s['tun_bridge'], bridges.split())
        self.assertNotIn(s['underlay_bridge'], bridges.split())
        ovs_ports = sh(['ovs-vsctl', '--columns=name', 'list',
                        'Interface']).stdout
        devices = sh(['ip', '-o', 'link']).stdout
        for port in ports:
            self.assertNotIn(port[:11], ovs_ports)
            self.assertNotIn(port[:11], devices)
        self.assertNotIn(s['host_port'], devices)
        self.assertNotEqual(0, self.cloud('status').returncode)
        log('down left no process, container, namespace, veth or OVS '
            'port; total '
            '%.0fs' % (time.monotonic() - t0))
