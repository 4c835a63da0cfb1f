"""Flavor -> container limits: the engine's host config for one instance.

:func:`host_config_for` turns a Nova flavor into the keyword arguments of
the docker SDK's ``APIClient.create_host_config``: resource limits from
``memory_mb``, ``vcpus`` and the standard ``quota:`` extra specs,
container-only knobs from ``pydock:`` extra specs, all on top of the
hardened profile of :mod:`nova_pydock.security`. It is pure: it reads the
flavor, the ``[pydock]`` options and a list of block devices it is given,
and touches neither the engine nor the host.

Errors tell Nova's compute manager what to do next:

* :class:`nova.exception.InvalidInput` when the flavor itself cannot work
  with this driver (a malformed or out-of-range value, ``/dev/shm`` larger
  than the memory). The build is aborted without rescheduling, since
  every host would refuse the same flavor.
* :class:`nova.exception.InstanceDeployFailure` when this host's policy
  refuses the flavor (a capability not in its ``allowed_cap_add``, a pids
  limit above its own, disk throttles but no known disk). Nova reschedules
  to another host, which may be configured differently.

A resize changes an existing container in place: :func:`in_place_limits`
picks what the engine can update, :func:`fixed_at_creation` names what
differs but only a new container could change.
"""
from nova import exception
from oslo_utils import strutils

from nova_pydock import extra_specs
from nova_pydock import security

MIB = 1024 * 1024

# The engine refuses memory limits below 6 MiB.
MIN_MEMORY_MB = 6
# CFS bandwidth control: the kernel's default period and its bounds (the
# same bounds Nova documents for ``quota:cpu_period``).
CPU_PERIOD_US = 100000
MIN_CPU_PERIOD_US = 1000
MAX_CPU_PERIOD_US = 1000000
MIN_CPU_QUOTA_US = 1000
# cpu.shares weight of one vCPU, and the kernel's bounds for shares.
SHARES_PER_VCPU = 1024
MIN_CPU_SHARES = 2
MAX_CPU_SHARES = 262144

QUOTA = 'quota:'
# With a read-only root, what programs expect to write to stays writable:
# memory file systems, counted in the flavor's memory like /dev/shm. The
# paths are inside the container, not the host's.
READ_ONLY_ROOT_SCRATCH = {
    '/tmp': 'rw,nosuid,nodev,noexec,size=64m',  # noqa: S108
    '/run': 'rw,nosuid,nodev,noexec,size=16m',
}
PYDOCK = extra_specs.NAMESPACE + ':'
DISK_METRICS = (('bytes', 'bps'), ('iops', 'iops'))
# What the engine's container update changes (``docker update``); the
# rest of a host config is fixed when the container is created.
UPDATABLE = ('mem_limit', 'memswap_limit', 'cpu_period', 'cpu_quota',
             'cpu_shares')


def host_config_for(flavor, conf, blkio_devices=()):
    """Keyword arguments for ``create_host_config`` for this flavor.

    :param flavor: a ``nova.objects.Flavor`` (``memory_mb``, ``vcpus``,
        ``extra_specs``); ``instance.flavor`` in the driver.
    :param conf: the ``[pydock]`` option group (``CONF.pydock``); reads
        ``pids_limit`` and ``allowed_cap_add``.
    :param blkio_devices: paths of the block devices that ``quota:disk_*``
        throttles apply to (``[pydock] blkio_devices``, or the disk of
        the engine's data root); only needed when a flavor throttles.
    :returns: a new dict; ``network_mode`` is ``'none'``.
    :raises nova.exception.InvalidInput: the flavor cannot work here.
    :raises nova.exception.InstanceDeployFailure: this host's policy
        refuses the flavor.
    """
    refuse_local_disks(flavor)
    specs = dict(flavor.extra_specs or {})
    knobs = _pydock_knobs(specs)
    config = security.security_host_config(
        allowed_capabilities(knobs.get('pydock:cap_add', ''), conf))
    config.update(memory_limits(flavor.memory_mb,
                                _int(knobs, 'pydock:shm_size_mb')))
    config.update(cpu_limits(flavor.vcpus, specs))
    config.update(disk_throttles(specs, blkio_devices))
    config['pids_limit'] = pids_limit(_int(knobs, 'pydock:pids_limit'),
                                      conf.pids_limit)
    if 'pydock:read_only_root' in knobs:
        config['read_only'] = strutils.bool_from_string(
            knobs['pydock:read_only_root'], strict=True)
        if config['read_only']:
            config['tmpfs'] = dict(READ_ONLY_ROOT_SCRATCH)
    nofile = _int(knobs, 'pydock:ulimit_nofile')
    if nofile is not None:
        config['ulimits'] = [{'name': 'nofile', 'soft': nofile,
                              'hard': nofile}]
    return config


