"""The seed scenario, through Nova: the Docker introduction the project grew
from (run a container, change it, commit it to an image, run the image as
a service, reach the service at the container's address), with Nova's
REST API in place of the docker command line."""
from tests.nova import base

# Run the committed image as a service: busybox's web server, serving
# what was written into the first container.
SERVICE = 'httpd -f -p 8080 -h /srv'


class TestSeedScenario(base.PyDockTestCase):

    def test_run_change_commit_serve_reach(self):
        flavor = self.container_flavor()

        # 1. Run a container: a server from the base image, no network.
        base_image = self.service_image('seed')
        first = self.boot(base_image['id'], flavor)
        self.wait_for_console(first, 'pydock-console-seed')

        # 2. Change it (docker exec, as the walkthrough does).
        content = 'changed in %s' % first['id']
        code, _ = self.exec_in(first, 'sh', '-c',
                               'mkdir -p /srv && echo "%s" > /srv/index.html'
                               % content)
        self.assertEqual(0, code)

        # 3. Commit it to an image: createImage -> a docker archive in
        # Glance.
        snapshot_id = self.api.post_server_action(
            first['id'], {'createImage': {'name': 'seed'}})['image_id']
        first = self.wait_for(first, 'ACTIVE')
        self.assertTrue(self.inspect(first)['State']['Running'])
        self._assertDockerSnapshot(snapshot_id)

        # 4. Run the image as a service: its command becomes the web
        # server (docker run <image> <command>: here the image property
        # os_command_line), on a Neutron port. The commit is cached on
        # this engine; drop it, so that the snapshot comes back from
        # Glance as it would on any other host.
        self.glance.update(None, snapshot_id,
                           {'properties': {'os_command_line': SERVICE}})
        self._engine.remove_image('pydock-glance:%s' % snapshot_id)
        net = self.ovs_network()
        second = self.boot(snapshot_id, flavor,
                           networks=[{'port': net.port_id}])
        self.assertEqual(1, self.glance.downloads[snapshot_id])
        details = self.inspect(second)
        self.assertTrue(details['State']['Running'])
        self.assertEqual('pydock-glance:%s' % snapshot_id,
                         details['Config']['Image'])
        self.assertEqual(SERVICE.split(), details['Config']['Cmd'])
        code, output = self.exec_in(second, 'cat', '/srv/index.html')
        self.assertEqual(0, code)
        self.assertEqual(content, output.decode().strip())

        # The container holds the port: its address and MAC on eth0, as
        # Nova reports them.
        self.assertHoldsPort(second, net)
        self.assertIn(net.devname, net.ovs_ports())

        # 5. Reach the service at the container's address, from a network
        # namespace on the same Neutron network.
        served = net.http_get(net.address, 8080, '/index.html')
        self.assertEqual(content, served.strip())

        for server in (first, second):
            self.delete(server)
            self.assertNoContainer(server)
        self.assertEqual([], self.engine_containers())
        self.assertNotIn(net.devname, net.ovs_ports())
        self.assertNotIn(net.devname, base.network.host_links())

    def _assertDockerSnapshot(self, snapshot_id):
        snapshot = self.glance.show(None, snapshot_id)
        self.assertEqual('docker', snapshot['container_format'])
        self.assertEqual('raw', snapshot['disk_format'])
        self.assertEqual('active', snapshot['status'])
        self.assertEqual(1, self.glance.uploads[snapshot_id])
        self.assertTrue(self.glance.has_data(snapshot_id))
        self.assertGreater(snapshot['size'], 1024 * 1024)
        # The snapshot keeps the image properties of its base.
        self.assertEqual(base.SERVICE_COMMAND % 'seed',
                         snapshot['properties']['os_command_line'])


class TestPortAcrossRestarts(base.PyDockTestCase):

    def test_service_reachable_after_stop_start_and_reboot(self):
        """Every start plugs the port again; the server stays reachable.

        The container's namespace dies with its process, so each start
        makes a new veth pair whose host end has the old name; Open
        vSwitch must open the new device (power_off removes the port's
        OVS row, the next plug adds it again).
        """
        net = self.ovs_network()
        image = self.docker_image(os_command_line='httpd -f -p 8080 -h /etc')
        server = self.boot(image['id'], self.container_flavor(),
                           networks=[{'port': net.port_id}])
        self.assertIn('root:x:0:', net.http_get(net.address, 8080, '/group'))
        server = self.action(server, {'os-stop': None}, 'SHUTOFF')
        self.assertEqual('exited', self.engine_status(server))
        self.assertNotIn(net.devname, net.ovs_ports())
        server = self.action(server, {'os-start': None}, 'ACTIVE')
        self.assertIn('root:x:0:', net.http_get(net.address, 8080, '/group'))
        for reboot in ('SOFT', 'HARD'):
            server = self.action(server, {'reboot': {'type': reboot}},
                                 'ACTIVE')
            self.assertIn('root:x:0:',
                          net.http_get(net.address, 8080, '/group'))
        # A frozen container keeps its namespace and port.
        for freeze, thaw, status in (('pause', 'unpause', 'PAUSED'),
                                     ('suspend', 'resume', 'SUSPENDED')):
            server = self.action(server, {freeze: None}, status)
            server = self.action(server, {thaw: None}, 'ACTIVE')
            self.assertIn('root:x:0:',
                          net.http_get(net.address, 8080, '/group'))
        self.assertIn(net.devname, net.ovs_ports())
        self.delete(server)
        self.assertNotIn(net.devname, net.ovs_ports())
        self.assertNotIn(net.devname, base.network.host_links())
