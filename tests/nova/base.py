"""Nova API, conductor, scheduler and nova-compute in one process, with
the compute driver loaded as operators load it and a real engine under it.

nova-compute gets ``compute_driver = pydock.PyDockDriver`` and finds the
driver through the ``nova.virt.pydock`` shim, exactly like a deployment.
Placement is the real placement service (``PlacementFixture``), Neutron
the harness's ``NeutronFixture`` (subnets filtered as Neutron does),
Glance :class:`StreamingGlanceFixture` holding real ``docker save``
archives. What the harness poisons or fakes that a real driver needs is
given back in :mod:`tests.nova.fixtures` and in :meth:`setUp`, each with
the reason. Every test runs its compute services under host names of its
own, so that it only ever sees its own containers on the engine it shares
with other tests; ``tests/nova/network.py`` adds Neutron ports on Open
vSwitch for the tests that need them.
"""
import os
import sysconfig
import time
import uuid

from nova import test
import nova.conf
from nova.tests import fixtures as nova_fixtures
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional import integrated_helpers
from nova.tests.functional.api import client as api_client
from vif_plug_ovs import ovs as vif_plug_ovs

from nova_pydock import container
from nova_pydock import driver as pydock_driver
from tests import engine
from tests import images as test_images
from tests.nova import fixtures as pydock_fixtures
from tests.nova import network

CONF = nova.conf.CONF

# The nova wheel installs its paste pipeline under <prefix>/etc/nova.
API_PASTE = os.path.join(sysconfig.get_path('data'), 'etc', 'nova',
                         'api-paste.ini')
LABEL_HOST = 'org.openstack.nova.compute-host'
IMAGE_REPOSITORY = 'pydock-glance'
# Upper bound of every wait on Nova (seconds); the machine is shared.
WAIT = 90
POLL = 0.2
# The command of the test images: prints a marker, stops at once on
# SIGTERM (a shell as PID 1 ignores it unless trapped) and sleeps.
SERVICE_COMMAND = ("sh -c 'trap \"exit 0\" TERM; echo pydock-console-%s; "
                   "while :; do sleep 1 & wait $!; done'")


def _node_uuid(nodename):
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, nodename))


def _nodenames_by_uuid(driver, refresh=False):
    return {_node_uuid(node): node
            for node in driver.get_available_nodes(refresh)}


_get_available_resource = pydock_driver.PyDockDriver.get_available_resource


def _resources_with_node_uuid(driver, nodename):
    resources = _get_available_resource(driver, nodename)
    resources['uuid'] = _node_uuid(nodename)
    return resources


