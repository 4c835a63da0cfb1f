"""Entering a container's network namespace, for the privileged modules.

A container's namespace is given as a path: the engine's bind mount of it
(``inspect['NetworkSettings']['SandboxKey']``) or ``/proc/<pid>/ns/net``;
an integer is taken as a PID. The calling thread enters the namespace only
long enough to open a netlink socket (and to write a sysctl or make an
ethtool call), then returns to its own namespace: the socket keeps working
in the container's.

Runs in the privsep daemon, on plain data; a namespace that is not there
is :class:`NamespaceGoneError`, which crosses the privsep boundary as itself.
"""
import contextlib
import ctypes
import errno
import fcntl
import os
import socket
import stat

from oslo_log import log as logging
from pyroute2 import IPRoute

LOG = logging.getLogger(__name__)

CLONE_NEWNET = 0x40000000
NS_GET_NSTYPE = 0xB703

_LIBC = ctypes.CDLL(None, use_errno=True)


class NamespaceGoneError(FileNotFoundError):
    """The network namespace does not exist (the container has stopped).

    Built from ``(errno, message)`` like any OSError, so that oslo.privsep
    can raise it again on the caller's side.
    """


def _setns(fd):
    if _LIBC.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, 'setns: %s' % os.strerror(err))


def path_of(netns):
    """The namespace file of ``netns`` (a PID or an absolute path)."""
    if isinstance(netns, int) and not isinstance(netns, bool):
        if netns <= 0:
            raise ValueError('invalid PID %r' % netns)
        return '/proc/%d/ns/net' % netns
    if isinstance(netns, str) and os.path.isabs(netns):
        return netns
    raise ValueError('a network namespace is a PID or an absolute path, '
                     'not %r' % (netns,))


def _gone(path, why=''):
    return NamespaceGoneError(
        errno.ENOENT, 'network namespace %s does not exist%s' % (path, why))


def _os_call(path, call, *args):
    try:
        return call(path, *args)
    except FileNotFoundError:
        raise _gone(path) from None
    except OSError as e:
        raise OSError(e.errno, 'cannot open network namespace %s: %s'
                      % (path, e.strerror)) from None


def open_fd(netns):
    """An fd of the network namespace ``netns``; nothing else is opened.

    Only a namespace file (nsfs) is opened at all, so no path handed to
    the daemon can make it open a device, a FIFO or a file of the host.
    :raises NamespaceGoneError: no such namespace (any more).
    """
    path = path_of(netns)
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
def entered(ns_fd):
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


def iproute_in(ns_fd):
    """An IPRoute whose netlink socket lives in the namespace ``ns_fd``."""
    with entered(ns_fd):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM,
                             socket.NETLINK_ROUTE)
    return IPRoute(use_socket=sock, groups=0)
