"""Fixtures that make Nova's functional harness fit a real engine.

* :class:`StreamingGlanceFixture`: Nova's ``GlanceFixture`` keeps image
  metadata only, and its ``download()`` returns nothing unless given a file
  to write to, while the real image API returns an iterator of chunks when
  called without one (``nova.image.glance.API.download``). This subclass
  keeps image data (real ``docker save`` archives) as files, streams them
  back in chunks, and consumes the iterator that a snapshot uploads through
  ``update(..., data=<iterator>)``.
* :class:`NeutronFixture`: Nova's, with subnets filtered as Neutron
  filters them.
* :class:`PrivsepDaemonsFixture`: privileged calls go through real
  privsep daemons, as in a deployment.
* :class:`SQLAlchemy21Fixture`: lets Nova's own code run on SQLAlchemy
  2.1 under the harness's warning rules.
* :class:`HostInspectionFixture`: Nova's ``TestCase`` poisons host
  inspection so that unit tests cannot depend on the machine they run on.
  Here the compute driver is real and must see the real host; this undoes
  exactly the poison the driver runs into, nothing more.

Two more take out costs of the harness that a deployment does not have,
for the benchmark (``tests/nova/bench.py``), which measures Nova and the
driver rather than the test doubles: :class:`PooledSQLiteFixture` and
:class:`PromptFakeRPCFixture`.
"""
import builtins
import collections
import io
import os
import posix
import sys
import threading
import time
import types
import warnings

import fixtures
from nova.tests.fixtures import glance as glance_fixture
from nova.tests.fixtures import neutron as neutron_fixture
from oslo_config import cfg
from oslo_db.sqlalchemy import engines as oslo_db_engines
from oslo_messaging._drivers import impl_fake
from oslo_privsep import daemon as privsep_daemon
from sqlalchemy import exc as sqla_exc
from vif_plug_ovs import privsep as ovs_privsep

from nova_pydock.network import privsep as pydock_privsep
import sqlite_pool
from tests import images

CHUNK = 64 * 1024


class StreamingGlanceFixture(glance_fixture.GlanceFixture):
    """Nova's Glance stand-in, with image data that streams both ways."""

    def setUp(self):
        super().setUp()
        self.path = self.useFixture(fixtures.TempDir()).path
        self.downloads = collections.Counter()
        self.uploads = collections.Counter()
        self._lock = threading.Lock()

    def _data_path(self, image_id):
        return os.path.join(self.path, str(image_id))

    def _store(self, image_id, data):
        """Write ``data`` (bytes, a file, or an iterable of chunks)."""
        if isinstance(data, bytes):
            data = [data]
        elif hasattr(data, 'read'):
            source = data
            data = iter(lambda: source.read(CHUNK), b'')
        target = self._data_path(image_id)
        size = 0
        with open(target + '.part', 'wb') as out:
            for chunk in data:
                out.write(chunk)
                size += len(chunk)
        os.rename(target + '.part', target)
        self.images[str(image_id)]['size'] = size

    def has_data(self, image_id):
        return os.path.exists(self._data_path(image_id))

    def create(self, context, metadata, data=None):
        image = super().create(context, metadata)
        if data is not None:
            self._store(image['id'], data)
        return image

    def update(self, context, image_id, metadata, data=None,
               purge_props=False):
        image = super().update(context, image_id, metadata,
                               purge_props=purge_props)
        if data is not None:
            with self._lock:
                self.uploads[image_id] += 1
            self._store(image_id, data)
        return image

    def download(self, context, image_id, data=None, dst_path=None,
                 trusted_certs=None):
        self.show(context, image_id)
        with self._lock:
            self.downloads[image_id] += 1
        chunks = images.file_chunks(self._data_path(image_id))
        if data is not None:
            for chunk in chunks:
                data.write(chunk)
            return None
        if dst_path:
            with open(dst_path, 'wb') as out:
                for chunk in chunks:
                    out.write(chunk)
            return None
        # Like the real image API without a destination: an iterator.
        return chunks

    def delete(self, context, image_id):
        super().delete(context, image_id)
        if self.has_data(image_id):
            os.unlink(self._data_path(image_id))


