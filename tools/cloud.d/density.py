"""Benchmark (not a test): a burst of servers in the running cloud against
the same burst of raw containers, side by side in one run.

Run by ``tools/bench-density`` with the cloud's own Python. Nova's side:
one ``POST /servers`` with ``min_count = max_count = N`` (``c1.tiny``,
``busybox``, a port on ``demo`` each), timed until every server is ACTIVE
and until every one answers TCP on its fixed IP (the busybox image serves
http), then deleted. Raw side: N concurrent ``docker run -d`` of the same
engine image and command with the flavor's limits, each with its veth
plumbed by hand onto an Open vSwitch bridge (``raw_boot``), timed until
every container answers on its address. Prints both, their ratio (goal:
at most 3), the load average around each, and where Nova's burst spent
its time, from nova-compute's log lines of each server:

* queued: POST until "Claim successful" (nova-api, conductor, scheduler,
  Placement, RabbitMQ, the databases, and waiting for one of
  ``max_concurrent_builds``);
* built: the claim until the driver "Plugged port" (Neutron's port,
  image, container created and started, veth plumbed);
* vif-plugged: until "Took N seconds to spawn" (Neutron's agent wires
  the port, Neutron tells Nova ``network-vif-plugged``);
* saved: until "Took N seconds to build" (the ACTIVE state saved).
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time

import openstack
import raw_boot

TIMEOUT = 900
LOG_LINE = re.compile(
    r'^(\S+ \S+) .*\[instance: ([0-9a-f-]{36})\] (Claim successful|'
    r'Plugged port|Took [0-9.]+ seconds to (?:spawn|build))')
PHASES = ('queued', 'built', 'vif-plugged', 'saved')
MARKS = ('Claim successful', 'Plugged port', 'to spawn', 'to build')
#: Processes that are no cloud's own: the engine, Open vSwitch.
SHARED = ('dockerd', 'containerd', 'containerd-shim', 'ovs-vswitchd',
          'ovsdb-server')


def _children():
    """{pid: [child pids]} and {pid: (comm, CPU seconds)} of all processes."""
    tree, usage = {}, {}
    tick = os.sysconf('SC_CLK_TCK')
    for entry in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/%s/stat' % entry) as f:
                head, rest = f.read().rsplit(')', 1)
        except (OSError, ValueError):
            continue
        fields = rest.split()
        tree.setdefault(int(fields[1]), []).append(int(entry))
        usage[int(entry)] = (head.split('(', 1)[1],
                             (int(fields[11]) + int(fields[12])) / tick)
    return tree, usage


def cpu_seconds(run_dir):
    """CPU seconds so far of each cloud service (its process tree: gunicorn
    workers, privsep daemons) and of the engine and Open vSwitch (shared
    with anyone else on the machine)."""
    tree, usage = _children()
    result = {}
    for pidfile in os.listdir(run_dir):
        if not pidfile.endswith('.pid'):
            continue
        with open(os.path.join(run_dir, pidfile)) as f:
            todo = [json.load(f)['pid']]
        total = 0.0
        while todo:
            pid = todo.pop()
            total += usage.get(pid, ('', 0.0))[1]
            todo += tree.get(pid, [])
        result[pidfile[:-4]] = total
    for comm, seconds in usage.values():
        if comm in SHARED:
            result[comm] = result.get(comm, 0.0) + seconds
    return result


def cpu_spent(before, after):
    return {name: after[name] - before.get(name, 0.0) for name in after}


def load():
    return '%.1f' % os.getloadavg()[0]


def wait_active(conn, name, count, poll):
    """{server id: fixed IP} once all ``count`` servers are ACTIVE."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        servers = list(conn.compute.servers(name='^%s-' % name))
        failed = [s for s in servers if s.status == 'ERROR']
        if failed:
            sys.exit('bench-density: %d servers in ERROR, first: %s'
                     % (len(failed), failed[0].fault))
        active = {s.id: s.addresses['demo'][0]['addr'] for s in servers
                  if s.status == 'ACTIVE' and s.addresses.get('demo')}
        if len(active) == count:
            return active
        if time.monotonic() > deadline:
            sys.exit('bench-density: %d of %d servers ACTIVE after %ds'
                     % (len(active), count, TIMEOUT))
        time.sleep(poll)


def reachable(addresses, deadline):
    waiting = set(addresses)
    while waiting and time.monotonic() < deadline:
        waiting -= {a for a in waiting if raw_boot.tcp_answers(a, 80)}
        if waiting:
            time.sleep(0.1)
    if waiting:
        sys.exit('bench-density: no answer from %s' % ', '.join(waiting))


def nova_burst(conn, args, image, flavor, network):
    name = 'density%d' % os.getpid()
    offset = os.path.getsize(args.compute_log)
    cpu_before = cpu_seconds(args.run_dir)
    load_before, started = load(), time.time()
    conn.compute.create_server(
        name=name, image_id=image.id, flavor_id=flavor.id,
        networks=[{'uuid': network.id}], min_count=args.servers,
        max_count=args.servers)
    try:
        active = wait_active(conn, name, args.servers, args.poll)
        all_active = time.time() - started
        reachable(active.values(), time.monotonic() + TIMEOUT)
        all_reachable = time.time() - started
        cpu = cpu_spent(cpu_before, cpu_seconds(args.run_dir))
        phases = phases_of(args.compute_log, offset, started, set(active))
        return {'active': all_active, 'reachable': all_reachable,
                'load': '%s-%s' % (load_before, load()), 'phases': phases,
                'cpu': cpu}
    finally:
        delete_all(conn, name)


