"""Neutron ports into containers: os-vif on the host, pyroute2 inside.

The driver uses :class:`nova_pydock.network.api.ContainerNetwork`; the
privileged netlink work is in :mod:`nova_pydock.network.plumbing`, the
pure translation of Nova's network info in :mod:`nova_pydock.network.spec`,
the host-side attachment per VIF type in :mod:`nova_pydock.network.vifs`.
"""
