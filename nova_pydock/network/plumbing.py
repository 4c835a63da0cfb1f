"""Privileged netlink work: veth pairs, namespaces, bridges, tc.

Every public function here is an entrypoint of
:data:`nova_pydock.network.privsep.net_admin_pctxt` and so runs in the
privsep daemon. They take and return plain data only (strings, numbers,
lists, dicts), check what they are given, and raise :class:`OSError` or
:class:`ValueError` with a message that names the device; the unprivileged
caller turns those into Nova exceptions. Nothing here knows about Nova.

A container's namespace is given as a path: the engine's bind mount of it
(``inspect['NetworkSettings']['SandboxKey']``) or ``/proc/<pid>/ns/net``;
an integer is taken as a PID. The calling thread enters the namespace only
long enough to open a netlink socket (and to write a sysctl or make an
ethtool call), then returns to its own namespace: the socket keeps working
in the container's.
"""
import contextlib
import ctypes
import errno
import fcntl
import functools
import ipaddress
import os
import re
import socket
import stat
import struct
import sys

from oslo_log import log as logging
from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from nova_pydock.network import privsep

LOG = logging.getLogger(__name__)

CLONE_NEWNET = 0x40000000
NS_GET_NSTYPE = 0xB703
SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x17
IFA_F_NODAD = 0x02
ETH_P_ALL = 0x0003
TC_H_INGRESS = 0xFFFF0000
HTB_ROOT = 0x10000
HTB_CLASS = 0x10001
RESOLV_CONF_MAX = 64 * 1024
HOST_RESOLV_CONF = '/etc/resolv.conf'
_IFNAME_RE = re.compile(r'^[A-Za-z0-9_.:-]{1,15}$')

_LIBC = ctypes.CDLL(None, use_errno=True)


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


def _setns(fd):
    if _LIBC.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, 'setns: %s' % os.strerror(err))


def _check_ifname(name):
    if not isinstance(name, str) or not _IFNAME_RE.match(name) or \
            name in ('.', '..'):
        raise ValueError('invalid interface name %r' % (name,))
    return name


def _netns_path(netns):
    if isinstance(netns, int) and not isinstance(netns, bool):
        if netns <= 0:
            raise ValueError('invalid PID %r' % netns)
        return '/proc/%d/ns/net' % netns
    if isinstance(netns, str) and os.path.isabs(netns):
        return netns
    raise ValueError('a network namespace is a PID or an absolute path, '
                     'not %r' % (netns,))


def _gone(path, why=''):
    return FileNotFoundError(
        errno.ENOENT, 'network namespace %s does not exist%s' % (path, why))


def _os_call(path, call, *args):
    try:
        return call(path, *args)
    except FileNotFoundError:
        raise _gone(path) from None
    except OSError as e:
        raise OSError(e.errno, 'cannot open network namespace %s: %s'
                      % (path, e.strerror)) from None


