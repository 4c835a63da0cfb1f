"""What the cloud leaves in the Docker engines: instance containers
(labelled with the compute host) and the images Glance's images became.

Only these are touched: other engineers' and clouds' containers and
images on the shared engine stay. The private engines of hosts 2..N
hold this cloud's alone; their data goes with the state (``--purge``).
"""
import os
import sqlite3
import subprocess

import hosts as hosts_mod


def containers(host):
    """IDs of the instance containers of compute host ``host``."""
    res = subprocess.run(
        hosts_mod.docker_argv(host) + [
            'ps', '-aq', '--filter',
            'label=org.openstack.nova.compute-host=%s' % host.name],
        check=False, capture_output=True, text=True)
    return res.stdout.split() if res.returncode == 0 else []


def stop(host):
    """Stop ``host``'s instance containers; returns their IDs."""
    ids = containers(host)
    if ids:
        subprocess.run(hosts_mod.docker_argv(host) + ['stop', '-t', '5']
                       + ids, check=False, capture_output=True)
    return ids


def unmount_engines(state):
    """Unmount what a stopped private engine left mounted below
    ``state``/engines (normally nothing), deepest first."""
    root = os.path.join(state, 'engines') + '/'
    with open('/proc/self/mountinfo') as f:
        points = [line.split()[4] for line in f]
    said = []
    for point in sorted((p for p in points if p.startswith(root)),
                        key=len, reverse=True):
        subprocess.run(['umount', '-l', point], check=False,
                       capture_output=True)
        said.append('unmounted %s' % point)
    return said


def remove_images(cloud):
    """Remove the engine's copies of every image this cloud's Glance ever
    held (deleted ones too: Glance keeps their rows), and the local builds
    of busybox and busybox-ssh."""
    images_dir = os.path.join(cloud.state, 'glance', 'layers', 'images')
    ids = set(os.listdir(images_dir) if os.path.isdir(images_dir) else [])
    db = os.path.join(cloud.state, 'db', 'glance.sqlite')
    if os.path.exists(db):
        try:
            with sqlite3.connect(db) as conn:
                ids.update(row[0] for row in conn.execute(
                    'SELECT id FROM images'))
        except sqlite3.Error:
            pass
    subprocess.run(['docker', 'rmi', 'pydock-cloud/busybox:latest',
                    'pydock-cloud/busybox-ssh:latest'],
                   check=False, capture_output=True)
    n = 0
    for image_id in sorted(ids):
        res = subprocess.run(['docker', 'rmi', 'pydock-glance:%s' % image_id],
                             check=False, capture_output=True)
        n += res.returncode == 0
    return n
