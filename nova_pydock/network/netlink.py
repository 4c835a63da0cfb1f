"""What the privileged modules share: device names and netlink requests.

Errors come out as :class:`OSError` or :class:`ValueError` with a message
that names the device, as every privileged function promises its caller.
"""
import os
import re

from pyroute2.netlink.exceptions import NetlinkError

_IFNAME_RE = re.compile(r'^[A-Za-z0-9_.:-]{1,15}$')


def check_ifname(name):
    """``name`` if it can be a Linux interface name, else ValueError."""
    if not isinstance(name, str) or not _IFNAME_RE.match(name) or \
            name in ('.', '..'):
        raise ValueError('invalid interface name %r' % (name,))
    return name


def request(what, call, *args, **kwargs):
    """Run one netlink request; errors become OSError naming ``what``."""
    try:
        return call(*args, **kwargs)
    except NetlinkError as e:
        raise OSError(e.code, '%s: %s' % (what, os.strerror(e.code))) from None


def index_of(ipr, name):
    """The interface index of ``name``, or None if there is none."""
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None