class NeutronFixture(neutron_fixture.NeutronFixture):
    """Nova's Neutron stand-in, answering ``list_subnets`` like Neutron.

    The original returns every subnet it knows whatever the filter, so a
    port on a network of a test got the fixture's own subnets next to its
    own, one of them with host bits in its CIDR (``192.168.1.1/24``),
    which Neutron never returns and the driver refuses to plumb.
    """

    def list_subnets(self, retrieve_all=True, **_params):
        return {'subnets': self._list_resource(self._subnets, retrieve_all,
                                               **_params)}


# PrivsepNoHelperFixture replaces it per test; the original.
_REAL_ROOTWRAP_CHANNEL = privsep_daemon.RootwrapClientChannel
# The privsep contexts of what nova-compute runs here: the driver's network
# plumbing and os-vif's OVS plugin.
PRIVSEP_CONTEXTS = (pydock_privsep.net_admin_pctxt, ovs_privsep.vif_plug)


class PrivsepDaemonsFixture(fixtures.Fixture):
    """Real privsep daemons for the driver's and os-vif's privileged calls.

    Nova's ``PrivsepNoHelperFixture`` replaces
    ``oslo_privsep.daemon.RootwrapClientChannel`` so that no unit test
    starts a daemon by accident. Plugging a Neutron port needs two: the
    driver's (``nova_pydock.network.privsep.net_admin_pctxt``: veth pairs,
    addresses, routes in the container's namespace) and os-vif's OVS
    plugin's. The channel is given back, and each context's
    ``helper_command`` is this environment's ``privsep-helper`` without
    sudo (the tests run as root; a deployment goes through rootwrap). The
    daemons are stopped at cleanup, so none outlives its test.
    """

    def _setUp(self):
        self.useFixture(fixtures.MonkeyPatch(
            'oslo_privsep.daemon.RootwrapClientChannel',
            _REAL_ROOTWRAP_CHANNEL))
        helper = os.path.join(os.path.dirname(sys.executable),
                              'privsep-helper')
        for context in PRIVSEP_CONTEXTS:
            group = context.cfg_section
            cfg.CONF.set_override('helper_command', helper, group=group)
            self.addCleanup(cfg.CONF.clear_override, 'helper_command',
                            group=group)
            self.addCleanup(context.stop)


# The harness replaces ``os.uname`` and ``builtins.open`` per test; these
# are the originals (``posix.uname`` and ``io.open`` are never patched).
_REAL_UNAME = posix.uname
_REAL_OPEN = io.open

# What nova_pydock.blockdev reads at init_host to find the disk under the
# engine's data root (the device that ``quota:disk_*`` throttles): the
# ``uevent`` file of the block device, reached through /sys/dev/block and
# resolved into /sys/devices.
_SYS_BLOCK_PREFIXES = ('/sys/dev/block/', '/sys/devices/')


def _is_block_uevent(path):
    try:
        path = os.fsdecode(path)
    except TypeError:
        return False
    return (path.startswith(_SYS_BLOCK_PREFIXES)
            and os.path.basename(path) == 'uevent')


class HostInspectionFixture(fixtures.Fixture):
    """Undo what the real driver needs of Nova's host-inspection poison.

    Use after ``nova.test.TestCase.setUp`` has applied its poison.

    * ``os.uname`` (``GenericPoisonFixture``): the driver reports the host's
      architecture (``platform.machine()``, which calls ``os.uname``) in
      ``get_available_resource`` (``cpu_info``, ``supported_instances``).
      Restored as it is.
    * ``builtins.open`` on ``/sys`` (``SysFsPoisonFixture``): ``init_host``
      reads the block device's ``uevent`` under ``/sys/dev/block`` (and
      ``/sys/devices``, where that link leads) to find the disk of the
      engine's data root. Only those ``uevent`` files are let through;
      every other ``/sys`` read stays poisoned.
    * The privsep helper start (``PrivsepNoHelperFixture``) is given
      back by :class:`PrivsepDaemonsFixture`.
    * Still poisoned, because the driver does not use them:
      ``os.path.isdir``/``os.listdir``/``glob`` on ``/sys`` and
      ``psutil.net_if_addrs``.
    """

    def _setUp(self):
        self.useFixture(fixtures.MonkeyPatch('os.uname', _REAL_UNAME))
        poisoned_open = builtins.open

        def open_(file, *args, **kwargs):
            if _is_block_uevent(file):
                return _REAL_OPEN(file, *args, **kwargs)
            return poisoned_open(file, *args, **kwargs)

        self.useFixture(fixtures.MonkeyPatch('builtins.open', open_))


