"""Server diagnostics from the engine's statistics of one container.

Nova's legacy diagnostics (``os-server-diagnostics`` before microversion
2.48) are a free-form dict; this builds it from ``docker stats`` and
``docker inspect``. Counters of the instance's network devices come from
the host side of its veth pairs.
"""


def from_engine(details, stats, nic_counters=()):
    """A flat dict of counters.

    ``stats`` is the engine's one-shot statistics (empty for a stopped
    container); ``nic_counters`` is a list of ``(name, counters)`` pairs.
    """
    state = details.get('State') or {}
    host_config = details.get('HostConfig') or {}
    result = {
        'state': state.get('Status'),
        'started_at': state.get('StartedAt'),
        'restart_count': details.get('RestartCount', 0),
        'memory_limit_bytes': host_config.get('Memory') or None,
    }
    if stats:
        cpu = stats.get('cpu_stats') or {}
        memory = stats.get('memory_stats') or {}
        result.update({
            'cpu_time_ns': (cpu.get('cpu_usage') or {}).get('total_usage'),
            'online_cpus': cpu.get('online_cpus'),
            'memory_used_bytes': memory.get('usage'),
            'memory_max_bytes': memory.get('limit'),
            'pids': (stats.get('pids_stats') or {}).get('current'),
        })
        for entry in (stats.get('blkio_stats') or {}).get(
                'io_service_bytes_recursive') or ():
            key = 'disk_%s_bytes' % entry.get('op', '').lower()
            result[key] = result.get(key, 0) + entry.get('value', 0)
    for name, counters in nic_counters:
        for counter, value in counters.items():
            result['%s_%s' % (name, counter)] = value
    return result
