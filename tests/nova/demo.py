"""The README's first command: boot containers through Nova, step by step.

Runs Nova's API, conductor, scheduler and nova-compute (with
``compute_driver = pydock.PyDockDriver``) in one process on the real
engine, as the end-to-end suite does, and narrates what happens: the
hypervisor Nova sees, two servers booted through the REST API, their
containers on the engine, console output, stop and start, delete.
Run it with ``tools/demo``.
"""
import sys
import time

from tests.nova import base

MIB = 1024 * 1024


def say(text=''):
    sys.stdout.write(text + '\n')
    sys.stdout.flush()


class Demo(base.PyDockTestCase):
    """Not collected by the test suites (its module is not test_*)."""

    def test_demo(self):
        say()
        say('== Nova API, conductor, scheduler and nova-compute are up, '
            'compute_driver = pydock.PyDockDriver')
        hypervisor = self.api.api_get(
            '/os-hypervisors/detail').body['hypervisors'][0]
        say('   hypervisor %s: state %s, status %s, service host %s'
            % (hypervisor['hypervisor_hostname'], hypervisor['state'],
               hypervisor['status'], hypervisor['service']['host']))

        flavor = self.container_flavor(memory_mb=128, vcpus=1)
        image = self.service_image('demo')
        say('== flavor %s: 128 MB, 1 vCPU; Glance image %s: a busybox '
            '`docker save` archive' % (flavor, image['id']))

        servers = []
        for n in (1, 2):
            started = time.monotonic()
            server = self.boot(image['id'], flavor)
            say('== POST /servers demo%d -> %s in %.1fs (server %s)'
                % (n, server['status'], time.monotonic() - started,
                   server['id']))
            servers.append(server)

        say('== the engine holds one container per server:')
        for server in servers:
            details = self.inspect(server)
            host_config = details['HostConfig']
            say('   %-46s %-8s memory %d MB, %.1f CPU, pids %d, network %s'
                % (details['Name'].lstrip('/'), details['State']['Status'],
                   host_config['Memory'] // MIB,
                   host_config['CpuQuota'] / host_config['CpuPeriod'],
                   host_config['PidsLimit'], host_config['NetworkMode']))

        output = self.wait_for_console(servers[0], 'pydock-console-demo')
        say('== console of demo1: %r' % output.strip())

        server = self.action(servers[0], {'os-stop': None}, 'SHUTOFF')
        say('== stop demo1 -> %s, container %s'
            % (server['status'], self.engine_status(server)))
        server = self.action(servers[0], {'os-start': None}, 'ACTIVE')
        say('== start demo1 -> %s, container %s'
            % (server['status'], self.engine_status(server)))

        for n, server in enumerate(servers, 1):
            self.delete(server)
            say('== DELETE demo%d -> gone; containers left on the engine: %d'
                % (n, len(self.engine_containers())))
        self.assertEqual([], self.engine_containers())
        say()
        say('Done: two servers booted, run, stopped, started and deleted '
            'through Nova as containers.')
