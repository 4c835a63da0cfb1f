"""Neutron's OVS agent for a compute host of tools/cloud.

Neutron's own, with one change: tunnel ports named after both ends
(``hosts.tunnel_port_name``), since the hosts' agents share one Open
vSwitch, where Neutron's names (after the remote end only) clash from
three hosts on and VXLAN then worked between some pairs only.
"""
import hosts
from neutron.cmd.agents import ovs_neutron_agent as command
from neutron.plugins.ml2.drivers.openvswitch.agent import ovs_neutron_agent


def _tunnel_name(cls, network_type, local_ip, remote_ip):
    return hosts.tunnel_port_name(network_type, local_ip, remote_ip)


def main():
    ovs_neutron_agent.OVSNeutronAgent.get_tunnel_name = classmethod(
        _tunnel_name)
    return command.main()
