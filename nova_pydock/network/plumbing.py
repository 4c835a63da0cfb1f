"""Privileged netlink work: veth pairs, addresses, routes, bridges.

Every public function here but :func:`set_tx_checksum` is an entrypoint
of :data:`nova_pydock.network.privsep.net_admin_pctxt` and so runs in the
privsep daemon. They take and return plain data only (strings, numbers,
lists, dicts), check what they are given, and raise :class:`OSError` or
:class:`ValueError` with a message that names the device (a namespace
that is gone: :class:`nova_pydock.network.netns.NamespaceGoneError`); the
unprivileged caller turns those into Nova exceptions. Nothing here knows
about Nova. How a container's namespace is named and entered:
:mod:`nova_pydock.network.netns`; tc shaping:
:mod:`nova_pydock.network.shaping`.
"""
import contextlib
import ctypes
import errno
import fcntl
import ipaddress
import os
import re
import socket
import stat
import struct

from oslo_log import log as logging
from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from nova_pydock.network import netlink
from nova_pydock.network import netns as netns_mod
from nova_pydock.network import privsep

LOG = logging.getLogger(__name__)

SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x17
IFA_F_NODAD = 0x02
RESOLV_CONF_MAX = 64 * 1024
HOST_RESOLV_CONF = '/etc/resolv.conf'


def set_tx_checksum(ifname, enabled):
    """Turn TX checksum offload of ``ifname`` (this thread's netns) on/off.

    Unprivileged helper; callers run it where they may.
    """
    value = ctypes.create_string_buffer(
        struct.pack('II', ETHTOOL_STXCSUM, int(bool(enabled))))
    ifreq = struct.pack('16sP', ifname.encode(), ctypes.addressof(value))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq)


def _write_sysctl(name, value):
    path = '/proc/sys/' + name
    if not os.path.exists(path):
        return False
    with open(path, 'w') as f:
        f.write(str(value))
    return True


def _links(ipr):
    return {link.get('ifname'): link for link in ipr.get_links()}


def _free_ethname(ipr):
    names = set(_links(ipr))
    for i in range(4096):
        if 'eth%d' % i not in names:
            return 'eth%d' % i
    raise OSError(errno.ENOSPC, 'no free ethN name in the namespace')


def _peer_in_ns(ipr_ns, host_index, mac):
    """The container-side peer of host veth ``host_index``, if present."""
    for link in ipr_ns.get_links():
        if link.get('link') == host_index and \
                (link.get('address') or '').lower() == mac.lower():
            return link.get('ifname')
    return None


def _host_mac(mac):
    """MAC of the host end: the port's with first byte 0xfe (or 0xfa).

    A linux bridge takes the lowest MAC of its ports as its own; 0xfe keeps
    the instance's ports from ever being that one, and the host end never
    shares the container end's MAC (libvirt does the same for taps).
    """
    return ('fa' if mac[:2].lower() == 'fe' else 'fe') + mac[2:]


def _check_mac(mac):
    if not re.match(r'^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$', mac or ''):
        raise ValueError('invalid MAC %r' % (mac,))


def _check_port(port):
    netlink.check_ifname(port['devname'])
    if port.get('ifname') is not None:
        netlink.check_ifname(port['ifname'])
    _check_mac(port['mac'])
    mtu = port.get('mtu')
    if mtu is not None and not 68 <= int(mtu) <= 65535:
        raise ValueError('invalid MTU %r' % (mtu,))
    for addr in port.get('addresses', ()):
        ipaddress.ip_interface(addr)
    for route in port.get('routes', ()):
        ipaddress.ip_network(route['dst'])
        ipaddress.ip_address(route['gateway'])