class PyDockTestCase(test.TestCase,
                     integrated_helpers.PlacementInstanceHelperMixin):
    """Nova's services in one process, nova-compute on PyDockDriver."""

    REQUIRES_LOCKING = True
    compute_driver = 'pydock.PyDockDriver'
    #: How many nova-compute services (host names) share the engine.
    compute_hosts = 1
    #: Options the services read when they start, as ``{group: {name:
    #: value}}`` (``None`` for ``[DEFAULT]``).
    service_flags = {}
    microversion = 'latest'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._engine = engine.api()
        cls._archive = test_images.ClassArchive(cls._engine, 'nova')
        cls._base_archive = cls._archive.path

    @classmethod
    def tearDownClass(cls):
        cls._archive.remove()
        cls._engine.close()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.useFixture(pydock_fixtures.HostInspectionFixture())
        self.useFixture(pydock_fixtures.SQLAlchemy21Fixture())
        self.useFixture(pydock_fixtures.PrivsepDaemonsFixture())
        # os-vif's OVS plugin talks to the local ovsdb-server, as an
        # operator configures it ([os_vif_ovs] ovsdb_connection).
        CONF.register_opts(vif_plug_ovs.OvsPlugin.CONFIG_OPTS,
                           group='os_vif_ovs')
        self.flags(ovsdb_connection='unix:' + network.OVSDB_SOCKET,
                   group='os_vif_ovs')
        self.flags(compute_driver=self.compute_driver)
        self.flags(api_paste_config=API_PASTE, group='wsgi')
        # Each real compute host keeps its node identity in its own
        # /var/lib/nova/compute_id (nova.virt.node); the harness
        # (ComputeNodeIdFixture) makes that one UUID per process, which
        # two nova-compute services in this process would share. Give
        # every node its own, derived from its name, at the two places
        # Nova asks for it.
        self.stub_out(
            'nova_pydock.driver.PyDockDriver.get_nodenames_by_uuid',
            _nodenames_by_uuid)
        self.stub_out(
            'nova_pydock.driver.PyDockDriver.get_available_resource',
            _resources_with_node_uuid)

        self.policy = self.useFixture(nova_fixtures.RealPolicyFixture())
        self.neutron = self.useFixture(pydock_fixtures.NeutronFixture(self))
        self.glance = self.useFixture(
            pydock_fixtures.StreamingGlanceFixture(self))
        self.useFixture(nova_fixtures.CinderFixture(self))
        self.placement = self.useFixture(
            func_fixtures.PlacementFixture()).api
        self.useFixture(nova_fixtures.AllServicesCurrent())
        self.notifier = self.useFixture(
            nova_fixtures.NotificationFixture(self))

        self.api_fixture = self.useFixture(
            nova_fixtures.OSAPIFixture(api_version='v2.1'))
        self.admin_api = self.api_fixture.admin_api
        self.admin_api.microversion = self.microversion
        self.api = self.admin_api

        suffix = uuid.uuid4().hex[:8]
        self.hosts = ['pydock-nova-%s-%d' % (suffix, n)
                      for n in range(self.compute_hosts)]
        # Registered before the services start, so it runs after they
        # stopped: whatever a failed test left on the engine goes.
        self.addCleanup(self._remove_from_engine, list(self.hosts),
                        self.glance)

        for group, flags in self.service_flags.items():
            self.flags(group=group, **flags)
        self.start_service('conductor')
        self.start_service('scheduler')
        for host in self.hosts:
            self._start_compute(host)

    # -- engine -----------------------------------------------------------

    @classmethod
    def _remove_from_engine(cls, hosts, glance):
        for found in cls._containers_of(hosts):
            cls._engine.remove_container(found['Id'], force=True)
            # Images a resize made of the server's files.
            server = found['Labels'][container.LABEL_INSTANCE]
            for image in cls._engine.images(
                    name='pydock-resize:%s-*' % server):
                for tag in image['RepoTags'] or ():
                    test_images.remove_if_present(cls._engine, tag)
        for image_id in list(glance.images):
            test_images.remove_if_present(
                cls._engine, '%s:%s' % (IMAGE_REPOSITORY, image_id))

    @classmethod
    def _containers_of(cls, hosts):
        found = []
        for host in hosts:
            found.extend(cls._engine.containers(
                all=True, filters={'label': '%s=%s' % (LABEL_HOST, host)}))
        return found

    def engine_containers(self, host=None):
        """Containers on the engine that belong to this test's hosts."""
        return self._containers_of([host] if host else self.hosts)

    def inspect(self, server):
        """``docker inspect`` of the server's container."""
        return self._engine.inspect_container('nova-%s' % server['id'])

    def assertNoContainer(self, server):
        names = [c['Names'][0].lstrip('/') for c in self._engine.containers(
            all=True, filters={'name': 'nova-%s' % server['id']})]
        self.assertEqual([], names)

    def assertHoldsPort(self, server, net):
        """Nova reports the port, and the container has it as eth0: the
        port's address and MAC."""
        addresses = server['addresses'][net.network_name]
        self.assertEqual([net.address], [a['addr'] for a in addresses])
        self.assertEqual(net.mac, addresses[0]['OS-EXT-IPS-MAC:mac_addr'])
        code, output = self.exec_in(server, 'ip', '-o', 'addr', 'show',
                                    'dev', 'eth0')
        self.assertEqual(0, code)
        self.assertIn('inet %s/24' % net.address, output.decode())
        code, output = self.exec_in(server, 'ip', '-o', 'link', 'show',
                                    'eth0')
        self.assertEqual(0, code)
        self.assertIn(net.mac, output.decode())

    def exec_in(self, server, *command):
        """Run a command in the server's container: (exit code, output)."""
        run = self._engine.exec_create('nova-%s' % server['id'],
                                       list(command))
        output = self._engine.exec_start(run)
        return self._engine.exec_inspect(run)['ExitCode'], output

    def engine_status(self, server):
        return self.inspect(server)['State']['Status']

    def ovs_network(self, hybrid=False):
        """A Neutron port on an OVS bridge with a peer namespace."""
        why = network.ovs_unavailable()
        if why:
            self.skipTest(why)
        return self.useFixture(network.OvsNetwork(self.neutron, hybrid))

    # -- images and flavors -----------------------------------------------

    def docker_image(self, archive=None, data=None, container_format='docker',
                     disk_format='raw', **properties):
        """Register a Glance image whose data is a ``docker save`` file.

        ``data`` (bytes) replaces the archive, for images that are broken.
        """
        image_id = str(uuid.uuid4())
        meta = {
            'id': image_id, 'name': 'busybox-%s' % image_id[:8],
            'status': 'active', 'visibility': 'public',
            'container_format': container_format,
            'disk_format': disk_format, 'min_ram': 0, 'min_disk': 0,
            'properties': dict(properties),
        }
        if data is not None:
            return self.glance.create(None, meta, data=data)
        with open(archive or self._base_archive, 'rb') as f:
            return self.glance.create(None, meta, data=f)

    def service_image(self, marker='ready'):
        """A docker image printing ``pydock-console-<marker>``, then idle."""
        return self.docker_image(
            os_command_line=SERVICE_COMMAND % marker)

    def container_flavor(self, memory_mb=128, vcpus=1, extra_specs=None):
        """A flavor sized for a container: ``memory_mb``, 1 GiB disk."""
        return self._create_flavor(memory_mb=memory_mb, vcpu=vcpus, disk=1,
                                   ephemeral=0, extra_spec=extra_specs)

    # -- servers ----------------------------------------------------------

    def boot(self, image_id, flavor_id, status='ACTIVE', host=None,
             networks='none'):
        body = {'server': {
            'name': 'srv-%s' % uuid.uuid4().hex[:8],
            'imageRef': image_id, 'flavorRef': flavor_id,
            'networks': networks}}
        if host:
            body['server']['host'] = host
        server = self.api.post_server(body)
        self.addCleanup(self._delete_quietly, server['id'])
        return self.wait_for(server, status)

    def _delete_quietly(self, server_id):
        try:
            self.api.delete_server(server_id)
        except api_client.OpenStackApiNotFoundException:
            pass

    def wait_for(self, server, status, timeout=WAIT):
        """Poll until the server has ``status`` and no task in progress."""
        deadline = time.monotonic() + timeout
        while True:
            server = self.api.get_server(server['id'])
            if (server['status'] == status
                    and server.get('OS-EXT-STS:task_state') is None
                    and (status != 'ERROR' or 'fault' in server)):
                return server
            if server['status'] == 'ERROR' and status != 'ERROR':
                self.fail('server %s went to ERROR: %s'
                          % (server['id'], server.get('fault')))
            if time.monotonic() > deadline:
                self.fail('server %s not %s after %ds: %s/%s'
                          % (server['id'], status, timeout,
                             server['status'],
                             server.get('OS-EXT-STS:task_state')))
            time.sleep(POLL)

    def action(self, server, body, status):
        self.api.post_server_action(server['id'], body)
        return self.wait_for(server, status)

    def delete(self, server, timeout=WAIT):
        self.api.delete_server(server['id'])
        self.wait_gone(server, timeout)

    def wait_gone(self, server, timeout=WAIT):
        """Poll until the API no longer knows the server."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.api.get_server(server['id'])
            except api_client.OpenStackApiNotFoundException:
                return
            time.sleep(POLL)
        self.fail('server %s not deleted after %ds' % (server['id'],
                                                       timeout))

    def console(self, server, length=None):
        body = {'os-getConsoleOutput': {}}
        if length is not None:
            body['os-getConsoleOutput']['length'] = length
        return self.api.post_server_action(server['id'], body)['output']

    def wait_for_console(self, server, text, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while True:
            output = self.console(server)
            if text in output:
                return output
            if time.monotonic() > deadline:
                self.fail('%r not in the console of %s after %ds: %r'
                          % (text, server['id'], timeout, output[-500:]))
            time.sleep(POLL)
