"""Configuration options of the driver, all in the ``[pydock]`` group.

``etc/nova-pydock.conf.sample`` is generated from :func:`list_opts`
(``tox -e genconfig``); a unit test keeps the committed sample true.
"""
from oslo_config import cfg
from oslo_config import types

GROUP = cfg.OptGroup(
    'pydock',
    title='nova-pydock compute driver',
    help='Options of the nova-pydock compute driver, which runs every Nova '
         'instance as a container on a Docker-compatible engine. Set '
         '``[DEFAULT] compute_driver = pydock.PyDockDriver`` to use it.')

ENGINE_OPTS = [
    cfg.StrOpt(
        'engine_url',
        default='unix:///var/run/docker.sock',
        help='URL of the Docker Engine API. A local unix socket '
             '(``unix:///path``) is the supported transport; Podman\'s '
             'Docker-compatible socket works too.'),
    cfg.IntOpt(
        'engine_timeout',
        default=120, min=1,
        help='Seconds to wait for one engine API call before giving up.'),
    cfg.IntOpt(
        'engine_retries',
        default=3, min=0,
        help='How many times an engine call is retried after a transient '
             'error (connection refused or reset, engine busy). Calls that '
             'change state are retried only where repeating them is safe.'),
    cfg.FloatOpt(
        'engine_retry_interval',
        default=1.0, min=0,
        help='Seconds between two tries of a failed engine call; doubled '
             'after every try.'),
    cfg.IntOpt(
        'image_load_timeout',
        default=1800, min=1,
        help='Seconds a Glance image may take to stream into the engine. '
             'Spawns that wait for the same image wait as long.'),
]

INSTANCE_OPTS = [
    cfg.IntOpt(
        'graceful_stop_timeout',
        default=10, min=0,
        help='Seconds a container gets to stop after SIGTERM before it is '
             'killed, when Nova does not give a timeout itself (soft '
             'reboot, stop without clean-shutdown timeout).'),
    cfg.FloatOpt(
        'startup_check_seconds',
        default=0, min=0,
        help='How long spawn watches a container after starting it. A '
             'process that exits in that time fails the spawn, and its exit '
             'code and last log lines go into the fault message; every '
             'spawn takes this much longer. At 0, spawn checks once, right '
             'after the start. A container that stops after the check, at '
             'any setting, is reported to Nova as stopped (the server goes '
             'SHUTOFF) and logged with its exit code and last output lines.'),
    cfg.FloatOpt(
        'stopped_event_delay',
        default=2.0, min=0,
        help='Seconds between a container stopping on its own and the '
             'driver telling Nova, which then marks the server SHUTOFF. '
             'Nova ignores the report while the instance has a task under '
             'way (a spawn that is completing), so it waits this long; a '
             'start in the meantime cancels it.'),
    cfg.IntOpt(
        'engine_restart_concurrency',
        default=4, min=1,
        help='How many containers the driver starts at a time after the '
             'engine restarted without live restore (dockerd without '
             '``--live-restore`` stops every container on its way down): '
             'each one whose server Nova has ACTIVE, PAUSED or SUSPENDED '
             'runs again with its ports plugged anew. With live restore '
             'the containers keep running and nothing is started.'),
    cfg.IntOpt(
        'console_log_max_bytes',
        default=64 * 1024, min=1024,
        help='Upper bound on what get_console_output returns: the most '
             'recent bytes of the container\'s log.'),
    cfg.IntOpt(
        'console_log_file_mb',
        default=10, min=0,
        help='Size in MiB at which the engine rotates the log of a '
             'container it creates (the server\'s console log: its '
             'output), keeping one rotated file, so that a server\'s log '
             'takes at most twice this on the engine\'s disk. 0 leaves '
             'logging to the engine\'s own configuration (daemon.json '
             '``log-driver``, ``log-opts``), which for the default '
             'json-file driver bounds nothing. Applies to containers '
             'created from then on (a spawn, rebuild or resize to a new '
             'container).'),
    cfg.FloatOpt(
        'console_send_timeout',
        default=30.0, min=1,
        help='Seconds a serial console client may leave the server\'s '
             'output unread before its session is ended (and the shell '
             'started for it). A client that never reads loses its own '
             'session; other consoles and nova-compute never wait for it. '
             'Consoles are enabled by ``[serial_console] enabled``.'),
    cfg.IntOpt(
        'pids_limit',
        default=1024, min=16,
        help='Default limit on the number of processes in one container. '
             'A flavor may lower it with ``pydock:pids_limit``; raising it '
             'beyond this value is refused.'),
    cfg.ListOpt(
        'allowed_cap_add',
        default=[],
        help='Linux capabilities (without ``CAP_``) that a flavor may add '
             'back with the ``pydock:cap_add`` extra spec. Empty means a '
             'flavor can never add a capability. Image properties can never '
             'loosen the security profile.'),
    cfg.ListOpt(
        'blkio_devices',
        default=[],
        help='Block devices (paths such as ``/dev/vda``) that the disk '
             'throttles of a flavor (``quota:disk_read_bytes_sec``, '
             '``quota:disk_write_iops_sec``, ...) apply to. Empty means the '
             'disk that holds the engine\'s data root, found when the '
             'service starts. If no device is known, a flavor with disk '
             'throttles fails to build on this host rather than run '
             'unthrottled.'),
]

