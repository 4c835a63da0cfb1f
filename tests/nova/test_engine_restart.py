"""An engine restart under a running nova-compute, through Nova itself.

The engine here is a private dockerd without live restore
(``tools/lib/private_engine.py``): on its
way down it stops every container, as a ``docker.io`` upgrade does on a
host without live restore. nova-compute keeps running: Nova's compute
manager receives the driver's lifecycle events and runs its power state
sync, and the driver finds the instances to bring back in Nova's
database. Afterwards the server Nova had ACTIVE is ACTIVE and serving on
its Open vSwitch port again, the server the user stopped is SHUTOFF, and
Nova never powered anything off.
"""
import time

from nova import context as nova_context
from nova import objects
from nova.compute import power_state
import private_engine

from tests.nova import base


class TestEngineRestart(base.PyDockTestCase):

    def setUp(self):
        self.private = private_engine.PrivateEngine(live_restore=False)
        # Registered first, so it runs last: after the services stopped.
        self.addCleanup(self.private.destroy)
        self.private.start()
        self.service_flags = {'pydock': {'engine_url': self.private.url,
                                         'engine_retry_interval': 0.2}}
        super().setUp()
        # The harness's own engine calls (inspect, exec) go to ours.
        self._engine = self.private.api

    def wait_for_log(self, *lines):
        """Until one of ``lines`` is logged."""
        deadline = time.monotonic() + base.WAIT
        while not any(line in self.stdlog.logger.output for line in lines):
            if time.monotonic() > deadline:
                self.fail('none of %r logged after %ds' % (lines, base.WAIT))
            time.sleep(base.POLL)

    def sync_power_state(self, server):
        """What Nova's ``_sync_power_states`` does for one server."""
        context = nova_context.get_admin_context()
        manager = self.computes[self.hosts[0]].manager
        manager._query_driver_power_state_and_sync(
            context, objects.Instance.get_by_uuid(context, server['id']))

    def test_servers_are_as_nova_had_them(self):
        net = self.ovs_network()
        image = self.docker_image(os_command_line='httpd -f -p 8080 -h /etc')
        flavor = self.container_flavor()
        server = self.boot(image['id'], flavor,
                           networks=[{'port': net.port_id}])
        stopped = self.boot(image['id'], flavor)
        stopped = self.action(stopped, {'os-stop': None}, 'SHUTOFF')
        self.assertIn('root:x:0:', net.http_get(net.address, 8080, '/group'))
        before = self.inspect(server)['State']
        self.notifier.reset()

        self.assertTrue(self.private.stop(), 'dockerd did not stop')
        self.private.start()
        self.wait_for_log('1 of 1 containers of host %s run again'
                          % self.hosts[0])
        name = 'nova-%s' % server['id']
        # The watcher saw the stop the engine caused and kept it from Nova:
        # the engine had gone, or the container ran again first.
        self.wait_for_log('Container %s stopped as the engine went away'
                          % name, 'Container %s started again within' % name)
        after = self.inspect(server)['State']
        self.assertTrue(after['Running'])
        self.assertNotEqual(before['Pid'], after['Pid'])
        self.assertIn('root:x:0:', net.http_get(net.address, 8080, '/group'))
        self.assertIn(net.devname, net.ovs_ports())
        self.assertHoldsPort(self.api.get_server(server['id']), net)

        for each in (server, stopped):
            self.sync_power_state(each)
        server = self.api.get_server(server['id'])
        self.assertEqual(('ACTIVE', power_state.RUNNING),
                         (server['status'],
                          server['OS-EXT-STS:power_state']))
        stopped = self.api.get_server(stopped['id'])
        self.assertEqual(('SHUTOFF', power_state.SHUTDOWN),
                         (stopped['status'],
                          stopped['OS-EXT-STS:power_state']))
        self.assertEqual('exited', self.engine_status(stopped))
        self.assertEqual(
            [], [n['event_type'] for n in
                 self.notifier.versioned_notifications
                 if n['event_type'].startswith('instance.power_off')])
