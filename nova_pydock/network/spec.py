"""From Nova's network info to plain port specifications.

Pure logic, no privileges: check every VIF of ``network_info`` and turn
it into the plain dict that :func:`nova_pydock.network.plumbing.create_port`
takes; read the bandwidth quotas of a flavor; write resolv.conf content;
list the events Neutron will send. Every bad input raises a Nova exception
from :mod:`nova_pydock.network.exception` before anything is created.
"""
import ipaddress

import netaddr
from nova.network import model
from oslo_log import log as logging

from nova_pydock.network import exception

LOG = logging.getLogger(__name__)

SUPPORTED_VIF_TYPES = (model.VIF_TYPE_BRIDGE, model.VIF_TYPE_OVS)
NIC_NAME_LEN = model.NIC_NAME_LEN
DEFAULT_ROUTE = {4: '0.0.0.0/0', 6: '::/0'}
#: Where instances find the metadata service (Neutron's METADATA_CIDR).
METADATA_CIDR = '169.254.169.254/32'
#: ``[pydock] metadata_route``: none, or via the subnet's DHCP port.
METADATA_ROUTE_NONE, METADATA_ROUTE_DHCP = 'none', 'dhcp'
DIRECTIONS = ('inbound', 'outbound')
LIMITS = ('average', 'peak', 'burst')


def _port_id(vif):
    return vif.get('id') or '(no id)'


def devname(vif):
    """Host end name, as Nova names it (``tap`` + port id prefix)."""
    name = vif.get('devname') or ('nic' + vif['id'])[:NIC_NAME_LEN]
    if len(name) > NIC_NAME_LEN or '/' in name or not name.isprintable() \
            or ' ' in name:
        raise exception.InvalidVIF(port_id=_port_id(vif),
                                   reason='bad device name %r' % name)
    return name


def ifb_name(vif):
    """Name of the ifb device that shapes the port's outbound traffic."""
    return ('ifb' + vif['id'])[:NIC_NAME_LEN]


def check_vif(vif):
    """Raise unless nova-pydock can plug this VIF at all."""
    port_id = _port_id(vif)
    if not vif.get('id'):
        raise exception.InvalidVIF(port_id=port_id, reason='no port id')
    if vif.get('type') not in SUPPORTED_VIF_TYPES:
        raise exception.UnsupportedVIFType(
            port_id=port_id, vif_type=vif.get('type'),
            supported=', '.join(SUPPORTED_VIF_TYPES))
    vnic_type = vif.get('vnic_type') or model.VNIC_TYPE_NORMAL
    if vnic_type != model.VNIC_TYPE_NORMAL:
        raise exception.InvalidVIF(
            port_id=port_id, reason="vnic_type '%s' cannot lead into a "
            "container (only 'normal')" % vnic_type)
    if not vif.get('network'):
        raise exception.VIFWithoutNetwork(port_id=port_id)
    if not vif['network'].get('bridge'):
        raise exception.InvalidVIF(port_id=port_id,
                                   reason='its network names no bridge')
    if not netaddr.valid_mac(vif.get('address') or ''):
        raise exception.InvalidVIF(
            port_id=port_id, reason='bad MAC address %r' % vif.get('address'))
    devname(vif)


def mtu(vif):
    """The network's MTU for the port, or None for the kernel's."""
    value = vif['network'].get_meta('mtu')
    if value is None:
        return None
    try:
        value = int(value)
    except (TypeError, ValueError):
        value = -1
    if not 68 <= value <= 65535:
        raise exception.InvalidVIF(
            port_id=_port_id(vif),
            reason='network MTU %r is out of range' % vif['network']
            .get_meta('mtu'))
    return value


def _address(ip):
    return (ip or {}).get('address') if ip else None


