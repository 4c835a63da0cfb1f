"""Neutron ports into containers: os-vif on the host, pyroute2 inside.

The driver uses :class:`nova_pydock.network.api.ContainerNetwork`; the
pure translation of Nova's network info is in
:mod:`nova_pydock.network.spec`, the host-side attachment per VIF type in
:mod:`nova_pydock.network.vifs`. The privileged work runs in the privsep
context of :mod:`nova_pydock.network.privsep`: veth pairs and addresses
in :mod:`~nova_pydock.network.plumbing`, namespace entry in
:mod:`~nova_pydock.network.netns`, tc in
:mod:`~nova_pydock.network.shaping`.
"""
