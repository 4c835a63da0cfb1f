"""End to end: nova-compute killed with SIGKILL in the middle of a burst.

``openstack server create --min 10 --max 10`` (``c1.tiny``, ``busybox``,
``demo``); once the first containers are on the engine and servers are
still building, ``kill -9`` nova-compute, then ``tools/cloud restart
nova-compute``. Every server must end ACTIVE (answering http on its
fixed IP) or ERROR with a fault that says why, none stuck in BUILD; no
container on the engine may lack its server, no process of the killed
service remain; a new server goes ACTIVE; deleting them all must leave
no container, veth, OVS port or Neutron port. The CI-sized version
of issue 17's kill test (its 50 servers are ``tools/bench-density``'s
business). Settings and helpers: ``tests/cloud/base.py``.
"""
import json
import os
import signal
import time

from tests.cloud import base
from tests.cloud.base import log
from tests.cloud.base import sh

SERVERS = 10
NAME = 'e2e-kill'
#: containers on the engine when nova-compute gets SIGKILL
KILL_AT = 3
KILL_TIMEOUT = 300
SETTLE_TIMEOUT = 300


class ComputeKillTest(base.CloudTestCase):

    def test_kill_compute_mid_burst_no_build_no_orphan_no_leak(self):
        self.up()
        self.keep_log('nova-compute')
        started = time.monotonic()
        self.openstack('server', 'create', '--flavor', 'c1.tiny', '--image',
                       'busybox', '--network', 'demo', '--min', str(SERVERS),
                       '--max', str(SERVERS), NAME)
        killed = self.kill_compute_at(KILL_AT)
        states = sorted(s['Status'] for s in self.burst())
        log('after the kill: %s' % states)
        self.assertIn('BUILD', states, 'the kill came after the burst')
        self.cloud('restart', 'nova-compute')
        servers = self.wait_settled()
        log('%d servers settled %.0fs after the create: %s' % (
            len(servers), time.monotonic() - started,
            sorted(s['Status'] for s in servers)))
        self.assertEqual(SERVERS, len(servers))
        self.assertEqual([], self.orphans())
        # its privsep daemons went with it
        self.assertEqual([], self.process_group(killed))
        self.check_settled()
        # the nova-compute started again builds
        after = self.openstack('server', 'create', '--flavor', 'c1.tiny',
                               '--image', 'busybox', '--network', 'demo',
                               '--wait', 'e2e-after-kill')
        self.assertIn('hello from e2e-after-kill',
                      self.http_get(self.fixed_ip(after)))
        ports = self.demo_ports()
        ids = [s['ID'] for s in servers] + [after['id']]
        self.openstack('server', 'delete', '--wait', *ids, parse=False)
        self.check_nothing_left(ids, ports)

    def burst(self):
        return self.openstack('server', 'list', '--name', '^%s-' % NAME)

    def engine_containers(self):
        """Names and instance UUIDs of this cloud's containers."""
        res = sh(['docker', 'ps', '-a', '--filter',
                  'label=org.openstack.nova.compute-host=%s'
                  % self.settings['host'], '--format',
                  '{{.Names}} {{.Label "org.openstack.nova.instance-uuid"}}'])
        return [line.split() for line in res.stdout.splitlines()]

    def kill_compute_at(self, count):
        """SIGKILL nova-compute once ``count`` containers exist; returns
        its PID (its process group's: tools/cloud starts a service in a
        session of its own)."""
        deadline = time.monotonic() + KILL_TIMEOUT
        while len(self.engine_containers()) < count:
            if time.monotonic() > deadline:
                self.fail('not %d containers after %ds' % (count,
                                                          KILL_TIMEOUT))
            time.sleep(0.2)
        pidfile = os.path.join(self.state, 'run', 'nova-compute.pid')
        with open(pidfile) as f:
            pid = json.load(f)['pid']
        os.kill(pid, signal.SIGKILL)
        log('nova-compute (pid %d) killed with %d containers on the engine'
            % (pid, len(self.engine_containers())))
        return pid

    def wait_settled(self):
        """The burst's servers once none is BUILD."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            servers = self.burst()
            states = [s['Status'] for s in servers]
            if 'BUILD' not in states:
                return servers
            if time.monotonic() > deadline:
                self.fail('after %ds: %s' % (SETTLE_TIMEOUT, sorted(states)))
            time.sleep(3)

    def check_settled(self):
        """ERROR ones say why, ACTIVE ones answer http."""
        no_fault = []
        for server in self.servers_in_detail('^%s-' % NAME):
            if server['status'] == 'ERROR':
                message = (server.get('fault') or {}).get('message')
                log('%s: ERROR: %s' % (server['name'], message))
                if not message:
                    no_fault.append(server['name'])
            else:
                self.assertIn('hello from %s-' % NAME, self.http_get(
                    server['addresses']['demo'][0]['addr']))
        self.assertEqual([], no_fault, 'servers in ERROR without a fault')

    def orphans(self):
        """Containers whose instance Nova does not list."""
        known = {s['ID'] for s in self.openstack('server', 'list',
                                                 '--all-projects')}
        return [name for name, uuid in self.engine_containers()
                if uuid not in known]

    @staticmethod
    def process_group(pgid):
        """Live processes of process group ``pgid``."""
        found = []
        for entry in filter(str.isdigit, os.listdir('/proc')):
            try:
                with open('/proc/%s/stat' % entry) as f:
                    fields = f.read().rsplit(')', 1)[1].split()
            except OSError:
                continue
            if fields[0] != 'Z' and int(fields[2]) == pgid:
                found.append(entry)
        return found