def port_spec(vif, ifname=None, metadata_route=METADATA_ROUTE_NONE):
    """The plain port dict of one VIF, without default routes.

    :param metadata_route: ``dhcp``: the port may carry the route to the
        metadata service via its subnet's DHCP port (see
        :func:`add_metadata_route`).
    :returns: a dict for ``plumbing.create_port`` plus ``gateways``
        (``{4: address, 6: address}`` of the subnets the port has an
        address on) and ``metadata_server`` (an address or None), which
        :func:`shared_routes` consumes.
    """
    check_vif(vif)
    port_id = _port_id(vif)
    addresses, routes, gateways = [], [], {}
    metadata_server = None
    for subnet in vif['network'].get('subnets') or []:
        cidr = _network(port_id, subnet, 'subnet CIDR')
        ips = subnet.get('ips') or []
        for ip in ips:
            try:
                address = ipaddress.ip_address(ip['address'])
            except (TypeError, ValueError, KeyError):
                raise exception.InvalidVIF(
                    port_id=port_id, reason='bad fixed IP %r'
                    % _address(ip)) from None
            if address.version != cidr.version or address not in cidr:
                raise exception.AddressNotInSubnet(
                    port_id=port_id, address=str(address), cidr=str(cidr))
            addresses.append('%s/%d' % (address, cidr.prefixlen))
        if not ips:
            # A subnet the port has no address on gives it no routes.
            continue
        gateway = _address(subnet.get('gateway'))
        if gateway:
            gateway = _checked_ip(port_id, gateway, cidr.version, 'gateway')
            gateways.setdefault(cidr.version, gateway)
        routes.extend(_host_routes(port_id, subnet))
        if metadata_route == METADATA_ROUTE_DHCP and not metadata_server:
            metadata_server = _dhcp_server(port_id, subnet, cidr)
    return {
        'port_id': vif['id'],
        'devname': devname(vif),
        'ifname': ifname,
        'mac': vif['address'].lower(),
        'mtu': mtu(vif),
        'tx_checksum': not _userspace_datapath(vif),
        'addresses': addresses,
        'routes': routes,
        'gateways': gateways,
        'metadata_server': metadata_server,
    }


def _dhcp_server(port_id, subnet, cidr):
    """The address of an IPv4 subnet's DHCP port, or None.

    Nova's network info has it (``dhcp_server``) when Neutron's DHCP
    agent has a port on the subnet; that agent's metadata proxy listens
    there when it runs with ``force_metadata`` (or with
    ``enable_isolated_metadata`` on a subnet without a router).
    """
    server = (subnet.get('meta') or {}).get('dhcp_server')
    if cidr.version != 4 or not server:
        return None
    server = _checked_ip(port_id, server, 4, 'DHCP server')
    if ipaddress.ip_address(server) not in cidr:
        raise exception.AddressNotInSubnet(port_id=port_id, address=server,
                                           cidr=str(cidr))
    return server


def _network(port_id, item, what):
    """``item['cidr']`` as a network; a bad one makes the VIF invalid."""
    try:
        return ipaddress.ip_network(item['cidr'])
    except (TypeError, ValueError, KeyError):
        raise exception.InvalidVIF(
            port_id=port_id, reason='bad %s %r' % (what, item.get('cidr'))
        ) from None


def _host_routes(port_id, subnet):
    """The subnet's host routes as plain dicts, each checked."""
    routes = []
    for route in subnet.get('routes') or []:
        dst = _network(port_id, route, 'host route')
        nexthop = _address(route.get('gateway'))
        if not nexthop:
            raise exception.InvalidVIF(
                port_id=port_id,
                reason='host route %s has no next hop' % dst)
        routes.append({'dst': str(dst), 'gateway': _checked_ip(
            port_id, nexthop, dst.version, 'next hop')})
    return routes


def _userspace_datapath(vif):
    """True for an OVS port on a userspace (netdev, DPDK) datapath."""
    return (vif['type'] == model.VIF_TYPE_OVS and
            (vif.get('details') or {}).get(
                model.VIF_DETAILS_OVS_DATAPATH_TYPE) ==
            model.VIF_DETAILS_OVS_DATAPATH_NETDEV)


def _checked_ip(port_id, value, version, what):
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise exception.InvalidVIF(
            port_id=port_id, reason='bad %s %r' % (what, value)) from None
    if address.version != version:
        raise exception.InvalidVIF(
            port_id=port_id, reason='%s %s is not IPv%d' % (what, value,
                                                            version))
    return str(address)


