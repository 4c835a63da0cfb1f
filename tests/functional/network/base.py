"""Real-kernel fixtures for the network tests.

Each test makes its own linux bridge, a "peer" network namespace plugged
into it (standing in for the rest of the Neutron network), and containers
with network mode ``none``; all of it goes away in cleanups. Traffic only
flows between namespaces the test made, in 198.18.0.0/15 and
fd00::/8. The privsep context runs in-process (we are root; see
:mod:`in_process_privsep`).
"""
import functools
import subprocess
import time
import uuid

import fixtures
from nova import objects
from nova.network import model
from oslo_config import fixture as config_fixture
from oslo_utils import uuidutils
import testtools

from nova_pydock import conf as pydock_conf
from nova_pydock.network import api
from nova_pydock.network import privsep
from tests import engine
from tests import images
from tests.functional.network import in_process_privsep

BUSYBOX = '/bin/busybox'
IMAGE_TAG = 'network-tests'

objects.register_all()


@functools.cache
def busybox_image():
    return images.import_busybox(engine.api(), tag=IMAGE_TAG)


def run(*cmd, check=True):
    """Run a host command (ip, tc, busybox); returns its stdout."""
    result = subprocess.run(cmd, capture_output=True, text=True,
                            timeout=60, check=False)
    if check and result.returncode:
        raise AssertionError('%s failed (%d): %s' % (
            ' '.join(cmd), result.returncode, result.stderr.strip()))
    return result.stdout


def host_links():
    """Names of the host's network devices."""
    return sorted(line.split(':')[1].strip().split('@')[0]
                  for line in run('ip', '-o', 'link').splitlines())


def netns_list():
    return sorted(line.split()[0]
                  for line in run('ip', 'netns', 'list').splitlines())


def short_id():
    return uuid.uuid4().hex[:8]


class Peer:
    """A namespace on the test bridge: the far side of the network."""

    def __init__(self, name, cidr_address):
        self.name = name
        self.address = cidr_address.split('/')[0]

    def neighbour(self, address):
        """The MAC the peer has for ``address`` (or '')."""
        out = run('ip', 'netns', 'exec', self.name, 'ip', 'neigh', 'show',
                  'to', address)
        words = out.split()
        return words[words.index('lladdr') + 1] if 'lladdr' in words else ''

    def sh(self, command, check=True):
        return run('ip', 'netns', 'exec', self.name, BUSYBOX, 'sh', '-c',
                   command, check=check)

    def ping(self, address, tries=10, flush=True):
        """True once ``address`` answers a ping (bounded tries).

        The peer's neighbour entry is flushed first unless ``flush`` is
        False: plug announces a port's addresses, but a test that does not
        test that should not depend on it.
        """
        if flush:
            run('ip', 'netns', 'exec', self.name, 'ip', 'neigh', 'flush',
                'to', address, check=False)
        ping = 'ping6' if ':' in address else 'ping'
        for _ in range(tries):
            out = run('ip', 'netns', 'exec', self.name, BUSYBOX, ping, '-c',
                      '1', '-W', '1', address, check=False)
            if ' 0% packet loss' in out:
                return True
            time.sleep(0.2)
        return False


