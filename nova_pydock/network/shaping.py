"""Privileged tc work: the bandwidth limits of a port's host end.

Like :mod:`~nova_pydock.network.plumbing`, every public function is an
entrypoint of :data:`nova_pydock.network.privsep.net_admin_pctxt`: plain
data in and out, :class:`OSError` or :class:`ValueError` naming the device.
"""
import errno
import os

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from nova_pydock.network import netlink
from nova_pydock.network import privsep

ETH_P_ALL = 0x0003
TC_H_INGRESS = 0xFFFF0000
HTB_ROOT = 0x10000
HTB_CLASS = 0x10001


def _htb(ipr, index, parent, limit, what):
    rate = int(limit['average']) * 1000
    kwargs = {'rate': rate, 'ceil': int(limit.get('peak') or 0) * 1000
              or rate}
    if limit.get('burst'):
        kwargs['burst'] = int(limit['burst']) * 1024
    netlink.request('%s: htb qdisc' % what, ipr.tc, 'add', 'htb', index,
                    parent, default=HTB_CLASS & 0xFFFF)
    netlink.request('%s: htb class' % what, ipr.tc, 'add-class', 'htb',
                    index, HTB_CLASS, parent=parent, **kwargs)


def _clear_shaping(ipr, index):
    for kind, handle in (('htb', HTB_ROOT), ('ingress', TC_H_INGRESS)):
        try:
            ipr.tc('del', kind, index, handle)
        except NetlinkError as e:
            if e.code not in (errno.ENOENT, errno.EINVAL):
                raise OSError(e.code, 'remove %s qdisc: %s'
                              % (kind, os.strerror(e.code))) from None


@privsep.entrypoint
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
    netlink.check_ifname(devname)
    netlink.check_ifname(ifb_name)
    with IPRoute(groups=0) as ipr:
        index = netlink.index_of(ipr, devname)
        if index is None:
            raise OSError(errno.ENODEV, 'no device %s' % devname)
        _clear_shaping(ipr, index)
        ifb = netlink.index_of(ipr, ifb_name)
        if ifb is not None:
            netlink.request('delete %s' % ifb_name, ipr.link, 'del',
                            index=ifb)
        if inbound:
            _htb(ipr, index, HTB_ROOT, inbound, '%s inbound' % devname)
        if outbound:
            netlink.request('create %s' % ifb_name, ipr.link, 'add',
                            ifname=ifb_name, kind='ifb')
            ifb = netlink.index_of(ipr, ifb_name)
            netlink.request('%s up' % ifb_name, ipr.link, 'set', index=ifb,
                            state='up')
            _htb(ipr, ifb, HTB_ROOT, outbound, '%s outbound' % ifb_name)
            netlink.request('%s: ingress qdisc' % devname, ipr.tc, 'add',
                            'ingress', index, TC_H_INGRESS)
            netlink.request(
                '%s: redirect to %s' % (devname, ifb_name), ipr.tc,
                'add-filter', 'u32', index, parent=TC_H_INGRESS, prio=1,
                protocol=ETH_P_ALL, keys=['0x0/0x0+0'], target=HTB_CLASS,
                action={'kind': 'mirred', 'direction': 'egress',
                        'action': 'redirect', 'ifindex': ifb})