def _configure_peer(ipr_ns, ns_fd, port, ifname):
    """The container end: settings, addresses, up (no routes yet)."""
    index = netlink.index_of(ipr_ns, ifname)
    if index is None:
        raise OSError(errno.ENODEV, '%s did not arrive in the namespace'
                      % ifname)
    addresses = [ipaddress.ip_interface(a) for a in port.get('addresses', ())]
    with netns_mod.entered(ns_fd):
        if any(a.version == 6 for a in addresses):
            # Engines disable IPv6 in a namespace they give no IPv6
            # network.
            _write_sysctl('net/ipv6/conf/%s/disable_ipv6' % ifname, 0)
            _write_sysctl('net/ipv6/conf/%s/ndisc_notify' % ifname, 1)
        # Announce the addresses when the MAC is (re)set: see
        # activate_port.
        _write_sysctl('net/ipv4/conf/%s/arp_notify' % ifname, 1)
        if port.get('tx_checksum') is False:
            # A userspace datapath gets veth packets without their
            # checksums filled in and would send them on so.
            set_tx_checksum(ifname, False)
    for addr in addresses:
        # Neutron's IPAM already made the address unique: no DAD, so it is
        # usable as soon as the instance is reported ACTIVE.
        netlink.request('address %s on %s' % (addr, ifname), ipr_ns.addr,
                        'add', index=index, address=str(addr.ip),
                        prefixlen=addr.network.prefixlen, flags=IFA_F_NODAD)
    # Up now, so the pair has carrier by the time the host end joins its
    # bridge, which then forwards at once; routes come in activate_port.
    netlink.request('%s up' % ifname, ipr_ns.link, 'set', index=index,
                    state='up')


def _add_routes(ipr_ns, index, port, ifname):
    addresses = [ipaddress.ip_interface(a) for a in port.get('addresses', ())]
    for route in port.get('routes', ()):
        dst = ipaddress.ip_network(route['dst'])
        gateway = ipaddress.ip_address(route['gateway'])
        family = socket.AF_INET6 if dst.version == 6 else socket.AF_INET
        on_link = any(gateway in a.network for a in addresses)
        kwargs = {'dst': str(dst), 'gateway': str(gateway), 'oif': index,
                  'family': family}
        if not on_link:
            kwargs['flags'] = 'onlink'
        try:
            ipr_ns.route('add', **kwargs)
        except NetlinkError as e:
            if e.code != errno.EEXIST:
                raise OSError(e.code, 'route %s via %s on %s: %s' % (
                    dst, gateway, ifname, os.strerror(e.code))) from None
            if route.get('default'):
                LOG.info('%s already has a default route; keeping it and '
                         'not adding one via %s', ifname, gateway)
            else:
                LOG.debug('Route %s via %s exists already', dst, gateway)


def _kept_peer(ipr, ipr_ns, devname, mac, netns):
    """The container end if host device ``devname`` already leads there.

    A device of that name that leads elsewhere is stale: it is removed.
    """
    existing = netlink.index_of(ipr, devname)
    if existing is None:
        return None
    peer = _peer_in_ns(ipr_ns, existing, mac)
    if peer is not None:
        LOG.debug('%s already leads to %s in %s', devname, peer, netns)
        return peer
    LOG.warning('Removing stale device %s: it does not lead into %s',
                devname, netns)
    netlink.request('delete stale %s' % devname, ipr.link, 'del',
                    index=existing)
    return None