def in_place_limits(config):
    """The part of a host config that an existing container can take."""
    return {key: config[key] for key in UPDATABLE if key in config}


def fixed_at_creation(old_config, new_config):
    """Sorted host config keys that differ and no update can change.

    The engine only updates a limit to another value: one that a new
    flavor drops cannot be taken away from an existing container either.
    """
    return sorted(
        key for key in set(old_config) | set(new_config)
        if old_config.get(key) != new_config.get(key)
        and not (key in UPDATABLE and key in new_config))


def refuse_local_disks(flavor):
    """An ephemeral disk or a swap device cannot be given to a container.

    A container's one file system is its root, the image's layers and a
    writable layer in the engine's storage; there is no block device to
    add, and swap beyond the memory would break the memory limit that
    Placement sold. A flavor that asks for either would otherwise boot
    without it, silently.
    """
    asked = []
    if flavor.ephemeral_gb:
        asked.append('an ephemeral disk of %s GB' % flavor.ephemeral_gb)
    if flavor.swap:
        asked.append('%s MB of swap' % flavor.swap)
    if asked:
        raise exception.InvalidInput(
            reason='flavor %s asks for %s: a container has no disk but '
                   'its root file system (nova-pydock offers no ephemeral '
                   'disk and no swap)' % (flavor.name, ' and '.join(asked)))


def memory_limits(memory_mb, shm_size_mb=None):
    """A hard memory limit of ``memory_mb`` and no swap beyond it.

    ``memswap_limit`` is memory plus swap, so equal to the memory limit it
    leaves no swap: like a VM, the instance has exactly the RAM Placement
    gave it. ``/dev/shm`` lives in that memory, so it may not be larger.
    """
    if memory_mb < MIN_MEMORY_MB:
        raise exception.InvalidInput(
            reason='flavor memory_mb=%s is below the %s MiB a container '
                   'needs at least' % (memory_mb, MIN_MEMORY_MB))
    limit = memory_mb * MIB
    limits = {'mem_limit': limit, 'memswap_limit': limit}
    if shm_size_mb is not None:
        if shm_size_mb > memory_mb:
            raise exception.InvalidInput(
                reason='flavor extra spec pydock:shm_size_mb=%s exceeds the '
                       'flavor\'s memory_mb=%s' % (shm_size_mb, memory_mb))
        limits['shm_size'] = shm_size_mb * MIB
    return limits


def cpu_limits(vcpus, specs):
    """CFS quota for ``vcpus`` CPUs, weight by vCPU, ``quota:cpu_*`` on top.

    The ``quota:cpu_*`` specs mean what they mean to the libvirt driver:
    ``quota:cpu_period`` is the enforcement period in microseconds and
    ``quota:cpu_quota`` the runtime *each vCPU* may use per period. A
    container has no vCPU threads, so its one quota is the per-vCPU quota
    times ``vcpus``. A vCPU can never run on more than one host CPU, so a
    per-vCPU quota above the period, or a negative one ("unlimited"), gives
    exactly ``vcpus`` CPUs, which is also what Placement allocated. ``0``
    means "not set", as in libvirt. ``quota:cpu_shares`` replaces the
    default weight of 1024 per vCPU.
    """
    period = _quota_int(specs, 'quota:cpu_period')
    if not period:
        period = CPU_PERIOD_US
    elif not MIN_CPU_PERIOD_US <= period <= MAX_CPU_PERIOD_US:
        raise _bad_spec('quota:cpu_period', period,
                        'must be 0 (unset) or between %d and %d '
                        'microseconds' % (MIN_CPU_PERIOD_US,
                                          MAX_CPU_PERIOD_US))
    per_vcpu = _quota_int(specs, 'quota:cpu_quota')
    if per_vcpu is None or per_vcpu <= 0:
        per_vcpu = period
    elif per_vcpu < MIN_CPU_QUOTA_US:
        raise _bad_spec('quota:cpu_quota', per_vcpu,
                        'must be negative (unlimited), 0 (unset) or at '
                        'least %d microseconds' % MIN_CPU_QUOTA_US)
    shares = _quota_int(specs, 'quota:cpu_shares')
    if not shares:
        shares = max(MIN_CPU_SHARES,
                     min(MAX_CPU_SHARES, SHARES_PER_VCPU * vcpus))
    elif not MIN_CPU_SHARES <= shares <= MAX_CPU_SHARES:
        raise _bad_spec('quota:cpu_shares', shares,
                        'must be 0 (unset) or between %d and %d'
                        % (MIN_CPU_SHARES, MAX_CPU_SHARES))
    return {'cpu_period': period,
            'cpu_quota': min(per_vcpu, period) * vcpus,
            'cpu_shares': shares}


