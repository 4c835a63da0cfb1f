"""Benchmark (not a test): POST /servers -> ACTIVE against ``docker run -d``.

Run by ``tools/bench-nova``. Nova's API, conductor, scheduler and
nova-compute (``compute_driver = pydock.PyDockDriver``) run in this
process as in the end-to-end suite; the image is already cached on the
engine (one boot before measuring). Each round boots one server through
the REST API and times until it is ACTIVE (Nova's ``instance.create.end``
notification, checked against the API afterwards), then times a raw
``docker run -d --network none`` of the same engine image with the same
command, alternating so that both see the same load. Prints the medians
and their ratio (goal: at most 3), with the driver's default configuration,
and the median time spent in ``PyDockDriver.spawn`` itself, the rest being
Nova (API, scheduler, Placement, conductor, compute manager) in this
process.

Two costs of the harness itself are taken out, as a deployment does not
have them: unpooled SQLite connections (about 70 connects per boot in
threading mode) and the fake RPC bus's 50 ms polling (three hops per
boot). ``PYDOCK_BENCH_HARNESS=plain`` measures with them left in.
"""
import os
import statistics
import subprocess
import sys
import time

from nova_pydock import driver as pydock_driver
from tests.nova import base
from tests.nova import fixtures as pydock_fixtures

ROUNDS = int(os.environ.get('PYDOCK_BENCH_ROUNDS', '10'))


def say(text=''):
    sys.stdout.write(text + '\n')
    sys.stdout.flush()


class Bench(base.PyDockTestCase):
    """Not collected by the test suites (its module is not test_*)."""

    def setUp(self):
        # Before Nova's setUp: it creates the database engines and RPC
        # servers. Both take out costs of the harness that a deployment
        # does not have (see tests/nova/fixtures.py).
        if os.environ.get('PYDOCK_BENCH_HARNESS') != 'plain':
            self.useFixture(pydock_fixtures.PooledSQLiteFixture())
            self.useFixture(pydock_fixtures.PromptFakeRPCFixture())
        super().setUp()
        self.spawn_times = []
        spawn = pydock_driver.PyDockDriver.spawn

        def timed_spawn(driver, *args, **kwargs):
            started = time.monotonic()
            try:
                return spawn(driver, *args, **kwargs)
            finally:
                self.spawn_times.append(time.monotonic() - started)

        self.stub_out('nova_pydock.driver.PyDockDriver.spawn', timed_spawn)

    def _time_boot(self, image_id, flavor_id):
        """Seconds from POST /servers to the server being ACTIVE.

        The end is Nova's ``instance.create.end`` notification, sent right
        after the compute manager saved the instance ACTIVE: polling the
        API in this process would compete with the build for the GIL.
        The API is asked once afterwards, outside the timing.
        """
        self.notifier.reset()
        started = time.monotonic()
        server = self.api.post_server({'server': {
            'name': 'bench', 'imageRef': image_id, 'flavorRef': flavor_id,
            'networks': 'none'}})
        self.notifier.wait_for_versioned_notifications(
            'instance.create.end', timeout=base.WAIT)
        elapsed = time.monotonic() - started
        found = self.api.get_server(server['id'])
        if found['status'] != 'ACTIVE':
            self.fail('bench server %s: %s' % (server['id'], found))
        self.delete(found)
        return elapsed

    def _time_docker_run(self, ref, command):
        started = time.monotonic()
        result = subprocess.run(
            ['docker', 'run', '-d', '--network', 'none', ref] + command,
            capture_output=True, text=True, timeout=120, check=True)
        elapsed = time.monotonic() - started
        subprocess.run(['docker', 'rm', '-f', result.stdout.strip()],
                       capture_output=True, timeout=120, check=True)
        return elapsed

    def _measure(self, image, flavor_id):
        ref = 'pydock-glance:%s' % image['id']
        command = self._engine.inspect_container(
            'nova-%s' % self._warm_up(image, flavor_id))['Config']['Cmd']
        nova, docker = [], []
        del self.spawn_times[:]
        for _ in range(ROUNDS):
            nova.append(self._time_boot(image['id'], flavor_id))
            docker.append(self._time_docker_run(ref, command))
        return (statistics.median(nova), statistics.median(docker),
                statistics.median(self.spawn_times))

    def _warm_up(self, image, flavor_id):
        """Boot once so the image is cached; returns the server's ID."""
        server = self.boot(image['id'], flavor_id)
        self.addCleanup(self.delete, server)
        return server['id']

    def _report(self, label, nova, docker, spawn):
        say('%-34s POST /servers -> ACTIVE %.3fs (driver spawn %.3fs), '
            'docker run -d %.3fs, ratio %.2f'
            % (label, nova, spawn, docker, nova / docker))

    def test_bench(self):
        image = self.service_image('bench')
        flavor_id = self.container_flavor()
        say()
        say('median of %d, cached image, networks none:' % ROUNDS)
        nova, docker, spawn = self._measure(image, flavor_id)
        self._report('default configuration:', nova, docker, spawn)
        say('RATIO %.2f (goal <= 3)' % (nova / docker))
