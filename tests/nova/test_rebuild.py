"""Rebuild through Nova's API: Nova's default rebuild (destroy, then
spawn on the same host) with the driver's destroy and spawn."""
from tests.nova import base

COMMAND = "sh -c 'echo pydock-console-%s; exec httpd -f -p %d -h /etc'"


class TestRebuild(base.PyDockTestCase):

    def test_rebuild_replaces_the_container_and_keeps_the_port(self):
        net = self.ovs_network()
        flavor = self.container_flavor()
        first = self.docker_image(os_command_line=COMMAND % ('first', 8080))
        second = self.docker_image(
            os_command_line=COMMAND % ('rebuilt', 8081))
        server = self.boot(first['id'], flavor,
                           networks=[{'port': net.port_id}])
        self.assertIn('root:x:0:', net.http_get(net.address, 8080, '/group'))
        self.wait_for_console(server, 'pydock-console-first')
        before = self.inspect(server)

        server = self.action(server, {'rebuild': {'imageRef': second['id']}},
                             'ACTIVE')

        self.assertEqual(second['id'], server['image']['id'])
        after = self.inspect(server)
        self.assertNotEqual(before['Id'], after['Id'])
        self.assertTrue(after['State']['Running'])
        self.assertEqual('pydock-glance:%s' % second['id'],
                         after['Config']['Image'])
        self.assertEqual(['sh', '-c', 'echo pydock-console-rebuilt; '
                          'exec httpd -f -p 8081 -h /etc'],
                         after['Config']['Cmd'])
        self.assertEqual(1, len(self.engine_containers()))
        # The new container's log is the console: nothing of the first.
        console = self.wait_for_console(server, 'pydock-console-rebuilt')
        self.assertNotIn('pydock-console-first', console)
        # The port moved along: same address, MAC and OVS port.
        self.assertHoldsPort(server, net)
        self.assertIn(net.devname, net.ovs_ports())
        self.assertIn('root:x:0:', net.http_get(net.address, 8081, '/group'))

        self.delete(server)
        self.assertNoContainer(server)
        self.assertNotIn(net.devname, net.ovs_ports())