def _open_netns(netns):
    """An fd of the network namespace ``netns``; nothing else is opened.

    Only a namespace file (nsfs) is opened at all, so no path handed to
    the daemon can make it open a device, a FIFO or a file of the host.
    """
    path = _netns_path(netns)
    info = _os_call(path, os.stat)
    if info.st_dev != os.stat('/proc/self/ns/net').st_dev or \
            not stat.S_ISREG(info.st_mode):
        # Also what an engine's bind mount point is once the container
        # has stopped: a plain empty file.
        raise _gone(path, ' (not a namespace file)')
    fd = _os_call(path, os.open, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        nstype = fcntl.ioctl(fd, NS_GET_NSTYPE)
    except OSError:
        nstype = None
    if nstype != CLONE_NEWNET:
        os.close(fd)
        raise _gone(path, ' (not a network namespace)')
    return fd


@contextlib.contextmanager
def _entered(ns_fd):
    """Run the block with this thread in the namespace ``ns_fd``."""
    own = os.open('/proc/thread-self/ns/net', os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(ns_fd)
        try:
            yield
        finally:
            # A thread that cannot go home must not serve another call.
            try:
                _setns(own)
            except OSError:
                LOG.critical('Cannot return to the own network namespace')
                os.abort()
    finally:
        os.close(own)


def _ns_iproute(ns_fd):
    """An IPRoute whose netlink socket lives in the namespace ``ns_fd``."""
    with _entered(ns_fd):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM,
                             socket.NETLINK_ROUTE)
    return IPRoute(use_socket=sock, groups=0)


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


def _nl(what, call, *args, **kwargs):
    """Run one netlink request; errors become OSError naming ``what``."""
    try:
        return call(*args, **kwargs)
    except NetlinkError as e:
        raise OSError(e.code, '%s: %s' % (what, os.strerror(e.code))) from None


def _index(ipr, name):
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


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


def _check_port(port):
    _check_ifname(port['devname'])
    if port.get('ifname') is not None:
        _check_ifname(port['ifname'])
    mac = port['mac']
    if not re.match(r'^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$', mac or ''):
        raise ValueError('invalid MAC %r' % (mac,))
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
    index = _index(ipr_ns, ifname)
    if index is None:
        raise OSError(errno.ENODEV, '%s did not arrive in the namespace'
                      % ifname)
    addresses = [ipaddress.ip_interface(a) for a in port.get('addresses', ())]
    with _entered(ns_fd):
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
        _nl('address %s on %s' % (addr, ifname), ipr_ns.addr, 'add',
            index=index, address=str(addr.ip), prefixlen=addr.network.
            prefixlen, flags=IFA_F_NODAD)
    # Up now, so the pair has carrier by the time the host end joins its
    # bridge, which then forwards at once; routes come in activate_port.
    _nl('%s up' % ifname, ipr_ns.link, 'set', index=index, state='up')


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


@privsep.net_admin_pctxt.entrypoint
@_one_green_thread_at_a_time
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
    ns_fd = _open_netns(netns)
    try:
        with IPRoute(groups=0) as ipr, _ns_iproute(ns_fd) as ipr_ns:
            existing = _index(ipr, devname)
            if existing is not None:
                peer = _peer_in_ns(ipr_ns, existing, mac)
                if peer is not None:
                    LOG.debug('%s already leads to %s in %s', devname, peer,
                              netns)
                    return {'ifname': peer, 'created': False}
                LOG.warning('Removing stale device %s: it does not lead into '
                            '%s', devname, netns)
                _nl('delete stale %s' % devname, ipr.link, 'del',
                    index=existing)
            ifname = port.get('ifname') or _free_ethname(ipr_ns)
            if _index(ipr_ns, ifname) is not None:
                raise OSError(errno.EEXIST, 'the namespace already has an '
                              'interface %s' % ifname)
            peer = {'ifname': ifname, 'address': mac, 'net_ns_fd': ns_fd}
            host = {'ifname': devname, 'kind': 'veth',
                    'address': _host_mac(mac), 'peer': peer}
            if mtu:
                peer['mtu'] = host['mtu'] = int(mtu)
            _nl('create veth %s' % devname, ipr.link, 'add', **host)
            try:
                _write_sysctl('net/ipv6/conf/%s/disable_ipv6' % devname, 1)
                _configure_peer(ipr_ns, ns_fd, port, ifname)
                _nl('%s up' % devname, ipr.link, 'set',
                    index=_index(ipr, devname), state='up')
            except Exception:
                with contextlib.suppress(NetlinkError, OSError):
                    ipr.link('del', ifname=devname)
                raise
            LOG.debug('veth %s <-> %s in %s: %s, MTU %s, %s', devname,
                      ifname, netns, mac, mtu, port.get('addresses'))
            return {'ifname': ifname, 'created': True}
    finally:
        os.close(ns_fd)


@privsep.net_admin_pctxt.entrypoint
@_one_green_thread_at_a_time
def activate_port(netns, port):
    """Finish a port whose host end is wired: routes, announcement.

    ``port`` is the dict given to :func:`create_port`, with the ``ifname``
    that it returned. Routes that exist already are kept. The port's
    addresses are announced to its network.
    """
    _check_port(port)
    ifname = _check_ifname(port['ifname'])
    ns_fd = _open_netns(netns)
    try:
        with _ns_iproute(ns_fd) as ipr_ns:
            index = _index(ipr_ns, ifname)
            if index is None:
                raise OSError(errno.ENODEV, 'no interface %s in %s'
                              % (ifname, netns))
            _nl('%s up' % ifname, ipr_ns.link, 'set', index=index,
                state='up')
            _add_routes(ipr_ns, index, port, ifname)
            # Setting the MAC again makes the kernel announce the port's
            # addresses (gratuitous ARP, unsolicited neighbour
            # advertisement), now that the host end is wired: neighbours
            # forget the MAC an earlier owner of an address had.
            _nl('%s announce' % ifname, ipr_ns.link, 'set', index=index,
                address=port['mac'])
            LOG.debug('%s in %s is up, routes %s', ifname, netns,
                      port.get('routes'))
    finally:
        os.close(ns_fd)


@privsep.net_admin_pctxt.entrypoint
@_one_green_thread_at_a_time
def delete_port(devname, ifb_name=None):
    """Remove a port's host devices; the container end goes with the pair.

    Idempotent. :returns: the names of the devices that were removed.
    """
    names = [_check_ifname(devname)]
    if ifb_name:
        names.append(_check_ifname(ifb_name))
    removed = []
    with IPRoute(groups=0) as ipr:
        for name in names:
            index = _index(ipr, name)
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


@privsep.net_admin_pctxt.entrypoint
@_one_green_thread_at_a_time
def ensure_bridge(bridge, mtu=None):
    """Make sure linux bridge ``bridge`` exists and is up.

    :returns: True when it had to be created. An existing device of
        another kind is an error, never replaced.
    """
    _check_ifname(bridge)
    with IPRoute(groups=0) as ipr:
        created = False
        index = _index(ipr, bridge)
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
            index = _index(ipr, bridge)
            _write_sysctl('net/ipv6/conf/%s/disable_ipv6' % bridge, 1)
        link = ipr.get_links(index)[0]
        kind = link.get(('linkinfo', 'kind'))
        if kind != 'bridge':
            raise OSError(errno.EINVAL, '%s is a %s device, not a linux '
                          'bridge' % (bridge, kind or 'plain'))
        _nl('%s up' % bridge, ipr.link, 'set', index=index, state='up')
        return created


@privsep.net_admin_pctxt.entrypoint
@_one_green_thread_at_a_time
def set_master(devname, bridge):
    """Make ``devname`` a port of linux bridge ``bridge``."""
    with IPRoute(groups=0) as ipr:
        index = _index(ipr, _check_ifname(devname))
        master = _index(ipr, _check_ifname(bridge))
        if index is None:
            raise OSError(errno.ENODEV, 'no device %s' % devname)
        if master is None:
            raise OSError(errno.ENODEV, 'no bridge %s' % bridge)
        _nl('attach %s to %s' % (devname, bridge), ipr.link, 'set',
            index=index, master=master)


def _htb(ipr, index, parent, limit, what):
    rate = int(limit['average']) * 1000
    kwargs = {'rate': rate, 'ceil': int(limit.get('peak') or 0) * 1000
              or rate}
    if limit.get('burst'):
        kwargs['burst'] = int(limit['burst']) * 1024
    _nl('%s: htb qdisc' % what, ipr.tc, 'add', 'htb', index, parent,
        default=HTB_CLASS & 0xFFFF)
    _nl('%s: htb class' % what, ipr.tc, 'add-class', 'htb', index,
        HTB_CLASS, parent=parent, **kwargs)


def _clear_shaping(ipr, index):
    for kind, handle in (('htb', HTB_ROOT), ('ingress', TC_H_INGRESS)):
        try:
            ipr.tc('del', kind, index, handle)
        except NetlinkError as e:
            if e.code not in (errno.ENOENT, errno.EINVAL):
                raise OSError(e.code, 'remove %s qdisc: %s'
                              % (kind, os.strerror(e.code))) from None


@privsep.net_admin_pctxt.entrypoint
@_one_green_thread_at_a_time
def set_shaping(devname, ifb_name, inbound=None, outbound=None):
    """Traffic shaping on a port's host end, as libvirt's ``<bandwidth>``.

    ``inbound`` (traffic into the instance) shapes the egress of the host
    end with an htb class; ``outbound`` (traffic from the instance) is
    redirected at the ingress of the host end to an ifb device
    ``ifb_name`` that shapes it the same way (no ``act_police`` needed).
    Limits are dicts with ``average``, ``peak`` (kilobytes per second, as
    tc's ``kbps``) and ``burst`` (kilobytes). Earlier shaping of the port
    is replaced; None for both removes it all.
    """
    _check_ifname(devname)
    _check_ifname(ifb_name)
    with IPRoute(groups=0) as ipr:
        index = _index(ipr, devname)
        if index is None:
            raise OSError(errno.ENODEV, 'no device %s' % devname)
        _clear_shaping(ipr, index)
        ifb = _index(ipr, ifb_name)
        if ifb is not None:
            _nl('delete %s' % ifb_name, ipr.link, 'del', index=ifb)
        if inbound:
            _htb(ipr, index, HTB_ROOT, inbound, '%s inbound' % devname)
        if outbound:
            _nl('create %s' % ifb_name, ipr.link, 'add', ifname=ifb_name,
                kind='ifb')
            ifb = _index(ipr, ifb_name)
            _nl('%s up' % ifb_name, ipr.link, 'set', index=ifb, state='up')
            _htb(ipr, ifb, HTB_ROOT, outbound, '%s outbound' % ifb_name)
            _nl('%s: ingress qdisc' % devname, ipr.tc, 'add', 'ingress',
                index, TC_H_INGRESS)
            _nl('%s: redirect to %s' % (devname, ifb_name), ipr.tc,
                'add-filter', 'u32', index, parent=TC_H_INGRESS, prio=1,
                protocol=ETH_P_ALL, keys=['0x0/0x0+0'], target=HTB_CLASS,
                action={'kind': 'mirred', 'direction': 'egress',
                        'action': 'redirect', 'ifindex': ifb})


@privsep.net_admin_pctxt.entrypoint
@_one_green_thread_at_a_time
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