@privsep.entrypoint
def create_port(netns, port):
    """Give a container one port: a veth pair, configured.

    :param netns: the container's network namespace (path or PID).
    :param port: a dict with ``devname`` (host end), ``ifname`` (name in
        the container; None picks the first free ``ethN``), ``mac``,
        ``mtu`` (None leaves the kernel's), ``tx_checksum`` (False turns
        the offload off), ``addresses`` (``addr/prefix``
        strings) and ``routes`` (dicts with ``dst``, ``gateway`` and, for
        default routes, ``default``: an existing default route is kept;
        they are added by :func:`activate_port`).
    :returns: ``{'ifname': name in the container, 'created': bool}``;
        ``created`` is False when the host end already led into this
        namespace with this MAC (the port is left as it is).

    Both ends are up; the routes and the announcement of the addresses
    wait for :func:`activate_port`, once the host end is wired to its
    network. On any error the veth pair is removed again before the error
    is raised, so a failed call leaves nothing behind.
    """
    _check_port(port)
    devname = port['devname']
    mac = port['mac']
    mtu = port.get('mtu')
    ns_fd = netns_mod.open_fd(netns)
    try:
        with IPRoute(groups=0) as ipr, netns_mod.iproute_in(ns_fd) as ipr_ns:
            peer = _kept_peer(ipr, ipr_ns, devname, mac, netns)
            if peer is not None:
                return {'ifname': peer, 'created': False}
            ifname = port.get('ifname') or _free_ethname(ipr_ns)
            if netlink.index_of(ipr_ns, ifname) is not None:
                raise OSError(errno.EEXIST, 'the namespace already has an '
                              'interface %s' % ifname)
            peer = {'ifname': ifname, 'address': mac, 'net_ns_fd': ns_fd}
            host = {'ifname': devname, 'kind': 'veth',
                    'address': _host_mac(mac), 'peer': peer}
            if mtu:
                peer['mtu'] = host['mtu'] = int(mtu)
            netlink.request('create veth %s' % devname, ipr.link, 'add',
                            **host)
            try:
                _write_sysctl('net/ipv6/conf/%s/disable_ipv6' % devname, 1)
                _configure_peer(ipr_ns, ns_fd, port, ifname)
                netlink.request('%s up' % devname, ipr.link, 'set',
                                index=netlink.index_of(ipr, devname),
                                state='up')
            except Exception:
                with contextlib.suppress(NetlinkError, OSError):
                    ipr.link('del', ifname=devname)
                raise
            LOG.debug('veth %s <-> %s in %s: %s, MTU %s, %s', devname,
                      ifname, netns, mac, mtu, port.get('addresses'))
            return {'ifname': ifname, 'created': True}
    finally:
        os.close(ns_fd)


@privsep.entrypoint
def activate_port(netns, port):
    """Finish a port whose host end is wired: routes, announcement.

    ``port`` is the dict given to :func:`create_port`, with the ``ifname``
    that it returned. Routes that exist already are kept. The port's
    addresses are announced to its network.
    """
    _check_port(port)
    ifname = netlink.check_ifname(port['ifname'])
    ns_fd = netns_mod.open_fd(netns)
    try:
        with netns_mod.iproute_in(ns_fd) as ipr_ns:
            index = netlink.index_of(ipr_ns, ifname)
            if index is None:
                raise OSError(errno.ENODEV, 'no interface %s in %s'
                              % (ifname, netns))
            netlink.request('%s up' % ifname, ipr_ns.link, 'set',
                            index=index, state='up')
            _add_routes(ipr_ns, index, port, ifname)
            # Now that the host end is wired: neighbours forget the MAC an
            # earlier owner of an address had.
            _announce(ipr_ns, index, ifname, port['mac'])
            LOG.debug('%s in %s is up, routes %s', ifname, netns,
                      port.get('routes'))
    finally:
        os.close(ns_fd)


def _announce(ipr_ns, index, ifname, mac):
    """Make the kernel announce the addresses of ``ifname``.

    Setting its MAC again (the same) is a change of address for the
    kernel: with ``arp_notify`` and ``ndisc_notify`` (set when the port
    was made) it sends a gratuitous ARP for each IPv4 address and an
    unsolicited neighbour advertisement for each IPv6 one. No raw socket,
    so no CAP_NET_RAW.
    """
    netlink.request('%s announce' % ifname, ipr_ns.link, 'set', index=index,
                    address=mac)


@privsep.entrypoint
def announce_port(netns, ifname, mac):
    """Announce the addresses of port ``ifname`` of a container again.

    Only if the interface is there and still has ``mac`` (a port removed
    and its name taken by another is left alone).
    :returns: True when announced, False when there is no such port.
    :raises NamespaceGoneError: the container has stopped.
    """
    ifname = netlink.check_ifname(ifname)
    _check_mac(mac)
    ns_fd = netns_mod.open_fd(netns)
    try:
        with netns_mod.iproute_in(ns_fd) as ipr_ns:
            index = netlink.index_of(ipr_ns, ifname)
            if index is None:
                return False
            link = ipr_ns.get_links(index)[0]
            if (link.get('address') or '').lower() != mac.lower():
                return False
            _announce(ipr_ns, index, ifname, mac)
            return True
    finally:
        os.close(ns_fd)