def add_default_routes(specs):
    """Default routes, per IP version, via the first port that has one.

    Consumes each spec's ``gateways``; the returned specs are plain data.
    """
    done = set()
    for spec in specs:
        for version, gateway in sorted(spec.pop('gateways', {}).items()):
            if version in done:
                continue
            done.add(version)
            spec['routes'].append({'dst': DEFAULT_ROUTE[version],
                                   'gateway': gateway, 'default': True})
    return specs


def add_metadata_route(specs):
    """169.254.169.254/32 via the first port's subnet DHCP port that has
    one, as Neutron's DHCP would offer it.

    None if a subnet's host routes already lead there. Consumes each
    spec's ``metadata_server``.
    """
    servers = [(spec, spec.pop('metadata_server', None)) for spec in specs]
    if any(route['dst'] == METADATA_CIDR
           for spec in specs for route in spec['routes']):
        return specs
    for spec, server in servers:
        if server:
            spec['routes'].append({'dst': METADATA_CIDR, 'gateway': server})
            break
    return specs


def shared_routes(specs):
    """The routes one port takes for all: default and metadata routes."""
    return add_default_routes(add_metadata_route(specs))


def port_specs(network_info, metadata_route=METADATA_ROUTE_NONE):
    """Specs of all VIFs, ``eth0``, ``eth1``... in order; all checked."""
    specs = [port_spec(vif, 'eth%d' % i, metadata_route)
             for i, vif in enumerate(network_info or [])]
    devnames = [s['devname'] for s in specs]
    if len(set(devnames)) != len(devnames):
        raise exception.InvalidVIF(port_id=', '.join(s['port_id']
                                                     for s in specs),
                                   reason='two ports share a device name')
    return shared_routes(specs)


def bandwidth(flavor):
    """``quota:vif_{inbound,outbound}_{average,peak,burst}`` of a flavor.

    As libvirt reads them: average and peak in kilobytes per second, burst
    in kilobytes; a direction without an average (or with 0) is not
    shaped. :returns: ``{'inbound': {...} or None, 'outbound': ...}``.
    """
    specs = getattr(flavor, 'extra_specs', None) or {}
    result = {}
    for direction in DIRECTIONS:
        limits = {}
        for limit in LIMITS:
            key = 'quota:vif_%s_%s' % (direction, limit)
            if key not in specs:
                continue
            value = specs[key]
            try:
                number = int(str(value).strip())
            except (TypeError, ValueError):
                raise exception.InvalidBandwidthQuota(
                    key=key, value=value, reason='not an integer') from None
            if number < 0:
                raise exception.InvalidBandwidthQuota(
                    key=key, value=value, reason='negative')
            if number:
                limits[limit] = number
        if limits and 'average' not in limits:
            LOG.warning('Flavor %s sets %s peak/burst without an average: '
                        'not shaped, as with libvirt',
                        getattr(flavor, 'name', '?'), direction)
            limits = {}
        result[direction] = limits or None
    return result


def dns_servers(network_info):
    """DNS servers of all subnets, in VIF and subnet order, once each."""
    servers = []
    for vif in network_info or []:
        for subnet in (vif.get('network') or {}).get('subnets') or []:
            for dns in subnet.get('dns') or []:
                address = _address(dns)
                if not address:
                    continue
                try:
                    address = str(ipaddress.ip_address(address))
                except ValueError:
                    raise exception.InvalidVIF(
                        port_id=_port_id(vif),
                        reason='bad DNS server %r' % address) from None
                if address not in servers:
                    servers.append(address)
    return servers


def resolv_conf(network_info):
    """resolv.conf content from the DNS servers of the instance's subnets."""
    servers = dns_servers(network_info)
    lines = ['# Generated by nova-pydock from the DNS servers of the '
             "instance's Neutron subnets."]
    if not servers:
        lines.append('# None of its subnets has a DNS server.')
    lines.extend('nameserver %s' % server for server in servers)
    return '\n'.join(lines) + '\n'


def vif_plugged_events(network_info):
    """``network-vif-plugged`` events to wait for, as libvirt does."""
    return [('network-vif-plugged', vif['id'])
            for vif in network_info or [] if not vif.get('active', True)]