CONFIG_DRIVE_OPTS = [
    cfg.StrOpt(
        'config_drive_dir',
        default='$instances_path/pydock-config-drives',
        help='Host directory that holds the config drives of this host\'s '
             'instances, one directory per instance UUID, written when Nova '
             'asks for a config drive (``--config-drive true``, ``[DEFAULT] '
             'force_config_drive``, image property ``img_config_drive='
             'mandatory``). The driver keeps it readable by the user '
             'nova-compute runs as only (mode 0700). It must survive a '
             'reboot of the host, like the instances\' disks: a container '
             'whose drive is gone cannot start.'),
    cfg.ListOpt(
        'config_drive_mount_points',
        default=['/config-drive', '/var/lib/cloud/seed/config_drive'],
        help='Where an instance\'s container sees its config drive, '
             'read-only: absolute paths, at least one. ``/config-drive`` '
             'is where nova-lxd put it; ``/var/lib/cloud/seed/'
             'config_drive`` is the seed directory that cloud-init\'s '
             'ConfigDrive data source reads before it looks for a disk, so '
             'images with cloud-init use the drive as they would on a VM.'),
]

NETWORK_OPTS = [
    cfg.StrOpt(
        'metadata_route',
        default='none', choices=[
            ('none', 'no route of its own: instances reach 169.254.169.254 '
                     'through their default gateway (a Neutron router '
                     'whose L3 agent proxies the metadata service), or '
                     'through a host route of the subnet'),
            ('dhcp', 'a route to 169.254.169.254/32 via the DHCP port of '
                     'the first IPv4 subnet (of the first port) that has '
                     'one, where Neutron\'s DHCP agent proxies the '
                     'metadata service')],
        help='The route to the metadata service (169.254.169.254) that '
             'an instance\'s container gets when its ports are plugged. '
             'Neutron offers that route over DHCP, which containers do '
             'not run: the driver adds what the DHCP agent would offer. '
             'Choose ``dhcp`` when the DHCP agents run with '
             '``force_metadata = true``, or with '
             '``enable_isolated_metadata = true`` and the instances\' '
             'subnets have no router; ``none`` (Neutron\'s defaults) '
             'otherwise. A host route of the subnet to 169.254.169.254/32 '
             'is always used and takes precedence.'),
    cfg.ListOpt(
        'port_announce_delays',
        item_type=types.Float(min=0, max=300),
        default=[1.0, 2.0, 4.0, 8.0, 16.0],
        help='Seconds after a container\'s ports are plugged at which '
             'their addresses are announced again (gratuitous ARP, '
             'unsolicited neighbour advertisement), besides the '
             'announcement at the plug itself. A port that comes up on '
             'another host (cold migration, resize to another host, '
             'evacuation) keeps its MAC and addresses; switches still '
             'send its frames to where it was until it sends one itself, '
             'and the announcement at the plug is lost while Neutron\'s '
             'agent has not yet put the port on its network. Empty: '
             'only the announcement at the plug.'),
]

SCHEDULER_OPTS = [
    cfg.FloatOpt(
        'instance_host_weight_multiplier',
        default=1000.0, min=0,
        help='Read by nova-scheduler, for '
             '``nova_pydock.scheduler.InstanceHostWeigher`` in ``'
             '[filter_scheduler] weight_classes``: how much the host a '
             'server already runs on is preferred when it is scheduled '
             'again (a resize). A container cannot leave its engine, so '
             'the default outweighs every weigher Nova ships at its '
             'default multiplier. The aggregate metadata key '
             '``pydock_instance_host_weight_multiplier`` overrides it per '
             'aggregate.'),
]


ALL_OPTS = (ENGINE_OPTS + INSTANCE_OPTS + CONFIG_DRIVE_OPTS + NETWORK_OPTS
            + SCHEDULER_OPTS)


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(ALL_OPTS, group=GROUP)


def list_opts():
    """Options for oslo-config-generator (entry point ``nova_pydock``)."""
    return [(GROUP, ALL_OPTS)]


CONF = cfg.CONF
register_opts(CONF)
