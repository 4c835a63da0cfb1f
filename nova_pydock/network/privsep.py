r"""The privilege-separation context of nova-pydock's network plumbing.

Only :mod:`nova_pydock.network.plumbing` runs in it. The daemon keeps two
capabilities and nothing else:

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
