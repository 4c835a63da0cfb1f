"""An in-memory container engine for the driver's pure mapping logic.

It keeps containers and images as dicts and records every call, so a test
can assert which engine calls a Nova call maps onto. It knows nothing of
processes, namespaces or limits: what the real engine does with a call is
covered by tests/functional and tests/nova.
"""
from unittest import mock

import fixtures
from nova import context as nova_context
from nova import objects
from nova.compute import vm_states
from nova.tests.unit import fake_instance
from nova.virt import fake as fake_virt
from oslo_config import fixture as config_fixture
import testtools

from nova_pydock import conf as pydock_conf
from nova_pydock import container
from nova_pydock import driver as pydock_driver
from nova_pydock import engine as engine_client

CONF = pydock_conf.CONF
objects.register_all()


class FakeEngine:
    url = 'unix:///fake/engine.sock'

    def __init__(self):
        self.containers = {}
        self.images = {}
        self.calls = []
        # Calls that raise: {'commit': exc} makes every commit raise exc.
        self.failures = {}

    def _call(self, call, *args):
        self.calls.append((call,) + args)
        if call in self.failures:
            raise self.failures[call]

    def _get(self, name):
        if name not in self.containers:
            raise engine_client.ContainerNotFound(name=name)
        return self.containers[name]

    def _set(self, name, status):
        state = self._get(name)['State']
        state.update(Status=status, Running=status in ('running', 'paused'),
                     Paused=status == 'paused')

    def add(self, name, status='running', image='pydock-glance:img'):
        """A container that exists before the test's call."""
        self.containers[name] = {
            'Name': '/' + name,
            'State': {},
            'Config': {'Image': image},
            'HostConfig': {},
            'NetworkSettings': {'SandboxKey': '/run/netns/' + name},
            'ResolvConfPath': '/engine/%s/resolv.conf' % name,
        }
        self._set(name, status)

    def status(self, name):
        return self._get(name)['State']['Status']

    def names_called(self, *calls):
        """The calls (without arguments) among ``calls``, in order."""
        return [c[0] for c in self.calls if c[0] in calls]

    # -- the EngineClient calls the driver makes ---------------------------

    def version(self):
        return {'Version': 'fake', 'ApiVersion': '1.41'}

    def list_containers(self, labels):
        return []

    def create_container(self, name, image, command, hostname, labels,
                         host_config, terminal=False, read_only_mounts=(),
                         log_config=None):
        self._call('create_container', name, image, command)
        if name in self.containers:
            raise engine_client.ContainerConflict(
                name=name, call='create_container', reason='in use')
        self.add(name, 'created', image)
        self.containers[name]['HostConfig'] = dict(host_config)
        if log_config is not None:
            self.containers[name]['HostConfig']['LogConfig'] = {
                'Type': log_config['type'], 'Config': log_config['config']}
        self.containers[name]['Config'].update(Tty=terminal,
                                               OpenStdin=terminal)
        self.containers[name]['Mounts'] = [
            {'Source': source, 'Destination': target, 'RW': False}
            for source, target in read_only_mounts]
        return 'id-' + name

    def inspect_image(self, ref):
        """Every image runs a service (no terminal for its console)."""
        self._call('inspect_image', ref)
        return {'Config': {'Cmd': ['httpd', '-f']}}

    def inspect_container(self, name):
        self._call('inspect_container', name)
        return self._get(name)

    def rename(self, name, new_name):
        self._call('rename', name, new_name)
        self.containers[new_name] = self.containers.pop(name)
        self.containers[new_name]['Name'] = '/' + new_name

    def start(self, name):
        self._call('start', name)
        self._set(name, 'running')

    def stop(self, name, timeout):
        self._call('stop', name, timeout)
        self._set(name, 'exited')

    def kill(self, name, signal='SIGKILL'):
        self._call('kill', name)
        self._set(name, 'exited')

    def wait_stopped(self, name, timeout):
        self._call('wait_stopped', name, timeout)
        return not self._get(name)['State']['Running']

    def pause(self, name):
        self._call('pause', name)
        self._set(name, 'paused')

    def unpause(self, name):
        self._call('unpause', name)
        self._set(name, 'running')

    def remove_container(self, name):
        self._call('remove_container', name)
        self._get(name)
        del self.containers[name]

    def update_limits(self, name, limits):
        self._call('update_limits', name, limits)
        self._get(name)['HostConfig'].update(limits)

    def commit(self, name, repository, tag):
        self._call('commit', name, repository, tag)
        self._get(name)
        ref = '%s:%s' % (repository, tag)
        self.images[ref] = {'RepoTags': [ref]}
        return 'sha256:' + tag

    def list_images(self, reference):
        repository, _, prefix = reference.rstrip('*').partition(':')
        return [image for ref, image in sorted(self.images.items())
                if ref.startswith('%s:%s' % (repository, prefix))]

    def remove_image(self, ref):
        self._call('remove_image', ref)
        if ref not in self.images:
            raise engine_client.ImageNotInEngine(ref=ref)
        del self.images[ref]

    def logs(self, name, tail_lines):
        self._get(name)
        return b'line\n'

    def last_output(self, name, lines=20):
        return 'line'

    def stats(self, name):
        self._call('stats', name)
        return {}


class DriverTestCase(testtools.TestCase):
    """A PyDockDriver on a FakeEngine, with recorded watcher and network.

    ``self.watcher.expect`` records what the driver announces to the
    lifecycle watcher; ``self.network`` stands in for the port plumbing.
    """

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(CONF))
        self.conf.config(host='host-a')
        self.conf.config(blkio_devices=['/dev/null'], engine_timeout=30,
                         graceful_stop_timeout=5, group='pydock')
        self.engine = FakeEngine()
        self.useFixture(fixtures.MockPatchObject(
            engine_client.EngineClient, 'from_conf',
            return_value=self.engine))
        self.driver = pydock_driver.PyDockDriver(fake_virt.FakeVirtAPI())
        self.driver._host = mock.Mock()
        self.driver._network = self.network = mock.Mock()
        self.driver._lifecycle = self.watcher = mock.Mock()
        self.context = nova_context.get_admin_context()
        self.instance = fake_instance.fake_instance_obj(
            self.context, vm_state=vm_states.ACTIVE, host='host-a',
            flavor=make_flavor(512, 1), config_drive='')
        # Real instances come with them (config drive decisions read them).
        self.instance.system_metadata = {}
        self.instance.metadata = {}
        self.name = container.name_for(self.instance)

    def expected(self):
        """What the driver announced: (name, actions, within) tuples."""
        return [c.args for c in self.watcher.expect.call_args_list]


def make_flavor(memory_mb=512, vcpus=1, name='f1', **extra_specs):
    return objects.Flavor(name=name, memory_mb=memory_mb, vcpus=vcpus,
                          ephemeral_gb=0, swap=0, extra_specs=extra_specs)
