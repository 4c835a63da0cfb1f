"""Two compute hosts in the one-command cloud: migrate, revert, evacuate.

``tools/cloud up --computes 2`` from nothing (host 2 has a private
engine, its own nova-compute and OVS agent), then, through the openstack
CLI as an admin would:

1. a server on each host; the host reaches both, one reaches the other;
   on a project (VXLAN) network, a server on host 2 reaches one on host 1
   through the tunnel between the hosts' OVS agents;
2. cold migration of the host-2 server whose served page was changed,
   then ``resize confirm``: the changed page comes back over HTTP on the
   same fixed IP, from host 1; nothing of it stays on host 2 or in Glance;
3. cold migration of the host-1 server to host 2, then ``resize revert``:
   back on host 1, reachable, nothing of it on host 2;
4. evacuate: host 2 goes down as its machine would (``tools/cloud down
   --host``), is forced down, its server is evacuated: ACTIVE on host 1
   from its image, reachable on its IP. Host 2 comes back (``tools/cloud
   up``): its nova-compute removes the stale copy and the server keeps
   answering;
5. ``tools/cloud down``: no process, container, engine, veth or OVS
   bridge of either host is left.

About 10 minutes here, a suite of its own (``tox -e cloud-hosts``,
not yet in tools/run-tests: one evacuation in seven runs stayed on its
dead host, see the README). Same settings as
tests/cloud (base.py): its port offset and subnet, one after the other
under the machine-wide lock.
"""
import importlib.util
import json
import os
import socket
import time

from tests.cloud import base

HOSTS = os.path.join(base.ROOT, 'tools', 'cloud.d', 'hosts.py')
#: API microversions: force-down by service ID (2.53; the client's 2.11
#: call answers an error for a success), evacuate left ACTIVE (2.29)
FORCE_DOWN = ('--os-compute-api-version', '2.53')
EVACUATE = ('--os-compute-api-version', '2.29')
#: the project network's subnet: inside its VXLAN segment only
VXLAN_SUBNET = '198.18.250.0/24'


