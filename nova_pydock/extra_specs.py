"""Validators of the ``pydock:`` flavor extra specs, for Nova's API.

Nova loads every module of the ``nova.api.extra_spec_validators`` entry
point group and calls its :func:`register`; from API microversion 2.86 on,
setting an extra spec whose value fails a validator, or an unknown key in
a namespace that has validators, is answered with 400 Bad Request.

The API host may not share the compute hosts' ``[pydock]`` options, so the
checks here are those that hold everywhere (types, ranges, capability
names). The compute host checks the rest (``pydock:pids_limit`` against
its ``[pydock] pids_limit``, ``pydock:cap_add`` against ``allowed_cap_add``)
in :mod:`nova_pydock.flavor`, and validates ``pydock:`` keys again with
:func:`validate`: flavors created with older microversions, or before this
package was installed on the API hosts, were never checked.
"""
from nova import exception
from nova.api.validation.extra_specs import base

from nova_pydock import security

NAMESPACE = 'pydock'

# Fewer processes leave no room for a shell next to a service; the same
# floor as ``[pydock] pids_limit``.
MIN_PIDS = 16
# The kernel's PID_MAX_LIMIT: a bigger pids limit can never bind.
MAX_PIDS = 4 * 1024 * 1024
# RLIMIT_NOFILE: below 64 common libraries fail; above fs.nr_open's
# default (2^20) the kernel refuses to raise the limit.
MIN_NOFILE = 64
MAX_NOFILE = 1024 * 1024


class CapabilityListValidator(base.ExtraSpecValidator):
    """A comma separated list of Linux capability names.

    A regular expression over 40 names would give users an unreadable
    error; this names the entry that is wrong.
    """

    def _validate_str(self, value):
        try:
            security.parse_capability_list(value)
        except ValueError as error:
            raise exception.ValidationError(
                "Validation failed; %s." % error) from error


VALIDATORS = [
    base.ExtraSpecValidator(
        name='pydock:pids_limit',
        description=(
            'Maximum number of processes and threads in the container. '
            'May only lower the compute host\'s ``[pydock] pids_limit``; '
            'a larger value fails the build on that host. '
            'Only supported by the nova-pydock virt driver.'),
        value={
            'type': int,
            'min': MIN_PIDS,
            'max': MAX_PIDS,
            'description': 'Number of processes.',
        },
    ),
    base.ExtraSpecValidator(
        name='pydock:read_only_root',
        description=(
            'Mount the container\'s root file system read-only. '
            '``/dev/shm`` stays writable, and ``/tmp`` (64 MiB) and '
            '``/run`` (16 MiB) become memory file systems (no devices, '
            'no set-uid, no executables), counted in the flavor\'s '
            'memory. '
            'Only supported by the nova-pydock virt driver.'),
        value={
            'type': bool,
            'description': 'Whether the root file system is read-only.',
        },
    ),
    base.ExtraSpecValidator(
        name='pydock:shm_size_mb',
        description=(
            'Size of the container\'s ``/dev/shm`` in MiB (the engine\'s '
            'default is 64). It counts against the flavor\'s memory and '
            'may not exceed ``memory_mb``. '
            'Only supported by the nova-pydock virt driver.'),
        value={
            'type': int,
            'min': 1,
            'description': 'Size in MiB.',
        },
    ),
    CapabilityListValidator(
        name='pydock:cap_add',
        description=(
            'Comma separated Linux capabilities (for example '
            '``NET_RAW,SYS_PTRACE``, without ``CAP_``) added to the '
            'reduced default set. Each must be listed in the compute '
            'host\'s ``[pydock] allowed_cap_add``, otherwise the build '
            'fails on that host. '
            'Only supported by the nova-pydock virt driver.'),
        value={
            'type': str,
            'description': 'Capability names.',
        },
    ),
    base.ExtraSpecValidator(
        name='pydock:ulimit_nofile',
        description=(
            'Limit on open files per process (soft and hard ``nofile`` '
            'ulimit) in the container. '
            'Only supported by the nova-pydock virt driver.'),
        value={
            'type': int,
            'min': MIN_NOFILE,
            'max': MAX_NOFILE,
            'description': 'Number of open files.',
        },
    ),
]

_BY_NAME = {validator.name: validator for validator in VALIDATORS}


def register():
    """Entry point ``nova.api.extra_spec_validators``: our validators."""
    return VALIDATORS


def validate(name, value):
    """Check one ``pydock:`` extra spec as the Nova API does.

    Used on the compute host, where the API may not have checked it.

    :raises nova.exception.ValidationError: unknown key or bad value.
    """
    validator = _BY_NAME.get(name)
    if validator is None:
        raise exception.ValidationError(
            "Validation failed; extra spec '%s' is not a known %s: extra "
            "spec (known: %s)." % (name, NAMESPACE,
                                   ', '.join(sorted(_BY_NAME))))
    validator.validate(name, value)