@privsep.entrypoint
def delete_port(devname, ifb_name=None):
    """Remove a port's host devices; the container end goes with the pair.

    Idempotent. :returns: the names of the devices that were removed.
    """
    names = [netlink.check_ifname(devname)]
    if ifb_name:
        names.append(netlink.check_ifname(ifb_name))
    removed = []
    with IPRoute(groups=0) as ipr:
        for name in names:
            index = netlink.index_of(ipr, name)
            if index is None:
                continue
            try:
                ipr.link('del', index=index)
            except NetlinkError as e:
                if e.code != errno.ENODEV:
                    raise OSError(e.code, 'delete %s: %s'
                                  % (name, os.strerror(e.code))) from None
            else:
                removed.append(name)
    return removed


@privsep.entrypoint
def ensure_bridge(bridge, mtu=None):
    """Make sure linux bridge ``bridge`` exists and is up.

    :returns: True when it had to be created. An existing device of
        another kind is an error, never replaced.
    """
    netlink.check_ifname(bridge)
    with IPRoute(groups=0) as ipr:
        created = False
        index = netlink.index_of(ipr, bridge)
        if index is None:
            kwargs = {'ifname': bridge, 'kind': 'bridge'}
            if mtu:
                kwargs['mtu'] = int(mtu)
            try:
                ipr.link('add', **kwargs)
                created = True
            except NetlinkError as e:
                if e.code != errno.EEXIST:
                    raise OSError(e.code, 'create bridge %s: %s'
                                  % (bridge, os.strerror(e.code))) from None
            index = netlink.index_of(ipr, bridge)
            _write_sysctl('net/ipv6/conf/%s/disable_ipv6' % bridge, 1)
        link = ipr.get_links(index)[0]
        kind = link.get(('linkinfo', 'kind'))
        if kind != 'bridge':
            raise OSError(errno.EINVAL, '%s is a %s device, not a linux '
                          'bridge' % (bridge, kind or 'plain'))
        netlink.request('%s up' % bridge, ipr.link, 'set', index=index,
                        state='up')
        return created


@privsep.entrypoint
def set_master(devname, bridge):
    """Make ``devname`` a port of linux bridge ``bridge``."""
    with IPRoute(groups=0) as ipr:
        index = netlink.index_of(ipr, netlink.check_ifname(devname))
        master = netlink.index_of(ipr, netlink.check_ifname(bridge))
        if index is None:
            raise OSError(errno.ENODEV, 'no device %s' % devname)
        if master is None:
            raise OSError(errno.ENODEV, 'no bridge %s' % bridge)
        netlink.request('attach %s to %s' % (devname, bridge), ipr.link,
                        'set', index=index, master=master)


@privsep.entrypoint
def write_resolv_conf(path, content):
    """Replace the content of an existing ``resolv.conf`` file.

    Only a regular file named ``resolv.conf`` that already exists, and is
    not the host's own, is written (no symlink followed, nothing
    created), so this entrypoint cannot be turned into a file writer.
    """
    if not isinstance(path, str) or not os.path.isabs(path) or \
            os.path.basename(path) != 'resolv.conf':
        raise ValueError('refusing to write %r: not a resolv.conf path'
                         % (path,))
    real = os.path.realpath(path)
    if real.startswith('/etc/') or (
            os.path.exists(HOST_RESOLV_CONF) and
            os.path.exists(path) and os.path.samefile(path, HOST_RESOLV_CONF)):
        raise ValueError('refusing to write %s: that is the host\'s own'
                         % path)
    data = content.encode('ascii')
    if len(data) > RESOLV_CONF_MAX:
        raise ValueError('resolv.conf content too long (%d bytes)'
                         % len(data))
    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError('%s is not a regular file' % path)
        os.ftruncate(fd, 0)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