def disk_throttles(specs, devices):
    """Engine blkio throttles from the ``quota:disk_*`` specs.

    The kernel throttles reads and writes separately; there is no combined
    limit. A ``quota:disk_total_*`` therefore bounds each direction on its
    own, and where a direction has its own limit too, the smaller one
    wins. ``0`` means unlimited. Throttles need a device: all of
    ``devices`` get the same limits, and with throttles but no device the
    host refuses the flavor rather than run it unthrottled.
    """
    rates = {}
    for unit, engine_unit in DISK_METRICS:
        total = _disk_rate(specs, 'quota:disk_total_%s_sec' % unit)
        for direction in ('read', 'write'):
            own = _disk_rate(specs, 'quota:disk_%s_%s_sec' % (direction,
                                                              unit))
            limits = [rate for rate in (own, total) if rate]
            if limits:
                rates['device_%s_%s' % (direction, engine_unit)] = min(
                    limits)
    if not rates:
        return {}
    if not devices:
        raise exception.InstanceDeployFailure(
            reason='the flavor throttles disk I/O (quota:disk_*) but this '
                   'host knows no block device to throttle; set [pydock] '
                   'blkio_devices')
    return {key: [{'Path': device, 'Rate': rate} for device in devices]
            for key, rate in sorted(rates.items())}


def pids_limit(flavor_limit, host_limit):
    """The flavor's ``pydock:pids_limit`` if it only lowers the host's."""
    if flavor_limit is None:
        return host_limit
    if flavor_limit > host_limit:
        raise exception.InstanceDeployFailure(
            reason='flavor extra spec pydock:pids_limit=%d is above this '
                   'host\'s [pydock] pids_limit=%d; a flavor may only lower '
                   'it' % (flavor_limit, host_limit))
    return flavor_limit


def allowed_capabilities(value, conf):
    """Capabilities of ``pydock:cap_add`` that the host lets flavors add.

    Names already in the base set are accepted as they are no loosening.
    Any other name must be in ``[pydock] allowed_cap_add`` (any spelling:
    ``net_raw``, ``CAP_NET_RAW``).
    """
    try:
        wanted = security.parse_capability_list(value)
    except ValueError as error:
        raise _bad_spec('pydock:cap_add', value, str(error)) from error
    allowed = {security.normalize_capability(name)
               for name in conf.allowed_cap_add}
    refused = [name for name in wanted
               if name not in allowed
               and name not in security.BASE_CAPABILITIES]
    if refused:
        raise exception.InstanceDeployFailure(
            reason='flavor extra spec pydock:cap_add asks for %s, which '
                   'this host does not allow ([pydock] allowed_cap_add = '
                   '%s)' % (', '.join(refused),
                            ', '.join(conf.allowed_cap_add) or 'empty'))
    return wanted


def _pydock_knobs(specs):
    """The ``pydock:`` specs, each checked by the API's own validator."""
    knobs = {}
    for key, value in specs.items():
        if not key.startswith(PYDOCK):
            continue
        try:
            extra_specs.validate(key, value)
        except exception.ValidationError as error:
            raise exception.InvalidInput(
                reason='flavor extra spec %s=%r: %s'
                       % (key, value, error.format_message())) from error
        knobs[key] = value
    return knobs


def _int(knobs, key):
    """A validated integer ``pydock:`` knob, or None if not set."""
    return int(knobs[key]) if key in knobs else None


def _quota_int(specs, key):
    """An integer ``quota:`` spec, or None if not set."""
    if key not in specs:
        return None
    try:
        return int(specs[key])
    except (TypeError, ValueError):
        raise _bad_spec(key, specs[key], 'not an integer') from None


def _disk_rate(specs, key):
    rate = _quota_int(specs, key)
    if rate is not None and rate < 0:
        raise _bad_spec(key, rate, 'must be 0 (unlimited) or positive')
    return rate


def _bad_spec(key, value, why):
    return exception.InvalidInput(
        reason='flavor extra spec %s=%r: %s' % (key, value, why))
