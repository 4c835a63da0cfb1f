r"""The privilege-separation context of nova-pydock's network plumbing.

Only the functions decorated with :func:`entrypoint` run in it (in
:mod:`~nova_pydock.network.plumbing` and
:mod:`~nova_pydock.network.shaping`). The daemon keeps two capabilities
and nothing else:

* ``CAP_NET_ADMIN``: veth pairs, addresses, routes, bridge ports, tc;
* ``CAP_SYS_ADMIN``: ``setns(2)`` into a container's network namespace.

It runs as root (uid 0) without ``CAP_DAC_OVERRIDE`` or
``CAP_SYS_PTRACE``, so it can open the engine's namespace bind mount
(``inspect['NetworkSettings']['SandboxKey']``) but not
``/proc/<pid>/ns/net`` of a container process that holds capabilities the
daemon lacks (the kernel's ptrace access check). Pass the sandbox path.

Its options live in ``[pydock_net_admin]`` (``helper_command``,
``capabilities``, ``user``, ``group``, ``thread_pool_size``,
``logger_name``), as oslo.privsep defines them. By default nova-compute
starts the daemon with ``sudo privsep-helper --config-file ...
--privsep_context nova_pydock.network.privsep.net_admin_pctxt
--privsep_sock_path <tmp>``; a deployment that goes through Nova's
rootwrap sets ``helper_command = sudo nova-rootwrap
/etc/nova/rootwrap.conf privsep-helper --config-file /etc/nova/nova.conf``
and allows it with a filter like Nova's own for ``sys_admin_pctxt``::

    pydock-privsep-net_admin: RegExpFilter, privsep-helper, root,
        privsep-helper, --config-file, /etc/(?!\.\.).*, --privsep_context,
        nova_pydock.network.privsep.net_admin_pctxt, --privsep_sock_path,
        /tmp/.*

(one line in the filter file).
"""
import functools
import sys

from oslo_privsep import capabilities
from oslo_privsep import priv_context

net_admin_pctxt = priv_context.PrivContext(
    'nova_pydock',
    cfg_section='pydock_net_admin',
    pypath=__name__ + '.net_admin_pctxt',
    capabilities=[capabilities.CAP_NET_ADMIN,
                  capabilities.CAP_SYS_ADMIN],
    logger_name='nova_pydock.network.privileged',
)


def _monkey_patched():
    if 'eventlet' not in sys.modules:
        return False
    from eventlet import patcher  # noqa: PLC0415 (only when loaded)
    return patcher.is_monkey_patched('thread')


@functools.cache
def _green_lock():
    from eventlet import semaphore  # noqa: PLC0415 (only when patched)
    return semaphore.Semaphore()


def _one_green_thread_at_a_time(func):
    """Serialise calls made from eventlet green threads.

    In production these functions run in the privsep daemon's native
    threads. Run in-process in an eventlet-patched nova-compute (tests),
    green threads share one OS thread, its network namespace and its
    asyncio state, which pyroute2 uses: one call at a time then.
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if not _monkey_patched():
            return func(*args, **kwargs)
        with _green_lock():
            return func(*args, **kwargs)
    return wrapper


def entrypoint(func):
    """Make ``func`` a function of :data:`net_admin_pctxt`.

    It takes and returns plain data only: it runs in the daemon.
    """
    return net_admin_pctxt.entrypoint(_one_green_thread_at_a_time(func))