class NetworkTestCase(testtools.TestCase):
    """Bridges, peers, containers and VIFs for network tests."""

    # False: the test starts a privsep daemon of its own.
    in_process_privsep = True

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(300, gentle=True))
        if self.in_process_privsep:
            self.useFixture(in_process_privsep.InProcessPrivsep(
                privsep.net_admin_pctxt))
        self.api = engine.api()
        self.image = busybox_image()
        self.network = api.ContainerNetwork()

    # Host side

    def make_bridge(self, mtu=None):
        name = 'pyb' + short_id()
        run('ip', 'link', 'add', name, 'type', 'bridge')
        self.addCleanup(run, 'ip', 'link', 'del', name, check=False)
        if mtu:
            run('ip', 'link', 'set', name, 'mtu', str(mtu))
        run('ip', 'link', 'set', name, 'up')
        return name

    def make_peer(self, bridge, address, address6=None, mtu=None):
        """A namespace with ``address`` (``a.b.c.d/len``) on ``bridge``."""
        suffix = short_id()
        name = 'pydock-peer-' + suffix
        host, inner = 'pyh' + suffix, 'pyi' + suffix
        run('ip', 'netns', 'add', name)
        self.addCleanup(run, 'ip', 'netns', 'del', name, check=False)
        run('ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name',
            inner)
        self.addCleanup(run, 'ip', 'link', 'del', host, check=False)
        if mtu:
            run('ip', 'link', 'set', host, 'mtu', str(mtu))
            run('ip', 'link', 'set', inner, 'mtu', str(mtu))
        run('ip', 'link', 'set', inner, 'netns', name)
        run('ip', 'link', 'set', host, 'master', bridge, 'up')
        ns = ('ip', 'netns', 'exec', name)
        run(*ns, 'ip', 'link', 'set', 'lo', 'up')
        run(*ns, 'ip', 'addr', 'add', address, 'dev', inner)
        if address6:
            run(*ns, 'ip', 'addr', 'add', address6, 'dev', inner, 'nodad')
        run(*ns, 'ip', 'link', 'set', inner, 'up')
        return Peer(name, address)

    # Containers

    def start_container(self):
        container = self.api.create_container(
            self.image, host_config=self.api.create_host_config(
                network_mode='none'))['Id']
        self.addCleanup(self.api.remove_container, container, force=True)
        self.api.start(container)
        return container

    def inspect(self, container):
        return self.api.inspect_container(container)

    def netns(self, container):
        """The container's namespace, as the driver passes it."""
        return self.inspect(container)['NetworkSettings']['SandboxKey']

    def exec(self, container, command, check=True):
        """Run ``sh -c command`` in the container; returns its output."""
        exec_id = self.api.exec_create(container, ['sh', '-c', command])
        output = self.api.exec_start(exec_id).decode()
        code = self.api.exec_inspect(exec_id)['ExitCode']
        if check and code:
            raise AssertionError('%r in the container failed (%d): %s'
                                 % (command, code, output))
        return output

    def listen(self, container, port=7777):
        """A ``nc -l`` in the container that writes what it gets.

        Its input stays open, so it never closes the connection first (nc
        would make the sender stop early).
        """
        exec_id = self.api.exec_create(
            container, ['sh', '-c', 'sleep 60 | nc -l -p %d > /tmp/got.%d'
                        % (port, port)])
        self.api.exec_start(exec_id, detach=True)
        for _ in range(50):
            if ':%d ' % port in self.exec(container, 'netstat -ltn'):
                return port
            time.sleep(0.1)
        self.fail('nc -l -p %d did not start in the container' % port)

    def assert_tcp(self, peer, container, address, port=7777):
        """The peer opens a TCP connection to a listener in the container.

        Retries a bounded number of times while the listener starts.
        """
        self.listen(container, port)
        message = 'hello-%s' % short_id()
        for _ in range(20):
            out = peer.sh('echo %s | %s nc -w 2 %s %d && echo sent'
                          % (message, BUSYBOX, address, port), check=False)
            if 'sent' in out:
                break
            time.sleep(0.2)
        self.assert_received(container, port, message)

    def assert_received(self, container, port, message):
        """The listener on ``port`` got ``message`` (bounded wait)."""
        for _ in range(25):
            got = self.exec(container, 'cat /tmp/got.%d' % port, check=False)
            if message in got:
                return
            time.sleep(0.2)
        self.fail('%r did not reach port %d in the container'
                  % (message, port))

    # Nova objects

    def make_instance(self, extra_specs=None):
        flavor = objects.Flavor(name='test', extra_specs=extra_specs or {})
        return objects.Instance(uuid=uuidutils.generate_uuid(), id=1,
                                project_id='project', flavor=flavor)

    def make_vif(self, bridge, address, cidr, gateway=None, mtu=None,
                 address6=None, cidr6=None, gateway6=None, dns=(),
                 routes=(), vif_type=model.VIF_TYPE_BRIDGE, details=None,
                 mac=None, active=True):
        port_id = uuidutils.generate_uuid()
        subnets = [model.Subnet(
            cidr=cidr, ips=[model.FixedIP(address=address)],
            gateway=model.IP(address=gateway) if gateway else None,
            dns=[model.IP(address=d) for d in dns],
            routes=[model.Route(cidr=dst, gateway=model.IP(address=via))
                    for dst, via in routes])]
        if address6:
            subnets.append(model.Subnet(
                cidr=cidr6, ips=[model.FixedIP(address=address6)],
                gateway=model.IP(address=gateway6) if gateway6 else None))
        network = model.Network(id=uuidutils.generate_uuid(), bridge=bridge,
                                label='test', subnets=subnets, mtu=mtu)
        return model.VIF(id=port_id, address=mac or self.random_mac(),
                         network=network, type=vif_type,
                         details=details or {},
                         devname=('tap' + port_id)[:14], active=active)

    @staticmethod
    def random_mac():
        raw = uuid.uuid4().bytes[:5]
        return 'fa:16:3e:' + ':'.join('%02x' % b for b in raw[:3])

    def plug(self, instance, network_info, container, **kwargs):
        names = self.network.plug(instance, network_info,
                                  self.netns(container), **kwargs)
        self.addCleanup(self.network.unplug, instance, network_info)
        return names


class SubnetTestCase(NetworkTestCase):
    """A bridge of the test's own with a /24 of 198.19.0.0/16 on it
    (``cidr``; ``ip(n)`` is its n-th address) and [pydock] options the
    test may set (``conf``)."""

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(pydock_conf.CONF))
        self.octet = int(short_id()[:2], 16)
        self.cidr = '198.19.%d.0/24' % self.octet
        self.bridge = self.make_bridge()

    def ip(self, host):
        return '198.19.%d.%d' % (self.octet, host)
