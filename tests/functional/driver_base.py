"""Common ground of the driver's functional tests on the real engine.

The driver runs as Nova runs it, through the ComputeDriver API, against
the real engine; what the engine holds afterwards is checked through the
Docker SDK. Glance is a directory of archives (:class:`DirectoryImages`):
the driver only needs ``download`` to stream and ``update`` to accept a
stream, which is the part of Nova's image API it uses.
"""
import time
import uuid

from directory_images import DirectoryImages
import fixtures
from nova import context as nova_context
from nova import exception
from nova import objects
from nova.tests.unit import fake_instance
from nova.virt import fake as fake_virt
from oslo_config import fixture as config_fixture
import testtools

from nova_pydock import conf as pydock_conf
from nova_pydock import driver as pydock_driver
from nova_pydock import images as pydock_images
from tests import engine
from tests import images

CONF = pydock_conf.CONF


class DriverTestCase(testtools.TestCase):
    """A driver of its own compute host on the real engine."""

    base_archive = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api = engine.api()
        cls._archive = images.ClassArchive(cls.api, 'driver')
        cls.base_archive = cls._archive.path

    @classmethod
    def tearDownClass(cls):
        cls._archive.remove()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.host = 'pydock-test-%s' % uuid.uuid4().hex[:8]
        self.conf = self.useFixture(config_fixture.Config(CONF))
        self.conf.config(host=self.host)
        self.conf.config(graceful_stop_timeout=2, group='pydock')
        self.context = nova_context.get_admin_context()
        self.glance = DirectoryImages(
            self.useFixture(fixtures.TempDir()).path)
        self.driver = pydock_driver.PyDockDriver(fake_virt.FakeVirtAPI())
        self.driver._images.image_api = self.glance
        self.driver.init_host(self.host)
        self.addCleanup(self.driver.cleanup_host, self.host)
        self.image_meta = self.glance.add(str(uuid.uuid4()),
                                          source_path=self.base_archive)
        self.addCleanup(self._remove_cached_images)

    def _remove_cached_images(self):
        for image_id in self.glance.metadata:
            images.remove_if_present(self.api,
                                     pydock_images.reference(image_id))

    def instance(self, memory_mb=128, vcpus=1, extra_specs=None, **kw):
        # Nova's instances always carry their (system) metadata: spawn
        # reads it (config drive policy, image properties).
        kw.setdefault('expected_attrs', ['metadata', 'system_metadata'])
        flavor = objects.Flavor(
            name='c1.test', memory_mb=memory_mb, vcpus=vcpus, root_gb=1,
            ephemeral_gb=0, swap=0, extra_specs=extra_specs or {},
            flavorid='c1', id=1)
        inst = fake_instance.fake_instance_obj(
            self.context, uuid=str(uuid.uuid4()), host=self.host,
            node=self.host, flavor=flavor, hostname='vm-%s' % self.host,
            image_ref=self.image_meta.id, **kw)
        return inst

    def spawn(self, instance=None, image_meta=None, network_info=None,
              power_on=True):
        instance = instance or self.instance()
        self.addCleanup(self._destroy_quietly, instance)
        self.driver.spawn(self.context, instance,
                          image_meta or self.image_meta, [], None, {},
                          network_info or [], power_on=power_on)
        return instance

    def _destroy_quietly(self, instance):
        self.driver.destroy(self.context, instance, [])

    def console_until(self, instance, done, timeout=60):
        """get_console_output, read again until ``done(output)`` or for
        at most ``timeout`` seconds: a spawn returns once the process
        runs, not once it has printed. Returns the last output read."""
        deadline = time.monotonic() + timeout
        while True:
            output = self.driver.get_console_output(self.context, instance)
            if done(output) or time.monotonic() > deadline:
                return output
            time.sleep(0.2)

    def inspect(self, instance):
        return self.api.inspect_container('nova-%s' % instance.uuid)

    def exec_in(self, instance, *command):
        """Run a command in the instance's container: (exit code, output)."""
        run = self.api.exec_create('nova-%s' % instance.uuid, list(command))
        output = self.api.exec_start(run)
        return self.api.exec_inspect(run)['ExitCode'], output

    def containers_of_host(self):
        return self.api.containers(
            all=True,
            filters={'label': 'org.openstack.nova.compute-host=%s'
                     % self.host})

    def assertNoContainer(self, instance):
        self.assertRaises(exception.InstanceNotFound, self.driver.get_info,
                          instance)
        self.assertEqual([], self.containers_of_host())
