"""Benchmark (not a test): POST /servers -> ACTIVE in the running cloud.

Run by ``tools/bench-cloud`` with the cloud's own Python (openstacksdk).
Every service runs as in a deployment: separate processes, RabbitMQ, the
databases of ``tools/cloud up``. Boots servers of the ``c1.small`` flavor
from the ``busybox`` image with ``networks: none`` (the image cached on
the engine by a first boot), timing each from the POST until the API says
ACTIVE (polled every 50 ms; each GET costs nova-api 40-80 ms of the same
CPUs the build needs, and ``launched_at`` is stored in whole seconds),
and a raw ``docker run -d --network none`` of the same engine image and
command, alternately so that both see the same load. Prints the medians
and their ratio (goal: at most 3).
"""
import argparse
import json
import statistics
import subprocess
import sys
import time

import openstack

POLL = 0.05
TIMEOUT = 120


def wait_status(conn, server_id, status):
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
        time.sleep(POLL)


def delete(conn, server_id):
    conn.compute.delete_server(server_id)
    conn.compute.wait_for_delete(conn.compute.get_server(server_id),
                                 interval=0.2, wait=TIMEOUT)


def boot(conn, image, flavor):
    started = time.monotonic()
    server = conn.compute.create_server(
        name='bench', image_id=image.id, flavor_id=flavor.id,
        networks='none')
    wait_status(conn, server.id, 'ACTIVE')
    return server.id, time.monotonic() - started


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cloud', default='pydock')
    parser.add_argument('--rounds', type=int, default=10)
    args = parser.parse_args()
    conn = openstack.connect(cloud=args.cloud, compute_api_version='2.37')
    image = conn.image.find_image('busybox', ignore_missing=False)
    flavor = conn.compute.find_flavor('c1.small', ignore_missing=False)

    warm_id, _ = boot(conn, image, flavor)
    command = command_of(warm_id)
    delete(conn, warm_id)
    ref = 'pydock-glance:%s' % image.id

    nova, docker = [], []
    for _ in range(args.rounds):
        server_id, elapsed = boot(conn, image, flavor)
        nova.append(elapsed)
        delete(conn, server_id)
        docker.append(docker_run(ref, command))
    nova_median = statistics.median(nova)
    docker_median = statistics.median(docker)
    print('median of %d, cached image, networks none: POST /servers -> '
          'ACTIVE %.3fs, docker run -d %.3fs'
          % (args.rounds, nova_median, docker_median))
    print('RATIO %.2f (goal <= 3)' % (nova_median / docker_median))


if __name__ == '__main__':
    main()
