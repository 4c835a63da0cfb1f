"""Benchmark (not a test): POST /servers -> ACTIVE in the running cloud.

Run by ``tools/bench-cloud`` with the cloud's own Python (openstacksdk).
Every service runs as in a deployment: separate processes, RabbitMQ, the
databases of ``tools/cloud up``. Boots servers of the ``c1.small`` flavor
from the ``busybox`` image (the image cached on the engine by a first
boot) two ways, each against its raw counterpart, all four in turn so
that all see the same load, and prints the medians and one ratio for
each (goal: at most 3):

- ``networks: none`` against ``docker run -d --network none`` of the
  same engine image and command;
- a Neutron port on ``demo``, as users boot, against ``docker run -d``
  plus the same veth plumbing done by hand onto an Open vSwitch bridge
  of the bench's own (``raw_boot``).

Each boot is timed from just before the POST to the time stamp of
nova-compute's log line "Took N seconds to build instance." for it
(milliseconds, this host's clock and time zone). Nova logs it after it
has saved the server ACTIVE, so it is never early. Nova's own
instance-action stamps would do with SQLite, but MariaDB keeps them in
whole seconds, as it does ``launched_at``. Watching the API closely
instead distorts what it measures: each GET costs nova-api 40-80 ms of
the same two CPUs the build needs, so a 50 ms poll slows the build it
times, and adds up to a poll interval on top. The bench polls every
``--poll`` seconds (0.5) only to know when the server is ACTIVE, and
prints what that poll saw too.
"""
import argparse
import contextlib
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

import openstack
import raw_boot

TIMEOUT = 120


def wait_status(conn, server_id, status, poll):
    deadline = time.monotonic() + TIMEOUT
    while True:
        server = conn.compute.get_server(server_id)
        if server.status == status and server.task_state is None:
            return server
        if server.status == 'ERROR':
            sys.exit('bench-cloud: server %s went to ERROR: %s'
                     % (server_id, server.fault))
        if time.monotonic() > deadline:
            sys.exit('bench-cloud: server %s not %s after %ds'
                     % (server_id, status, TIMEOUT))
        time.sleep(poll)


def delete(conn, server_id):
    conn.compute.delete_server(server_id)
    conn.compute.wait_for_delete(conn.compute.get_server(server_id),
                                 interval=0.2, wait=TIMEOUT)


@contextlib.contextmanager
def booted(conn, image, flavor, poll, compute_log, networks='none'):
    """Boot a server; yield (id, seconds until nova-compute logged it
    built, seconds until the poll saw it ACTIVE); delete it, even when
    the bench fails."""
    log_offset = os.path.getsize(compute_log)
    started = time.time()
    server = conn.compute.create_server(
        name='bench', image_id=image.id, flavor_id=flavor.id,
        networks=networks)
    try:
        wait_status(conn, server.id, 'ACTIVE', poll)
        polled = time.time() - started
        built = build_logged(compute_log, log_offset, server.id)
        yield server.id, built - started, polled
    finally:
        delete(conn, server.id)


def build_logged(compute_log, offset, server_id):
    """When nova-compute logged that it built the server (epoch seconds)."""
    marker = '[instance: %s] Took ' % server_id
    with open(compute_log) as log:
        log.seek(offset)
        for line in log:
            if marker in line and 'seconds to build instance' in line:
                stamp = datetime.datetime.strptime(line[:23],
                                                   '%Y-%m-%d %H:%M:%S.%f')
                return stamp.timestamp()
    sys.exit('bench-cloud: %s does not say that server %s was built'
             % (compute_log, server_id))


def docker_run(ref, command):
    started = time.monotonic()
    run = subprocess.run(['docker', 'run', '-d', '--network', 'none', ref]
                         + command, capture_output=True, text=True,
                         check=True, timeout=TIMEOUT)
    elapsed = time.monotonic() - started
    subprocess.run(['docker', 'rm', '-f', run.stdout.strip()],
                   capture_output=True, check=True, timeout=TIMEOUT)
    return elapsed


def command_of(server_id):
    inspect = subprocess.run(
        ['docker', 'inspect', '-f', '{{json .Config.Cmd}}',
         'nova-%s' % server_id], capture_output=True, text=True, check=True)
    return json.loads(inspect.stdout)


def raw_port_boot(net, n, ref, command, memory_mb):
    """Seconds of ``docker run -d`` plus a port plumbed by hand; the
    container and its port are removed afterwards."""
    label = 'pydock-bench-cloud=%d-%d' % (os.getpid(), n)
    started = time.monotonic()
    net.boot(n, ref, command, memory_mb, label)
    elapsed = time.monotonic() - started
    net.remove(n, label)
    return elapsed


class Samples:
    """Seconds per boot, by kind."""

    def __init__(self):
        self.nova, self.polled, self.raw = [], [], []

    def print(self, what, raw_what, poll):
        nova, raw = statistics.median(self.nova), statistics.median(self.raw)
        print('median of %d, cached image, %s: POST /servers -> ACTIVE '
              '%.3fs (as nova-compute logged it; a %.2fs poll saw it at '
              '%.3fs), %s %.3fs'
              % (len(self.nova), what, nova, poll,
                 statistics.median(self.polled), raw_what, raw))
        print('RATIO %.2f %s (goal <= 3)' % (nova / raw, what))


def nova_boot(conn, image, flavor, args, samples, networks):
    with booted(conn, image, flavor, args.poll, args.compute_log,
                networks) as (_, elapsed, seen):
        samples.nova.append(elapsed)
        samples.polled.append(seen)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cloud', default='pydock')
    parser.add_argument('--rounds', type=int, default=10)
    parser.add_argument('--compute-log', required=True,
                        help="nova-compute's log file")
    parser.add_argument('--poll', type=float, default=0.5,
                        help='seconds between GETs while waiting for ACTIVE')
    parser.add_argument('--raw-subnet', required=True,
                        help="the raw containers' subnet (on a bridge and "
                             "in a namespace of the bench's own)")
    parser.add_argument('--datapath', default='netdev',
                        help="Open vSwitch datapath of the cloud's bridges")
    args = parser.parse_args()
    conn = openstack.connect(cloud=args.cloud, compute_api_version='2.37')
    image = conn.image.find_image('busybox', ignore_missing=False)
    flavor = conn.compute.find_flavor('c1.small', ignore_missing=False)
    demo = [{'uuid': conn.network.find_network(
        'demo', ignore_missing=False).id}]

    with booted(conn, image, flavor, args.poll, args.compute_log) as warm:
        command = command_of(warm[0])
    ref = 'pydock-glance:%s' % image.id

    unplugged, ported = Samples(), Samples()
    with raw_boot.RawNetwork(str(os.getpid() % 100000), args.raw_subnet,
                             args.datapath) as net:
        for n in range(args.rounds):
            nova_boot(conn, image, flavor, args, unplugged, 'none')
            unplugged.raw.append(docker_run(ref, command))
            nova_boot(conn, image, flavor, args, ported, demo)
            ported.raw.append(raw_port_boot(net, n, ref, command,
                                            flavor.ram))
    unplugged.print('networks none', 'docker run -d', args.poll)
    ported.print('a port on demo', 'docker run -d + veth on OVS by hand',
                 args.poll)


if __name__ == '__main__':
    main()
