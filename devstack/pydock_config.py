#!/usr/bin/env python3
"""What nova-pydock changes in an OpenStack deployment: the one place.

Both the devstack plugin (``devstack/plugin.sh``, through this file's
command line and devstack's ``iniset``) and the one-command cloud
(``tools/cloud``, by import) take their nova-compute, nova-api and
nova-scheduler, and glance-api settings and their flavors from here, so
the two cannot drift apart.
Standard library only.

Command line (tab-separated lines on stdout)::

    pydock_config.py nova-compute [URL [ROUTE]] section key value
    pydock_config.py nova-controller           section key value
    pydock_config.py glance-api DATADIR [NAME] section key value
    pydock_config.py serial-console URL [ADDR] section key value
    pydock_config.py flavors                   name ram vcpus disk specs
    pydock_config.py quotas                    quota value
    pydock_config.py horizon KEYSTONE_URL STATE_DIR SECRET_KEY
                                               local_settings.py
    pydock_config.py horizon-containers        its lines for containers
"""
import sys

#: nova-compute loads drivers only as nova.virt.<compute_driver>; the
#: project installs the shim module nova.virt.pydock.
COMPUTE_DRIVER = 'pydock.PyDockDriver'

#: Glance's defaults plus "docker", said explicitly: container images are
#: ``docker save`` archives, container_format docker, disk_format raw.
CONTAINER_FORMATS = 'ami,ari,aki,bare,ovf,ova,docker,compressed'
DISK_FORMATS = 'ami,ari,aki,vhd,vhdx,vmdk,raw,qcow2,vdi,iso,ploop'

#: The layered store's glance_store entry point (= its URI scheme).
STORE_DRIVER = 'layers'
DEFAULT_BACKEND = 'local'

#: Flavors for containers: name, RAM MB, vCPUs, root disk GB, extra specs.
#: memory_mb is a hard limit, vcpus a CPU quota; pydock:* keys are
#: validated by Nova's API (nova_pydock.extra_specs).
FLAVORS = [
    ('c1.tiny', 128, 1, 1, {
        'pydock:pids_limit': '128',
        'pydock:ulimit_nofile': '1024',
        'quota:cpu_shares': '512',
    }),
    ('c1.small', 512, 1, 2, {
        'pydock:pids_limit': '512',
        'pydock:shm_size_mb': '64',
    }),
    ('c1.medium', 2048, 2, 10, {
        'pydock:pids_limit': '1024',
        'pydock:shm_size_mb': '256',
    }),
]


#: Placement's allocation ratios of a container host (nova-compute's
#: ``initial_*_allocation_ratio``: set when the host first reports, then
#: Placement's to change). Why these values: README.md, "Density".
#: A vCPU is a CPU quota (a cap) and shares, never a pinned core: CPU is
#: not what fills a host; high enough that a host runs out of memory
#: first with every c1 flavor up to 21 GiB per core.
CPU_ALLOCATION_RATIO = 512.0
#: memory_mb is a limit, not memory taken: a c1.tiny busybox server uses
#: well under 1 MiB of its 128 MiB; 3 keeps the host safe while the
#: average server stays under a third of its limit.
RAM_ALLOCATION_RATIO = 3.0
#: The root disk is the container's writable layer, not a disk carved
#: out: it holds only what the server writes (image layers are shared).
DISK_ALLOCATION_RATIO = 4.0

#: Quotas of the project users boot in (tools/cloud: admin; devstack:
#: demo): sized for twice the 500 c1.tiny servers of one 24 GiB host, so
#: that the host's inventory, not a quota, stops a burst. Neutron's
#: ports leave room for the network's own (DHCP).
PROJECT_QUOTAS = [
    ('instances', 1000),
    ('cores', 1000),
    ('ram', 1000 * 128),
    ('ports', 1100),
]


def nova_compute(engine_url='unix:///var/run/docker.sock',
                 metadata_route='none'):
    """(section, key, value) for nova-compute's nova.conf.

    ``metadata_route`` is ``[pydock] metadata_route``: ``dhcp`` where
    Neutron's DHCP agents proxy the metadata service (``force_metadata``),
    ``none`` where instances reach it through their router.
    """
    return [
        ('DEFAULT', 'compute_driver', COMPUTE_DRIVER),
        # Containers start in a fraction of a second; no need to wait
        # for a guest OS to shut down.
        ('DEFAULT', 'shutdown_timeout', '10'),
        ('DEFAULT', 'initial_cpu_allocation_ratio',
         str(CPU_ALLOCATION_RATIO)),
        ('DEFAULT', 'initial_ram_allocation_ratio',
         str(RAM_ALLOCATION_RATIO)),
        ('DEFAULT', 'initial_disk_allocation_ratio',
         str(DISK_ALLOCATION_RATIO)),
        ('pydock', 'engine_url', engine_url),
        ('pydock', 'metadata_route', metadata_route),
    ]


def nova_controller():
    """(section, key, value) for nova-api's and nova-scheduler's nova.conf.

    A container resizes on the host it runs on: Nova must allow that
    host, and nova-pydock's weigher makes the scheduler prefer it. The
    driver cannot set an admin password, so the API must not hand out one
    ("adminPass") that the server never gets.
    """
    return [
        ('DEFAULT', 'allow_resize_to_same_host', 'true'),
        ('api', 'enable_instance_password', 'false'),
        ('filter_scheduler', 'weight_classes',
         'nova.scheduler.weights.all_weighers,'
         'nova_pydock.scheduler.InstanceHostWeigher'),
    ]