def delete_all(conn, name):
    servers = list(conn.compute.servers(name='^%s-' % name))
    for server in servers:
        conn.compute.delete_server(server)
    for server in servers:
        conn.compute.wait_for_delete(server, interval=1, wait=TIMEOUT)


def phases_of(compute_log, offset, started, server_ids):
    """Per phase: (median, max) seconds over the servers, from the log."""
    stamps = {sid: {} for sid in server_ids}
    with open(compute_log) as log:
        log.seek(offset)
        for line in log:
            match = LOG_LINE.match(line)
            if not match or match.group(2) not in stamps:
                continue
            when = datetime.datetime.strptime(
                match.group(1), '%Y-%m-%d %H:%M:%S.%f').timestamp()
            mark = next(m for m in MARKS if m in match.group(3))
            stamps[match.group(2)].setdefault(mark, when)
    spans = {phase: [] for phase in PHASES}
    for marks in stamps.values():
        if len(marks) < len(MARKS):
            continue
        times = [started] + [marks[m] for m in MARKS]
        for phase, begin, end in zip(PHASES, times[:-1], times[1:],
                                     strict=True):
            spans[phase].append(end - begin)
    return {phase: (statistics.median(v), max(v)) if v else None
            for phase, v in spans.items()}


def raw_burst(args, ref, command, memory_mb):
    label = 'pydock-bench-density=%d' % os.getpid()
    load_before, cpu_before = load(), cpu_seconds(args.run_dir)
    with raw_boot.RawNetwork(str(os.getpid() % 100000), args.raw_subnet,
                             args.datapath) as net:
        try:
            started = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(args.servers) as pool:
                addresses = list(pool.map(
                    lambda n: net.boot(n, ref, command, memory_mb, label),
                    range(args.servers)))
            plumbed = time.monotonic() - started
            net.reachable(addresses)
            return {'plumbed': plumbed,
                    'reachable': time.monotonic() - started,
                    'load': '%s-%s' % (load_before, load()),
                    'cpu': cpu_spent(cpu_before, cpu_seconds(args.run_dir))}
        finally:
            ids = subprocess.run(
                ['docker', 'ps', '-aq', '--filter', 'label=' + label],
                capture_output=True, text=True, check=False).stdout.split()
            if ids:
                subprocess.run(['docker', 'rm', '-f'] + ids,
                               capture_output=True, check=False)


def engine_image(conn, image, flavor, network):
    """The engine image and command Nova runs (one boot caches it)."""
    server = conn.compute.create_server(
        name='density-warm', image_id=image.id, flavor_id=flavor.id,
        networks='none')
    try:
        conn.compute.wait_for_server(server, wait=TIMEOUT)
        inspect = subprocess.run(
            ['docker', 'inspect', '-f', '{{json .Config.Cmd}}',
             'nova-%s' % server.id], capture_output=True, text=True,
            check=True)
        return 'pydock-glance:%s' % image.id, json.loads(inspect.stdout)
    finally:
        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server, wait=TIMEOUT)


def report(args, nova, raw):
    print('burst of %d c1.tiny servers on demo: all ACTIVE %.1fs, all '
          'reachable %.1fs (load %s)' % (args.servers, nova['active'],
                                        nova['reachable'], nova['load']))
    print('%d concurrent docker run -d + veth by hand: plumbed %.1fs, all '
          'reachable %.1fs (load %s)' % (args.servers, raw['plumbed'],
                                        raw['reachable'], raw['load']))
    for phase in PHASES:
        span = nova['phases'][phase]
        print('  nova %-12s median %6.1fs  max %6.1fs' % (
            phase, *span) if span else '  nova %s: not in the log' % phase)
    for side, name in ((nova, 'nova burst'), (raw, 'raw burst')):
        spent = sorted(side['cpu'].items(), key=lambda kv: -kv[1])
        print('  CPU seconds during the %s: %s' % (name, ', '.join(
            '%s %.1f' % kv for kv in spent if kv[1] >= 0.5)))
    print('RATIO %.2f (all reachable; goal <= 3)'
          % (nova['reachable'] / raw['reachable']))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cloud', default='pydock')
    parser.add_argument('--servers', type=int, default=50)
    parser.add_argument('--compute-log', required=True)
    parser.add_argument('--run-dir', required=True,
                        help="the cloud's PID files")
    parser.add_argument('--raw-subnet', required=True,
                        help="the raw containers' subnet (on a bridge and "
                             'in a namespace of their own)')
    parser.add_argument('--datapath', default='netdev',
                        help="Open vSwitch datapath of the cloud's bridges")
    parser.add_argument('--poll', type=float, default=1.0)
    args = parser.parse_args()
    # gunicorn may close an idle keep-alive connection just as the next
    # poll reuses it: retry (keystoneauth does not by default).
    conn = openstack.connect(cloud=args.cloud, connect_retries=3)
    image = conn.image.find_image('busybox', ignore_missing=False)
    flavor = conn.compute.find_flavor('c1.tiny', ignore_missing=False)
    network = conn.network.find_network('demo', ignore_missing=False)
    ref, command = engine_image(conn, image, flavor, network)
    raw = raw_burst(args, ref, command, flavor.ram)
    nova = nova_burst(conn, args, image, flavor, network)
    report(args, nova, raw)


if __name__ == '__main__':
    main()