class SQLAlchemy21Fixture(fixtures.Fixture):
    """Let Nova 34 use ``orm.noload()`` on SQLAlchemy 2.1 in tests.

    Nova's ``WarningsFixture`` turns every ``SADeprecationWarning`` raised
    from a ``nova`` module into an error. SQLAlchemy 2.1 (installed here)
    deprecates ``noload()``, which ``nova.db.main.api._build_instance_get``
    uses whenever an instance lazy-loads its flavor, as the compute manager
    does on every stop. In a service that is a log line; in the harness it
    fails the RPC call. Only that one deprecation is let through, after
    ``WarningsFixture`` installed its filters (which it restores at
    cleanup, removing this one too).
    """

    def _setUp(self):
        warnings.filterwarnings(
            'ignore', message=r'The noload\(\) option is deprecated',
            category=sqla_exc.SADeprecationWarning)


def _patch_existing(fixture, owner, name, value):
    """MonkeyPatch that fails loudly when ``name`` is gone from ``owner``."""
    path = (owner.__name__ if isinstance(owner, types.ModuleType)
            else '%s.%s' % (owner.__module__, owner.__qualname__))
    if not hasattr(owner, name):
        raise RuntimeError('%s.%s no longer exists: the fixture needs '
                           'updating' % (path, name))
    fixture.useFixture(fixtures.MonkeyPatch('%s.%s' % (path, name), value))


class PooledSQLiteFixture(fixtures.Fixture):
    """Pool the connections to the harness's file-backed SQLite databases.

    In native threading mode Nova's harness keeps each database in a SQLite
    file, and oslo.db gives those a NullPool: every transaction connects
    anew and loads the schema, about 70 times per server boot. Deployments
    pool their database connections; so does this fixture (a QueuePool,
    SQLAlchemy's own choice for SQLite files). Use it before Nova's
    ``TestCase.setUp``, which creates the engines. Eventlet mode keeps one
    in-memory connection and is left alone.
    """

    def _setUp(self):
        _patch_existing(self, oslo_db_engines, '_init_connection_args',
                        sqlite_pool.pooled(
                            oslo_db_engines._init_connection_args,
                            pool_size=5, max_overflow=-1))


class _WakeableClock:
    """The ``time`` module as the fake RPC driver sees it.

    Its listeners nap 50 ms between looks at their queues; here a nap ends
    as soon as a message is delivered.
    """

    def __init__(self):
        self._delivered = threading.Condition()

    def __getattr__(self, name):
        return getattr(time, name)

    def sleep(self, seconds):
        with self._delivered:
            self._delivered.wait(seconds)

    def wake(self):
        with self._delivered:
            self._delivered.notify_all()


class PromptFakeRPCFixture(fixtures.Fixture):
    """Deliver the fake RPC transport's messages at once.

    oslo.messaging's fake driver lets each RPC server poll its queues every
    50 ms, so every cast or call waits 25 ms on average before anyone looks
    at it; a boot takes three such hops. A broker pushes messages to its
    consumers: here a delivery wakes the listeners.
    """

    def _setUp(self):
        clock = _WakeableClock()
        deliver = impl_fake.FakeExchange.deliver_message

        def deliver_and_wake(exchange, *args, **kwargs):
            delivered = deliver(exchange, *args, **kwargs)
            clock.wake()
            return delivered

        _patch_existing(self, impl_fake, 'time', clock)
        _patch_existing(self, impl_fake.FakeExchange, 'deliver_message',
                        deliver_and_wake)