def _hosts_module():
    spec = importlib.util.spec_from_file_location('cloud_hosts', HOSTS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TwoHostsTest(base.CloudTestCase):

    def test_two_hosts(self):
        t0 = time.monotonic()
        self.cloud('up', '--computes', '2')
        self.load_settings()
        one, two = self.boot_on_each_host()
        self.check_project_network()
        self.check_migrate_confirm(two)
        self.check_migrate_revert(one)
        three = self.check_evacuate()
        ports = self.port_ids()
        self.openstack('server', 'delete', '--wait', one['id'], two['id'],
                       three['id'], parse=False)
        self.check_down_leaves_nothing_on_hosts(ports)
        base.log('two hosts: total %.0fs' % (time.monotonic() - t0))

    # helpers -----------------------------------------------------------------
    def load_settings(self):
        with open(os.path.join(self.state, 'cloud.json')) as f:
            self.settings = json.load(f)
        self.hosts_mod = _hosts_module()
        self.hosts = self.hosts_mod.compute_hosts(self.settings, self.state)
        self.assertEqual(2, len(self.hosts))
        status = self.cloud('status').stdout
        for host in self.hosts:
            self.assertIn('compute host %s: engine %s' % (
                host.name, host.engine_socket), status)

    def containers_on(self, host, server_id):
        """States of the server's containers in ``host``'s engine."""
        res = base.sh(self.hosts_mod.docker_argv(host) + [
            'ps', '-a', '--filter',
            'label=org.openstack.nova.instance-uuid=%s' % server_id,
            '--format', '{{.State}}'])
        return res.stdout.split()

    def wait_gone(self, host, server_id, timeout=120):
        """Until ``host``'s engine has no container of the server (Nova
        confirms and cleans up after the API answered)."""
        deadline = time.monotonic() + timeout
        while self.containers_on(host, server_id):
            if time.monotonic() > deadline:
                self.fail('%s still has a container of %s after %ds: %s'
                          % (host.name, server_id, timeout,
                             self.containers_on(host, server_id)))
            time.sleep(2)

    def server_on(self, name, host, status='ACTIVE'):
        server = self.wait_server(name, status)
        if server['OS-EXT-SRV-ATTR:host'] != host.name:
            self.fail('%s is %s on %s, not on %s; its last action: %s' % (
                name, status, server['OS-EXT-SRV-ATTR:host'], host.name,
                self.last_action(server['id'])))
        return server

    def last_action(self, server_id):
        """The server's last instance action and its events: why a move
        left it where it was (Nova keeps an evacuated server ACTIVE on
        its old host when the destination's claim fails). The compute
        logs go in the details: the cloud is purged after the test."""
        for name in ('nova-compute', 'nova-conductor'):
            path = os.path.join(self.state, 'log', name + '.log')
            if os.path.exists(path):
                with open(path) as f:
                    self.addDetail_text(name + ' log', f.read()[-20000:])
        actions = self.openstack('server', 'event', 'list', server_id)
        if not actions:
            return 'none'
        last = max(actions, key=lambda a: a['Start Time'])
        return json.dumps(self.openstack(
            'server', 'event', 'show', server_id, last['Request ID']))

    def exec_in(self, host, server_id, *command):
        return base.sh(self.hosts_mod.docker_argv(host) + [
            'exec', 'nova-%s' % server_id] + list(command))

    def reachable_after(self, ip, since, timeout=60):
        """Seconds from ``since`` (monotonic) until ``ip`` takes a TCP
        connection on port 80 (polled every 0.1 s): how long a moved
        server stays unreachable from the host."""
        deadline = since + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((ip, 80), timeout=0.3):
                    return time.monotonic() - since
            except OSError:
                time.sleep(0.1)
        self.fail('%s unreachable for %ds after its move' % (ip, timeout))

    def port_ids(self):
        return [p['ID'] for p in self.openstack('port', 'list', '--network',
                                                'demo')
                if p.get('Fixed IP Addresses')]

    def boot_on(self, name, host, flavor, network):
        """A busybox server on ``host``, ACTIVE; its details."""
        self.openstack('server', 'create', '--flavor', flavor, '--image',
                       'busybox', '--network', network,
                       '--availability-zone', 'nova:' + host.name,
                       '--wait', name)
        return self.server_on(name, host)

    def assertPageFrom(self, host, client, server, expected):
        """``client`` (on ``host``) fetches ``server``'s page."""
        res = self.exec_in(host, client['id'], 'sh', '-c',
                           'printf "GET / HTTP/1.0\\r\\n\\r\\n" | '
                           'nc -w 5 %s 80' % server['ip'])
        self.assertIn(expected, res.stdout, res.stderr)

    def assertTunnelPorts(self):
        """Each host's tunnel bridge has its tunnels to the others, named
        after both ends (tools/cloud.d/ovs_agent.py: Neutron's names
        clash on one Open vSwitch from three hosts on)."""
        for host in self.hosts:
            ports = base.sh(['ovs-vsctl', 'list-ports',
                             host.tun_bridge]).stdout.split()
            wanted = [self.hosts_mod.tunnel_port_name(
                'vxlan', host.tunnel_ip, other.tunnel_ip)
                for other in self.hosts if other is not host]
            self.assertEqual([], sorted(set(wanted) - set(ports)), ports)

    # the steps ---------------------------------------------------------------
    def boot_on_each_host(self):
        """1. A server on each host, reachable; host 1's reaches host 2's."""
        made = []
        for name, host in (('h-one', self.hosts[0]),
                           ('h-two', self.hosts[1])):
            server = self.boot_on(name, host, 'c1.small', 'demo')
            self.assertEqual(['running'],
                             self.containers_on(host, server['id']))
            server['ip'] = self.fixed_ip(server)
            self.assertIn('hello from ' + name, self.http_get(server['ip']))
            made.append(server)
        one, two = made
        self.assertPageFrom(self.hosts[0], one, two, 'hello from h-two')
        base.log('h-one on %s and h-two on %s; h-one reaches h-two'
                 % (self.hosts[0].name, self.hosts[1].name))
        return one, two

    def check_project_network(self):
        """1b. A VXLAN network: host 2's server reaches host 1's."""
        net = self.openstack('network', 'create', 'h-vx')
        self.assertEqual('vxlan', net['provider:network_type'])
        self.openstack('subnet', 'create', '--network', 'h-vx',
                       '--subnet-range', VXLAN_SUBNET, 'h-vx-subnet')
        servers = []
        for name, host in (('h-vx1', self.hosts[0]),
                           ('h-vx2', self.hosts[1])):
            server = self.boot_on(name, host, 'c1.tiny', 'h-vx')
            server['ip'] = server['addresses']['h-vx'][0]
            servers.append(server)
        near, far = servers
        self.assertPageFrom(self.hosts[1], far, near, 'hello from h-vx1')
        self.assertTunnelPorts()
        self.openstack('server', 'delete', '--wait', near['id'], far['id'],
                       parse=False)
        self.openstack('network', 'delete', 'h-vx', parse=False)
        base.log('h-vx2 on %s reaches h-vx1 on %s over VXLAN (tunnel '
                 'endpoints %s, %s)' % (
                     self.hosts[1].name, self.hosts[0].name,
                     self.hosts[1].tunnel_ip, self.hosts[0].tunnel_ip))

    def check_migrate_confirm(self, two):
        """2. Host 2 -> host 1 with a changed page; confirm."""
        first, second = self.hosts
        res = self.exec_in(second, two['id'], 'sh', '-c',
                           'echo changed-before-the-move >> /www/index.html')
        self.assertEqual(0, res.returncode, res.stderr)
        t = time.monotonic()
        self.openstack('server', 'migrate', '--wait', two['id'],
                       parse=False)
        moved = time.monotonic() - t
        gap = self.reachable_after(two['ip'], time.monotonic())
        server = self.server_on(two['id'], first, 'VERIFY_RESIZE')
        self.assertEqual(two['ip'], self.fixed_ip(server))
        page = self.http_get(two['ip'])
        self.assertIn('hello from h-two', page)
        self.assertIn('changed-before-the-move', page)
        self.openstack('server', 'resize', 'confirm', two['id'],
                       parse=False)
        self.server_on(two['id'], first)
        self.wait_gone(second, two['id'])
        self.assertEqual(['running'], self.containers_on(first, two['id']))
        # no transfer image left in Glance: the provisioned two only
        self.assertEqual(['busybox', 'busybox-ssh'], sorted(
            i['Name'] for i in self.openstack('image', 'list')))
        self.assertIn('changed-before-the-move', self.http_get(two['ip']))
        base.log('h-two migrated to %s in %.0fs with its changed page, '
                 'confirmed; reachable %.1fs after the migration returned'
                 % (first.name, moved, gap))

    def check_migrate_revert(self, one):
        """3. Host 1 -> host 2; revert."""
        first, second = self.hosts
        self.openstack('server', 'migrate', '--wait', one['id'],
                       parse=False)
        gap = self.reachable_after(one['ip'], time.monotonic())
        self.server_on(one['id'], second, 'VERIFY_RESIZE')
        self.assertIn('hello from h-one', self.http_get(one['ip']))
        self.openstack('server', 'resize', 'revert', one['id'], parse=False)
        back = self.reachable_after(one['ip'], time.monotonic())
        self.server_on(one['id'], first)
        self.wait_gone(second, one['id'])
        self.assertEqual(['running'], self.containers_on(first, one['id']))
        self.assertIn('hello from h-one', self.http_get(one['ip']))
        base.log('h-one migrated to %s and reverted; reachable %.1fs after '
                 'the migration returned, %.1fs after the revert'
                 % (second.name, gap, back))

    def check_evacuate(self):
        """4. Host 2 down, its server evacuated; host 2 back, no copy."""
        first, second = self.hosts
        self.openstack('server', 'create', '--flavor', 'c1.small',
                       '--image', 'busybox', '--network', 'demo',
                       '--availability-zone', 'nova:' + second.name,
                       '--wait', 'h-three')
        three = self.server_on('h-three', second)
        three['ip'] = self.fixed_ip(three)
        self.exec_in(second, three['id'], 'sh', '-c',
                     'echo lost-with-the-host >> /www/index.html')
        self.cloud('down', '--host', second.name)
        self.openstack(*FORCE_DOWN, 'compute', 'service', 'set', '--down',
                       second.name, 'nova-compute', parse=False)
        self.openstack(*EVACUATE, 'server', 'evacuate', three['id'])
        self.server_on(three['id'], first)
        page = self.http_get(three['ip'])
        # rebuilt from its image: the change on the dead host is gone
        self.assertIn('hello from h-three', page)
        self.assertNotIn('lost-with-the-host', page)
        # Back first: Nova forces a host up only once its nova-compute
        # has cleaned up after the evacuation (the migration completed).
        self.cloud('up')
        self.wait_gone(second, three['id'])
        self.openstack(*FORCE_DOWN, 'compute', 'service', 'set', '--up',
                       second.name, 'nova-compute', parse=False)
        forced = [s for s in self.openstack(
            *FORCE_DOWN, 'compute', 'service', 'list', '--long')
            if s['Host'] == second.name]
        self.assertEqual([False], [s['Forced Down'] for s in forced])
        self.assertEqual(['running'],
                         self.containers_on(first, three['id']))
        self.assertIn('hello from h-three', self.http_get(three['ip']))
        base.log('h-three evacuated to %s; %s came back and removed its '
                 'copy' % (first.name, second.name))
        return three

    def check_down_leaves_nothing_on_hosts(self, ports):
        """5. Down: nothing of either host is left."""
        self.cloud('down')
        deadline = time.monotonic() + 30
        while self.our_processes() and time.monotonic() < deadline:
            time.sleep(1)
        self.assertEqual([], self.our_processes())
        self.assertEqual([], base.sh(
            ['docker', 'ps', '-aq', '--filter',
             'label=org.openstack.nova.compute-host=%s'
             % self.hosts[0].name]).stdout.split())
        bridges = base.sh(['ovs-vsctl', 'list-br']).stdout.split()
        devices = base.sh(['ip', '-o', 'link']).stdout
        interfaces = base.sh(['ovs-vsctl', '--columns=name', 'list',
                              'Interface']).stdout
        for host in self.hosts:
            self.assertNotIn(host.int_bridge, bridges)
            self.assertNotIn(host.tun_bridge, bridges)
            self.assertNotIn(host.phys_bridge, bridges)
        self.assertNotIn(self.settings['underlay_bridge'], bridges)
        for port in ports:
            self.assertNotIn(port[:11], devices)
            self.assertNotIn(port[:11], interfaces)
        self.assertNotEqual(0, base.sh(self.hosts_mod.docker_argv(
            self.hosts[1]) + ['info']).returncode)
        base.log('down left no process, container, engine, veth or bridge')
