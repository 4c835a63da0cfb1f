"""The compute hosts of the cloud (``tools/cloud up --computes N``).

Host 1 is the cloud's own ``host`` name: its nova-compute uses the
machine's engine (``/var/run/docker.sock``) and the demo network's
bridges, as a one-compute cloud always did. Hosts 2..N stand for other
machines: each has

* its own ``host`` name (``<host>-h2``, ...), for nova-compute and for
  the Neutron OVS agent that binds its ports (Neutron binds a port only
  to a host where an agent with the network's physnet reports);
* its own Docker engine: a private dockerd with socket, data root, exec
  root and PID file under ``<state>/engines/h<k>/`` (its containers and
  images are its alone, as on another machine);
* its own nova state (``state_path``, instances, locks, the serial
  console listener's port and key) under ``<state>/nova-h<k>/``;
* its own integration, tunnel and physical bridges; the physical bridge
  is patched to host 1's, so that every host's ports are on the one flat
  network ``demo`` and the host's port (the gateway) reaches them all;
* its own VXLAN endpoint address (``tunnel_ip``: the demo subnet's
  second address for host 1, third for host 2, ..., all below Neutron's
  allocation pool) on the cloud's underlay bridge (``underlay.py``), so
  that project networks tunnel between the hosts' agents.

The DHCP and metadata agents run on host 1 only, as on a network node.
The hosts' OVS agents name their tunnel ports after both ends
(``tunnel_port_name``, ovs_agent.py).

Standard library only (provision.py imports it with the venv's python).
"""
import dataclasses
import ipaddress
import os

#: Endpoint addresses come from below Neutron's allocation pool of the
#: demo subnet (its 10th address on): hosts 1..8.
MAX_HOSTS = 8


@dataclasses.dataclass(frozen=True)
class Host:
    index: int
    name: str
    #: '' for host 1; '-h<k>' names its services, configs and devices
    suffix: str
    int_bridge: str
    tun_bridge: str
    phys_bridge: str
    #: the private engine's directory, or None (the machine's engine)
    engine_dir: str | None
    nova_state: str
    #: its OVS agent's VXLAN endpoint (``local_ip``, underlay.py)
    tunnel_ip: str

    @property
    def engine_socket(self):
        if self.engine_dir is None:
            return '/var/run/docker.sock'
        return os.path.join(self.engine_dir, 'engine.sock')

    @property
    def engine_url(self):
        return 'unix://' + self.engine_socket

    @property
    def tunnel_patch_ports(self):
        """(on its integration bridge, on its tunnel bridge): the agent's
        patch pair between them, named apart from every other agent's on
        this Open vSwitch (Neutron's default names, patch-tun and
        patch-int, exist once on it)."""
        tag = self.int_bridge.split('-', 1)[0]
        return ('%s-ptun%s' % (tag, self.suffix),
                '%s-pint%s' % (tag, self.suffix))

    @property
    def patch_ports(self):
        """(on host 1's physical bridge, on this host's): the patch pair
        that puts this host's physical bridge on the demo network."""
        tag = self.int_bridge.split('-', 1)[0]
        return ('%s-l%d' % (tag, self.index), '%s-l%dp' % (tag, self.index))


def tunnel_port_name(network_type, local_ip, remote_ip):
    """The name of the tunnel port from ``local_ip`` to ``remote_ip``.

    Neutron names it after the remote end only (``vxlan-c6133504``): on
    one Open vSwitch, where a port name exists once, the agents of two
    hosts that both tunnel to a third want the same name, and the second
    one's add (may_exist) takes the first one's port on the first one's
    bridge, setting its own local_ip there. So the name carries the local
    end's last octet too (the endpoints of one cloud differ in it, those
    of two clouds in their subnets): ``vx02-c6133504``, 13 characters of
    the 15 a device name has.
    """
    local = ipaddress.IPv4Address(local_ip).packed[-1]
    remote = int(ipaddress.IPv4Address(remote_ip))
    return '%s%02x-%08x' % (network_type[:2], local, remote)


def count(settings):
    return int(settings.get('computes', 1))


def compute_hosts(settings, state):
    """Every compute host of the cloud, host 1 first."""
    hosts = []
    subnet = list(ipaddress.ip_network(settings['subnet']).hosts())
    for k in range(1, count(settings) + 1):
        suffix = '' if k == 1 else '-h%d' % k
        hosts.append(Host(
            index=k, name=settings['host'] + suffix, suffix=suffix,
            int_bridge=settings['int_bridge'] + suffix,
            tun_bridge=settings['tun_bridge'] + suffix,
            phys_bridge=settings['phys_bridge'] + suffix,
            engine_dir=(None if k == 1 else
                        os.path.join(state, 'engines', 'h%d' % k)),
            nova_state=os.path.join(state, 'nova' + suffix),
            # the gateway is the first address, host k the (k+1)th
            tunnel_ip=str(subnet[k])))
    return hosts


def extra_hosts(settings, state):
    """Hosts 2..N: the ones with a private engine."""
    return compute_hosts(settings, state)[1:]


def docker_argv(host):
    """The docker CLI on ``host``'s engine."""
    if host.engine_dir is None:
        return ['docker']
    return ['docker', '-H', host.engine_url]
