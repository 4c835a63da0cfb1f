"""What this compute host offers: CPUs, memory, disk of the engine's store.

Read from the kernel (``/proc``) and the engine (its data root), reported
to Nova as resources and to Placement as inventory with Nova's reserved
values and allocation ratios, and as CPU times to Nova's ``cpu`` monitor.
"""
import os
import platform
import re
import time

from nova.compute import utils as compute_utils
import nova.conf
from nova.objects import fields
import os_resource_classes as orc
from oslo_serialization import jsonutils

CONF = nova.conf.CONF
MiB = 1024 * 1024
GiB = 1024 * MiB


def _meminfo():
    values = {}
    with open('/proc/meminfo') as f:
        for line in f:
            key, _, rest = line.partition(':')
            values[key] = int(rest.split()[0]) * 1024
    return values


def _cpu_mhz():
    """The first CPU's clock in MHz, or 0 where the kernel does not say."""
    with open('/proc/cpuinfo') as f:
        for line in f:
            key, _, value = line.partition(':')
            if key.strip() == 'cpu MHz':
                return int(float(value))
    try:
        with open('/sys/devices/system/cpu/cpu0/cpufreq/'
                  'cpuinfo_max_freq') as f:
            return int(f.read()) // 1000
    except OSError:
        return 0


def _version_number(version):
    """Engine version string (``20.10.24+dfsg1``) as Nova's integer."""
    parts = [int(re.match(r'\d*', piece).group() or 0)
             for piece in version.split('.')[:3]]
    parts += [0] * (3 - len(parts))
    return parts[0] * 1000000 + parts[1] * 1000 + parts[2]


class Host:
    """Resources of the host running the engine."""

    def __init__(self, engine):
        self._engine = engine
        self._data_root = None

    def data_root(self, refresh=False):
        """The engine's data directory.

        Asked of the engine at start-up and at every periodic resource
        update, not on each build: Nova reads the inventory on every claim,
        and ``docker info`` is the slowest engine call on that path.
        """
        if refresh or self._data_root is None:
            self._data_root = self._engine.info().get('DockerRootDir',
                                                      '/var/lib/docker')
        return self._data_root

    def engine_identity(self):
        """What tells this engine from any other: two hosts share an
        instance's disk only when it is the same.

        The engine's ``ID`` alone does not: it comes from the key in the
        engine's configuration directory, which every engine of one
        machine shares (and cloned machines too); its host name and data
        directory tell them apart.
        """
        info = self._engine.info()
        return '%s %s %s' % (info.get('ID'), info.get('Name'),
                             info.get('DockerRootDir'))

    def disk_gb(self, refresh=False):
        """(total, free) GiB of the file system holding the engine's data."""
        stat = os.statvfs(self.data_root(refresh))
        return (stat.f_blocks * stat.f_frsize // GiB,
                stat.f_bavail * stat.f_frsize // GiB)

    @staticmethod
    def vcpus():
        return len(os.sched_getaffinity(0))

    @staticmethod
    def memory_mb():
        """(total, available) MiB of host memory."""
        info = _meminfo()
        return (info['MemTotal'] // MiB,
                info.get('MemAvailable', info['MemFree']) // MiB)

    @staticmethod
    def uptime():
        """The host's uptime line, as ``uptime`` prints it."""
        with open('/proc/uptime') as f:
            seconds = float(f.read().split()[0])
        load = os.getloadavg()
        return ('%s up %d days, %d:%02d, load average: %.2f, %.2f, %.2f'
                % (time.strftime('%H:%M:%S'), seconds // 86400,
                   seconds % 86400 // 3600, seconds % 3600 // 60, *load))

    @staticmethod
    def cpu_stats():
        """All CPUs' time since boot in ns, and the clock in MHz.

        The keys of Nova's ``cpu.virt_driver`` monitor (``[DEFAULT]
        compute_monitors``), which turns two readings into percentages.
        Nice time counts as user time, irq and softirq as kernel time.
        """
        with open('/proc/stat') as f:
            ticks = [int(v) for v in f.readline().split()[1:8]]
        user, nice, system, idle, iowait, irq, softirq = ticks
        ns_per_tick = 10 ** 9 // os.sysconf('SC_CLK_TCK')
        return {'user': (user + nice) * ns_per_tick,
                'kernel': (system + irq + softirq) * ns_per_tick,
                'idle': idle * ns_per_tick,
                'iowait': iowait * ns_per_tick,
                'frequency': _cpu_mhz()}

    def resources(self, nodename):
        """The dict Nova's resource tracker expects.

        Usage by instances is what the resource tracker computes from their
        flavors; what is reported used here is the host's own use.
        """
        version = self._engine.version()
        total_mb, free_mb = self.memory_mb()
        total_gb, free_gb = self.disk_gb(refresh=True)
        return {
            'vcpus': self.vcpus(),
            'memory_mb': total_mb,
            'local_gb': total_gb,
            'vcpus_used': 0,
            'memory_mb_used': total_mb - free_mb,
            'local_gb_used': total_gb - free_gb,
            'hypervisor_type': fields.HVType.DOCKER,
            'hypervisor_version': _version_number(version['Version']),
            'hypervisor_hostname': nodename,
            'cpu_info': jsonutils.dumps({
                'arch': fields.Architecture.canonicalize(platform.machine()),
                'engine_api': version.get('ApiVersion'),
            }),
            'disk_available_least': free_gb,
            'numa_topology': None,
            'supported_instances': [(
                fields.Architecture.canonicalize(platform.machine()),
                fields.HVType.DOCKER, fields.VMMode.EXE)],
        }

    def inventory(self, ratios):
        """Placement inventory of VCPU, MEMORY_MB and DISK_GB.

        The allocation ratios let the sum of the servers' limits exceed
        the host; one server's limit never can. ``max_unit`` says what a
        single server can really get: every CPU (the engine refuses a
        CPU quota above the host's count, and a reserved CPU is not
        pinned away from containers), the memory and disk that are not
        reserved for the host.
        """
        vcpus = self.vcpus()
        memory_mb, _ = self.memory_mb()
        disk_gb, _ = self.disk_gb()
        reserved_disk_gb = compute_utils.convert_mb_to_ceil_gb(
            CONF.reserved_host_disk_mb)

        def entry(total, reserved, rc, max_unit):
            return {'total': total, 'min_unit': 1,
                    'max_unit': max(1, max_unit), 'step_size': 1,
                    'allocation_ratio': ratios[rc], 'reserved': reserved}
        return {
            orc.VCPU: entry(vcpus, CONF.reserved_host_cpus, orc.VCPU, vcpus),
            orc.MEMORY_MB: entry(
                memory_mb, CONF.reserved_host_memory_mb, orc.MEMORY_MB,
                memory_mb - CONF.reserved_host_memory_mb),
            orc.DISK_GB: entry(disk_gb, reserved_disk_gb, orc.DISK_GB,
                               disk_gb - reserved_disk_gb),
        }


def describe_inventory(inventory):
    """One log line's worth: what Placement may allocate of each class."""
    return ', '.join(
        '%s %d x %g (%d reserved, at most %d per server)' % (
            rc, inv['total'], inv['allocation_ratio'], inv['reserved'],
            inv['max_unit'])
        for rc, inv in sorted(inventory.items()))
