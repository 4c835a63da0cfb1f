"""The hardened security profile every instance container gets.

This module holds the one security baseline of the driver: which Linux
capabilities a container keeps, which engine settings are pinned and which
capability names exist at all. It is pure data plus small functions, so
that the profile is reviewed in one place and the flavor mapping
(:mod:`nova_pydock.flavor`) only adds what an operator allowed.

Nothing here reads image properties: an image can never loosen the
profile. The only loosening is ``pydock:cap_add`` in a flavor, and only for
capabilities the operator lists in ``[pydock] allowed_cap_add``.
"""

# The capabilities a container keeps after ``cap_drop=['ALL']``, and why.
# It is the engine's default set minus NET_RAW, MKNOD and SETFCAP. Keep
# this table, the README support notes and the unit tests in step.
BASE_CAPABILITIES = {
    'CHOWN': 'root in the instance may give its own files to another '
             'user (package managers, service setup)',
    'DAC_OVERRIDE': 'root in the instance may read and write files of '
                    'its own root file system whatever their mode',
    'FOWNER': 'root may change modes and times of files it does not own '
              '(chmod, touch, tar extraction)',
    'FSETID': 'setgid bits survive when root writes a file (package '
              'managers); gives nothing extra under no-new-privileges',
    'KILL': 'root may signal processes of other users inside the '
            'instance (its own PID namespace only)',
    'SETGID': 'services switch to an unprivileged group (sshd, web '
              'servers, cron)',
    'SETUID': 'services switch to an unprivileged user',
    'SETPCAP': 'a service may drop capabilities from its own bounding '
               'set before it runs untrusted code (libcap-ng, systemd '
               'units); it can never gain one',
    'NET_BIND_SERVICE': 'services bind ports below 1024 (ssh, http) on '
                        'the instance\'s own addresses',
    'SYS_CHROOT': 'privilege separation by chroot (sshd, postfix, '
                  'bind) inside the instance\'s own mount namespace',
    'AUDIT_WRITE': 'sshd and login write audit records through PAM and '
                   'fail without it; it only appends to the kernel log',
}

# What the engine would grant by default but an instance does not get.
DROPPED_FROM_ENGINE_DEFAULT = {
    'NET_RAW': 'raw and packet sockets forge ARP and IP packets on the '
               'Neutron port and sniff traffic; plain ping needs it',
    'MKNOD': 'device nodes are how a container reaches host hardware; '
             'instances get no devices at all',
    'SETFCAP': 'file capabilities are never honoured under '
               'no-new-privileges, and the capability also lets a '
               'process map root in a new user namespace',
}

# Every capability of capabilities(7) (Linux 6.x), without ``CAP_``. Only
# these names are accepted in ``pydock:cap_add`` and allowed_cap_add.
KNOWN_CAPABILITIES = frozenset((
    'AUDIT_CONTROL', 'AUDIT_READ', 'AUDIT_WRITE', 'BLOCK_SUSPEND', 'BPF',
    'CHECKPOINT_RESTORE', 'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH',
    'FOWNER', 'FSETID', 'IPC_LOCK', 'IPC_OWNER', 'KILL', 'LEASE',
    'LINUX_IMMUTABLE', 'MAC_ADMIN', 'MAC_OVERRIDE', 'MKNOD', 'NET_ADMIN',
    'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_RAW', 'PERFMON', 'SETFCAP',
    'SETGID', 'SETPCAP', 'SETUID', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_CHROOT',
    'SYS_MODULE', 'SYS_NICE', 'SYS_PACCT', 'SYS_PTRACE', 'SYS_RAWIO',
    'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'SYSLOG', 'WAKE_ALARM',
))

# Engine settings that never depend on the flavor. Unset engine settings
# already mean "private" for the PID, UTS and user namespaces and "none"
# for binds, mounts and devices; the caller must not pass those.
NO_NEW_PRIVILEGES = 'no-new-privileges:true'
PINNED_HOST_CONFIG = {
    'network_mode': 'none',      # the driver plumbs Neutron ports itself
    'privileged': False,
    'security_opt': [NO_NEW_PRIVILEGES],  # engine seccomp stays in force
    'cap_drop': ['ALL'],
    'ipc_mode': 'private',       # own /dev/shm; nobody can join it
    'cgroupns': 'private',       # host cgroup paths stay hidden
    'init': True,                # reap zombies, forward SIGTERM on stop
    'restart_policy': {'Name': 'no'},  # Nova decides about restarts
}


def normalize_capability(name):
    """``'cap_net_raw '`` -> ``'NET_RAW'``; None if it is no capability.

    Operators and users write capability names in several spellings;
    comparing them needs one.
    """
    name = name.strip().upper()
    if name.startswith('CAP_'):
        name = name[len('CAP_'):]
    return name if name in KNOWN_CAPABILITIES else None


def parse_capability_list(value):
    """Capability names of a comma list, normalized, in order.

    :raises ValueError: with a message that names the bad entry.
    """
    if not value.strip():
        return []
    names = []
    for entry in value.split(','):
        name = normalize_capability(entry)
        if name is None:
            raise ValueError('%r is not a Linux capability name (for '
                             'example NET_ADMIN or SYS_PTRACE)'
                             % entry.strip())
        if name not in names:
            names.append(name)
    return names


def unknown_capabilities(names):
    """Entries of ``names`` that are no capability, for a start-up check.

    An operator's typo in ``[pydock] allowed_cap_add`` would otherwise only
    show when a flavor that needs the capability is refused.
    """
    return [name for name in names if normalize_capability(name) is None]


def security_host_config(extra_capabilities=()):
    """The security part of ``create_host_config`` keyword arguments.

    ``extra_capabilities`` are added to :data:`BASE_CAPABILITIES`; the
    caller has checked them against ``[pydock] allowed_cap_add``. Fresh
    lists every call, so a caller may change the result.
    """
    caps = set(BASE_CAPABILITIES).union(extra_capabilities)
    config = {key: (list(value) if isinstance(value, list) else
                    dict(value) if isinstance(value, dict) else value)
              for key, value in PINNED_HOST_CONFIG.items()}
    config['cap_add'] = sorted(caps)
    return config