def serial_console(base_url, proxyclient_address='127.0.0.1'):
    """(section, key, value) for nova-compute's serial consoles.

    ``base_url`` is nova-serialproxy's (``ws://host:6083/``);
    nova-compute listens for the proxy on ``proxyclient_address`` only.
    """
    return [
        ('serial_console', 'enabled', 'true'),
        ('serial_console', 'base_url', base_url),
        ('serial_console', 'proxyclient_address', proxyclient_address),
        ('serial_console', 'port_range', '10000:20000'),
    ]


def glance_api(datadir, backend=DEFAULT_BACKEND, staging_dir=None,
               tasks_dir=None):
    """(section, key, value) for glance-api.conf: layered store default.

    Third-party stores load only in multi-store mode (enabled_backends).
    """
    settings = [
        ('DEFAULT', 'enabled_backends', '%s:%s' % (backend, STORE_DRIVER)),
        ('glance_store', 'default_backend', backend),
        (backend, 'layers_store_datadir', datadir),
        ('image_format', 'container_formats', CONTAINER_FORMATS),
    ]
    if staging_dir:
        settings.append(('os_glance_staging_store',
                         'filesystem_store_datadir', staging_dir))
    if tasks_dir:
        settings.append(('os_glance_tasks_store',
                         'filesystem_store_datadir', tasks_dir))
    return settings


#: Launch Instance for containers: an image is the boot source, never a
#: volume (the driver has no block devices), no "create new volume".
LAUNCH_INSTANCE_DEFAULTS = {
    'create_volume': False,
    'hide_create_volume': True,
    'disable_volume': True,
    'disable_volume_snapshot': True,
    'config_drive': False,
}


def horizon_for_containers():
    """(name, value) of Horizon's settings that containers need, in any
    dashboard (the devstack plugin appends them to devstack's own).

    The driver offers the serial console only: ``CONSOLE_TYPE = "SERIAL"``
    asks Nova for it at once ("AUTO" tries VNC, SPICE and RDP first, on
    every opening of the Console tab). The tab shows the console in a
    frame of the dashboard's own pages, which Django's default
    ``X-Frame-Options: DENY`` blanks: SAMEORIGIN allows it.
    """
    return [
        ('CONSOLE_TYPE', 'SERIAL'),
        ('X_FRAME_OPTIONS', 'SAMEORIGIN'),
        ('LAUNCH_INSTANCE_DEFAULTS', LAUNCH_INSTANCE_DEFAULTS),
        ('OPENSTACK_HYPERVISOR_FEATURES', {
            'can_set_mount_point': False, 'can_set_password': False,
            'requires_keypair': False, 'enable_quotas': True}),
    ]


def horizon(keystone_url, state_dir, secret_key):
    """(name, value) for tools/cloud's whole local_settings.py.

    Sessions live in files under ``state_dir`` and the secret key is
    fixed, so a restart of the dashboard keeps everyone logged in; static
    files are collected and compressed offline into ``state_dir``.
    """
    static_root = state_dir + '/static'
    return [
        ('DEBUG', False),
        ('ALLOWED_HOSTS', ['127.0.0.1', 'localhost']),
        ('SECRET_KEY', secret_key),
        ('OPENSTACK_KEYSTONE_URL', keystone_url + '/v3'),
        ('OPENSTACK_KEYSTONE_DEFAULT_DOMAIN', 'Default'),
        ('OPENSTACK_KEYSTONE_DEFAULT_ROLE', 'member'),
    ] + horizon_for_containers() + [
        ('SESSION_ENGINE', 'django.contrib.sessions.backends.file'),
        ('SESSION_FILE_PATH', state_dir + '/sessions'),
        ('CACHES', {'default': {
            'BACKEND': 'django.core.cache.backends.filebased.FileBasedCache',
            'LOCATION': state_dir + '/cache'}}),
        ('STATIC_ROOT', static_root),
        ('COMPRESS_ROOT', static_root),
        ('COMPRESS_OFFLINE', True),
        ('TIME_ZONE', 'UTC'),
    ]


def render_python(settings):
    """Settings as the text of a Python module (local_settings.py)."""
    lines = ['# Generated by nova-pydock (devstack/pydock_config.py).']
    lines += ['%s = %r' % kv for kv in settings]
    return '\n'.join(lines) + '\n'


def render_ini(settings):
    """Settings as ini text: {section: text} (for templates)."""
    out = {}
    for section, key, value in settings:
        out.setdefault(section, []).append('%s = %s' % (key, value))
    return {section: '\n'.join(lines) for section, lines in out.items()}


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    what, args = argv[0], argv[1:]
    if what == 'nova-compute':
        rows = nova_compute(*args)
    elif what == 'nova-controller':
        rows = nova_controller()
    elif what == 'serial-console' and args:
        rows = serial_console(*args)
    elif what == 'glance-api' and args:
        rows = glance_api(*args)
    elif what == 'horizon' and len(args) == 3:
        sys.stdout.write(render_python(horizon(*args)))
        return 0
    elif what == 'horizon-containers' and not args:
        sys.stdout.write(render_python(horizon_for_containers()))
        return 0
    elif what == 'quotas' and not args:
        rows = PROJECT_QUOTAS
    elif what == 'flavors':
        rows = [(name, ram, vcpus, disk,
                 ' '.join('%s=%s' % kv for kv in sorted(specs.items())))
                for name, ram, vcpus, disk, specs in FLAVORS]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for row in rows:
        print('\t'.join(str(col) for col in row))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
