"""nova-compute stopped in the middle of builds, then started again.

What a nova-compute killed while building leaves behind is set up from
three servers that booted: the database says they are still building;
one server's container is whole, running and plugged into its Open
vSwitch port (the build died at its last step), another's is half-made
(still under its ``-spawning`` name), the third has none and no host
yet, only its allocation on the host's node (its build waited in the
queue). When nova-compute starts again, Nova puts all three into ERROR
and the driver (``nova_pydock.interrupted``) removes the containers and
the host side of the port and records why: each server shows a fault,
and deleting them works. A rebuild cut off the same way gets its fault
and keeps its container: rebuilding it again works.
"""
from nova import context as nova_context
from nova import objects
from nova.compute import task_states
from nova.compute import vm_states

from tests.nova import base
from tests.nova import network


class TestInterruptedBuild(base.PyDockTestCase):

    def as_if_building(self, server, claimed=True):
        """The database as a build in progress (or one that waited for
        its claim) left it."""
        context = nova_context.get_admin_context()
        instance = objects.Instance.get_by_uuid(context, server['id'])
        instance.vm_state = vm_states.BUILDING
        instance.task_state = task_states.SPAWNING if claimed else None
        if not claimed:
            instance.host = instance.node = instance.compute_id = None
        instance.save()

    def test_restart_errors_them_with_a_fault_and_removes_them(self):
        net = self.ovs_network()
        image = self.service_image()
        flavor = self.container_flavor()
        whole = self.boot(image['id'], flavor,
                          networks=[{'port': net.port_id}])
        half = self.boot(image['id'], flavor)
        queued = self.boot(image['id'], flavor)
        self.assertIn(net.devname, net.ovs_ports())

        host = self.hosts[0]
        compute = self.computes[host]
        compute.stop()
        compute.manager.driver.cleanup_host(host)
        self._engine.stop('nova-%s' % half['id'], timeout=1)
        self._engine.rename('nova-%s' % half['id'],
                            'nova-%s-spawning' % half['id'])
        self._engine.remove_container('nova-%s' % queued['id'], force=True)
        for server in (whole, half):
            self.as_if_building(server)
        self.as_if_building(queued, claimed=False)
        self.computes[host] = self.restart_compute_service(
            compute, keep_hypervisor_state=False)

        for server in (whole, half, queued):
            errored = self.wait_for(server, 'ERROR')
            self.assertIn('The build was interrupted: nova-compute on %s '
                          'stopped' % host, errored['fault']['message'])
        self.assertEqual([], self.engine_containers())
        self.assertNotIn(net.devname, net.ovs_ports())
        self.assertNotIn(net.devname, network.host_links())
        for server in (whole, half, queued):
            self.delete(server)

    def test_interrupted_rebuild_gets_a_fault_and_can_be_rebuilt(self):
        image = self.service_image()
        server = self.boot(image['id'], self.container_flavor())
        host = self.hosts[0]
        compute = self.computes[host]
        compute.stop()
        compute.manager.driver.cleanup_host(host)
        context = nova_context.get_admin_context()
        instance = objects.Instance.get_by_uuid(context, server['id'])
        instance.task_state = task_states.REBUILD_SPAWNING
        instance.save()
        self.computes[host] = self.restart_compute_service(
            compute, keep_hypervisor_state=False)

        errored = self.wait_for(server, 'ERROR')
        self.assertIn('The rebuild was interrupted: nova-compute on %s '
                      'stopped' % host, errored['fault']['message'])
        self.assertIn('rebuild it again or delete it',
                      errored['fault']['message'])
        self.assertTrue(self.inspect(server)['State']['Running'])
        self.action(server, {'rebuild': {'imageRef': image['id']}},
                    'ACTIVE')
        self.assertTrue(self.inspect(server)['State']['Running'])
        self.delete(server)
        self.assertNoContainer(server)
