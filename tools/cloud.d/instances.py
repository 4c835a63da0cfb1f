"""What the cloud leaves in the shared Docker engine: instance containers
(labelled with the compute host) and the images Glance's images became.

Only these are touched: other engineers' and clouds' containers and
images on the same engine stay.
"""
import os
import sqlite3
import subprocess


def containers(host):
    """IDs of the instance containers of compute host ``host``."""
    res = subprocess.run(
        ['docker', 'ps', '-aq', '--filter',
         'label=org.openstack.nova.compute-host=%s' % host],
        check=False, capture_output=True, text=True)
    return res.stdout.split() if res.returncode == 0 else []


def remove_images(cloud):
    """Remove the engine's copies of every image this cloud's Glance ever
    held (deleted ones too: Glance keeps their rows), and the local busybox
    build."""
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
    subprocess.run(['docker', 'rmi', 'pydock-cloud/busybox:latest'],
                   check=False, capture_output=True)
    n = 0
    for image_id in sorted(ids):
        res = subprocess.run(['docker', 'rmi', 'pydock-glance:%s' % image_id],
                             check=False, capture_output=True)
        n += res.returncode == 0
    return n
