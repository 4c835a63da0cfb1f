"""The cloud test's steps for a project's router (Neutron's L3 agent): a
server on a VXLAN network behind a router reads its metadata from
169.254.169.254 through the router's metadata proxy (haproxy in the
qrouter namespace), not the DHCP agent's.

The network's subnet has no DHCP, so the DHCP agent has no port and no
proxy on it, Nova's network info names no DHCP server and the driver
adds no metadata route (``[pydock] metadata_route = dhcp`` has nothing
to go via): the container reaches 169.254.169.254 by the default route
Neutron gives, the subnet's gateway, which is the router's port.
"""
import json
import time

from tests.cloud.base import log
from tests.cloud.base import sh

SUBNET = '198.18.251.0/24'
GATEWAY = '198.18.251.1'
USER_DATA = '#!/bin/sh\necho routed user data\n'
#: The L3 agent's NAT rule in the router's namespace that sends
#: 169.254.169.254:80 to its haproxy (Neutron's metadata_port).
REDIRECT = 'REDIRECT'
PROXY_PORT = '9697'


class RouterSteps:
    """Mixed into the cloud test (needs its ``openstack``, ``state``,
    ``metadata``, ``in_container``)."""

    def check_metadata_through_router(self):
        """A VXLAN network, a subnet without DHCP, a router on it; a
        server there reads its user data and property from the
        metadata service, counted by the router's redirect; deleting
        them leaves no namespace, proxy or port.

        :returns: the ID of a router (on a network of its own) kept for
            ``down`` to clean up after
        """
        net = self.openstack('network', 'create', 'e2e-routed')
        self.assertEqual('vxlan', net['provider:network_type'])
        subnet = self.openstack(
            'subnet', 'create', '--network', 'e2e-routed', '--no-dhcp',
            '--subnet-range', SUBNET, 'e2e-routed-subnet')
        self.assertEqual(GATEWAY, subnet['gateway_ip'])
        router = self.openstack('router', 'create', 'e2e-router')['id']
        self.openstack('router', 'add', 'subnet', router,
                       'e2e-routed-subnet', parse=False)
        namespace = 'qrouter-' + router
        proxy = self.wait_router_proxy(namespace)
        server = self.boot_routed_server()
        self.check_route_to_router(server)
        before = self.redirected(namespace)
        meta = json.loads(self.metadata(
            server, 'openstack/latest/meta_data.json'))
        self.assertEqual((server, {'role': 'routed'}),
                         (meta['uuid'], meta['meta']))
        self.assertEqual(USER_DATA, self.metadata(
            server, 'openstack/latest/user_data'))
        self.assertGreater(self.redirected(namespace), before)
        # Not the DHCP agent: it has no port, no namespace on the network.
        self.assertEqual([], self.openstack(
            'port', 'list', '--network', net['id'], '--device-owner',
            'network:dhcp'))
        self.assertNotIn('qdhcp-' + net['id'], self.namespaces())
        log('metadata through router e2e-router: user data and property '
            'read, the qrouter namespace\'s haproxy (pid %d) answered'
            % proxy)
        # The router's port and the server's
        ports = [p['ID'] for p in self.openstack('port', 'list',
                                                 '--network', net['id'])]
        self.assertEqual(2, len(ports))
        self.delete_routed(server, router, net['id'], proxy, ports)
        return self.kept_router()

    def kept_router(self):
        """A router with a port (a router without one is on no agent),
        left for ``down``."""
        self.openstack('network', 'create', 'e2e-kept')
        self.openstack('subnet', 'create', '--network', 'e2e-kept',
                       '--no-dhcp', '--subnet-range', SUBNET,
                       'e2e-kept-subnet')
        kept = self.openstack('router', 'create', 'e2e-router-kept')['id']
        self.openstack('router', 'add', 'subnet', kept, 'e2e-kept-subnet',
                       parse=False)
        return kept

    def boot_routed_server(self):
        script = '%s/e2e-routed-user-data' % self.state
        with open(script, 'w') as f:
            f.write(USER_DATA)
        return self.openstack(
            'server', 'create', '--flavor', 'c1.tiny', '--image', 'busybox',
            '--network', 'e2e-routed', '--user-data', script, '--property',
            'role=routed', '--wait', 'e2e-routed')['id']

    def check_route_to_router(self, server):
        """The container has the default route via the router's port and
        no route of its own to 169.254.169.254."""
        res = self.in_container(server, 'ip', 'route')
        self.assertEqual(0, res.returncode, res.stderr)
        self.assertIn('default via %s dev eth0' % GATEWAY, res.stdout)
        self.assertNotIn('169.254.169.254', res.stdout)
        res = self.in_container(server, 'ip', 'route', 'get',
                                '169.254.169.254')
        self.assertIn('via %s dev eth0' % GATEWAY, res.stdout)

    @staticmethod
    def namespaces():
        return sh(['ip', 'netns', 'list']).stdout.split()

    def wait_router_proxy(self, namespace, timeout=60):
        """The haproxy the L3 agent runs in the router's namespace."""
        deadline = time.monotonic() + timeout
        while True:
            pids = sh(['ip', 'netns', 'pids', namespace]).stdout.split()
            for pid in pids:
                if self.program(pid) == 'haproxy':
                    return int(pid)
            if time.monotonic() > deadline:
                self.fail('no haproxy in %s after %ds: %s' % (
                    namespace, timeout, self.namespaces()))
            time.sleep(1)

    @staticmethod
    def program(pid):
        try:
            with open('/proc/%s/comm' % pid) as f:
                return f.read().strip()
        except OSError:
            return None

    def redirected(self, namespace):
        """Packets the router's NAT redirected to its metadata proxy."""
        res = sh(['ip', 'netns', 'exec', namespace, 'iptables', '-t', 'nat',
                  '-L', '-v', '-n', '-x'])
        self.assertEqual(0, res.returncode, res.stderr)
        rows = [line.split() for line in res.stdout.splitlines()
                if REDIRECT in line and '169.254.169.254' in line
                and PROXY_PORT in line]
        self.assertEqual(1, len(rows), res.stdout)
        return int(rows[0][0])

    def delete_routed(self, server, router, net_id, proxy, ports):
        """Server, router interface, router, network: the agent removes
        the namespace and its haproxy; no port is left."""
        self.openstack('server', 'delete', '--wait', server, parse=False)
        self.openstack('router', 'remove', 'subnet', router,
                       'e2e-routed-subnet', parse=False)
        self.openstack('router', 'delete', router, parse=False)
        self.openstack('network', 'delete', net_id, parse=False)
        deadline = time.monotonic() + 60
        while ('qrouter-' + router in self.namespaces()
               or self.program(proxy) == 'haproxy'):
            if time.monotonic() > deadline:
                self.fail('qrouter-%s or its haproxy still there' % router)
            time.sleep(1)
        left = {p['ID'] for p in self.openstack('port', 'list')}
        self.assertEqual(set(), left & set(ports))
        devices = sh(['ip', '-o', 'link']).stdout
        ovs_ports = sh(['ovs-vsctl', '--columns=name', 'list',
                        'Interface']).stdout
        for port in ports:
            # qr-<port> in the namespace, tap<port> on the bridge, the
            # server's tap<port>
            self.assertNotIn(port[:11], devices + ovs_ports)
        log('router, network and server deleted: no qrouter namespace, '
            'haproxy or port left')
