"""Evacuate through Nova's API between two hosts with engines of their own.

The first nova-compute runs on a private dockerd without live restore
(``tools/lib/private_engine.py``), the
second on this harness's engine. The first host dies as a machine does:
its nova-compute stops and its engine goes down, taking the server's
container with it. Forced down, its server is evacuated: Nova rebuilds it
on the second host from its image, on the same Open vSwitch port, and
(microversion 2.95 and later) leaves it stopped until it is started. When
the first host comes back, its nova-compute removes the stale container
(Nova's ``_destroy_evacuated_instances`` calls ``destroy``) and leaves the
port, plugged on the second host now, alone.
"""
import time

import private_engine

from tests import engine
from tests.nova import base

PAGE = '/www/index.html'
#: os_command_line is split like a shell's words: one sh -c script
COMMAND = ("sh -c 'mkdir -p /www; [ -e %s ] || echo \"from the image\" > %s; "
           "exec httpd -f -p 8080 -h /www'" % (PAGE, PAGE))


class TestEvacuate(base.PyDockTestCase):

    compute_hosts = 2

    def setUp(self):
        self.private = private_engine.PrivateEngine(live_restore=False)
        # Registered first, so it runs last: after the services stopped.
        self.addCleanup(self.private.destroy)
        self.private.start()
        super().setUp()
        self.dying, self.survivor = self.hosts

    def _start_compute(self, host, *args, **kwargs):
        """The first host on the private engine, the second on ours."""
        url = self.private.url if host == self.hosts[0] else engine.ENGINE_URL
        self.flags(engine_url=url, engine_retry_interval=0.2, group='pydock')
        return super()._start_compute(host, *args, **kwargs)

    def force_down(self, down):
        service = self.api.get_services(binary='nova-compute',
                                        host=self.dying)[0]
        self.api.put_service_force_down(service['id'], down)

    def private_containers(self, server):
        return self.private.api.containers(all=True, filters={
            'label': 'org.openstack.nova.instance-uuid=%s' % server['id']})

    def wait_private_gone(self, server):
        deadline = time.monotonic() + base.WAIT
        while self.private_containers(server):
            if time.monotonic() > deadline:
                self.fail('the stale copy of %s is still on %s'
                          % (server['id'], self.dying))
            time.sleep(base.POLL)

    def test_evacuate_then_the_dead_host_returns(self):
        net = self.ovs_network()
        image = self.docker_image(os_command_line=COMMAND)
        server = self.boot(image['id'], self.container_flavor(),
                           host=self.dying, networks=[{'port': net.port_id}])
        self.assertEqual(self.dying, server['OS-EXT-SRV-ATTR:host'])
        name = 'nova-%s' % server['id']
        run = self.private.api.exec_create(
            name, ['sh', '-c', 'echo changed >> %s' % PAGE])
        self.private.api.exec_start(run)
        self.assertIn('changed', net.http_get(net.address, 8080, '/'))

        # The first host dies: its nova-compute, its engine, the server's
        # container with it. Its driver sees nothing of its engine's end
        # (the harness's service stop leaves the driver's threads).
        compute = self.computes[self.dying]
        compute.stop()
        compute.manager.driver.cleanup_host(self.dying)
        self.assertTrue(self.private.stop(), 'dockerd did not stop')
        self.force_down(True)

        # Since microversion 2.95 an evacuated server is left stopped.
        server = self.action(server, {'evacuate': {}}, 'SHUTOFF')
        self.assertEqual(self.survivor, server['OS-EXT-SRV-ATTR:host'])
        self.assertFalse(self.inspect(server)['State']['Running'])
        server = self.action(server, {'os-start': None}, 'ACTIVE')
        details = self.inspect(server)
        self.assertTrue(details['State']['Running'])
        self.assertEqual(self.survivor, details['Config']['Labels'][
            'org.openstack.nova.compute-host'])
        # Rebuilt from its image: what was written on the dead host is gone.
        page = net.http_get(net.address, 8080, '/')
        self.assertIn('from the image', page)
        self.assertNotIn('changed', page)
        self.assertHoldsPort(self.api.get_server(server['id']), net)

        # The first host comes back and removes its stale copy only.
        self.private.start()
        self.assertEqual(1, len(self.private_containers(server)))
        self.flags(engine_url=self.private.url, group='pydock')
        self.computes[self.dying] = self.restart_compute_service(
            self.computes[self.dying], keep_hypervisor_state=False)
        self.force_down(False)
        self.wait_private_gone(server)
        self.assertIn(net.devname, net.ovs_ports())
        self.assertIn('from the image', net.http_get(net.address, 8080, '/'))
        self.assertHoldsPort(self.api.get_server(server['id']), net)
        self.assertTrue(self.inspect(server)['State']['Running'])
