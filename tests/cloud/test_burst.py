"""End to end: a burst of servers in the one-command cloud, and its delete.

``openstack server create --min 20 --max 20`` (``c1.tiny``, ``busybox``,
a port on ``demo`` each) in a cloud of the test's own: the cloud's
allocation ratios and quotas let all of them in (Nova's defaults, CPU
ratio 4 and 10 servers per project, stop such a burst), every server
goes ACTIVE and answers http on its fixed IP from the host; deleting them
leaves no container, veth, OVS port or Neutron port behind. The reduced,
CI-sized version of ``tools/bench-density`` (issue 17). Settings and
helpers: ``tests/cloud/base.py``.
"""
import os
import time

from tests.cloud import base
from tests.cloud.base import log

SERVERS = 20
BURST_TIMEOUT = 900
NAME = 'e2e-burst'


class BurstTest(base.CloudTestCase):

    def test_burst_active_reachable_deleted_without_leaks(self):
        self.up()
        started = time.monotonic()
        self.openstack('server', 'create', '--flavor', 'c1.tiny', '--image',
                       'busybox', '--network', 'demo', '--min', str(SERVERS),
                       '--max', str(SERVERS), NAME)
        servers = self.wait_burst_active()
        active = time.monotonic() - started
        addresses = {s['ID']: self.listed_ip(s) for s in servers}
        for server_id, ip in addresses.items():
            self.assertIn('hello from %s-' % NAME, self.http_get(ip))
            self.assertEqual(['running'], self.container_state(server_id))
        log('%d servers ACTIVE in %.0fs, all reachable in %.0fs (load %.1f)'
            % (SERVERS, active, time.monotonic() - started,
               os.getloadavg()[0]))
        ports = self.demo_ports()
        self.assertEqual(SERVERS, len(ports))
        self.openstack('server', 'delete', '--wait', *addresses, parse=False)
        self.check_nothing_left(list(addresses), ports)

    def wait_burst_active(self):
        """The burst's servers once all are ACTIVE; fails on any ERROR."""
        deadline = time.monotonic() + BURST_TIMEOUT
        while True:
            servers = self.openstack('server', 'list', '--name',
                                     '^%s-' % NAME)
            states = [s['Status'] for s in servers]
            self.assertNotIn('ERROR', states, servers)
            if len(servers) == SERVERS and set(states) == {'ACTIVE'}:
                return servers
            if time.monotonic() > deadline:
                self.fail('after %ds: %s' % (BURST_TIMEOUT, sorted(states)))
            time.sleep(5)
