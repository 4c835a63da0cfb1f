"""What a boot costs without OpenStack: ``docker run -d`` plus the veth
plumbing done by hand, for the benchmarks to compare Nova's boots with.

Each container gets what the driver gives a server's Neutron port: a veth
pair, the container end named ``eth0`` with a MAC, an address (no DAD)
and a default route, transmit checksums off (the userspace datapath needs
them filled in), and the host end on an Open vSwitch bridge with the
datapath the cloud's bridges use. The bridge and the namespace that
plays the host's part on it (the gateway address, from which the
containers are reached) are the bench's own, so the bench may use the
cloud's subnet without touching the cloud: nothing of it is routed on
the host. ``RawNetwork`` removes everything it made.
"""
import contextlib
import ctypes
import errno
import ipaddress
import os
import socket
import subprocess
import time

from pyroute2 import IPRoute

from nova_pydock.network.plumbing import set_tx_checksum

CLONE_NEWNET = 0x40000000
IFA_F_NODAD = 0x02
TIMEOUT = 120
_libc = ctypes.CDLL(None, use_errno=True)


def sh(*argv, timeout=TIMEOUT):
    return subprocess.run(argv, capture_output=True, text=True, check=True,
                          timeout=timeout).stdout.strip()


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def entered(path):
    """This thread in the network namespace at ``path``."""
    own = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
    target = os.open(path, os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)


def plug(netns, devname, address, gateway, ifname='eth0'):
    """A veth pair from the host into ``netns``, configured as the driver
    configures a port (in this thread: it enters the namespace)."""
    mac = '02:%02x:%02x:%02x:%02x:%02x' % tuple(os.urandom(5))
    fd = os.open(netns, os.O_RDONLY)
    try:
        with IPRoute() as ipr:
            ipr.link('add', ifname=devname, kind='veth',
                     peer={'ifname': ifname, 'address': mac,
                           'net_ns_fd': fd})
            with entered(netns), IPRoute() as ns:
                index = ns.link_lookup(ifname=ifname)[0]
                set_tx_checksum(ifname, False)
                iface = ipaddress.ip_interface(address)
                ns.addr('add', index=index, address=str(iface.ip),
                        prefixlen=iface.network.prefixlen, flags=IFA_F_NODAD)
                ns.link('set', index=index, state='up')
                ns.route('add', dst='0.0.0.0/0', gateway=gateway,
                         oif=index)
            ipr.link('set', index=ipr.link_lookup(ifname=devname)[0],
                     state='up')
    finally:
        os.close(fd)


class RawNetwork:
    """An OVS bridge and a namespace with the gateway address on it."""

    def __init__(self, tag, subnet, datapath):
        self.bridge = 'pdkraw%s' % tag
        self.netns = 'pdkraw%s' % tag
        self.network = ipaddress.ip_network(subnet)
        hosts = list(self.network.hosts())
        self.gateway, self.addresses = str(hosts[0]), hosts[9:]
        self.datapath = datapath
        self.ports = []

    def __enter__(self):
        sh('ovs-vsctl', '--may-exist', 'add-br', self.bridge, '--', 'set',
           'bridge', self.bridge, 'datapath_type=%s' % self.datapath)
        sh('ip', 'netns', 'add', self.netns)
        self.ports.append(self.bridge + 'g')
        plug('/run/netns/' + self.netns, self.bridge + 'g',
             '%s/%d' % (self.gateway, self.network.prefixlen), self.gateway)
        sh('ovs-vsctl', 'add-port', self.bridge, self.bridge + 'g')
        return self

    def __exit__(self, *exc):
        for port in self.ports:
            subprocess.run(['ip', 'link', 'del', port], capture_output=True,
                           check=False)
        subprocess.run(['ovs-vsctl', '--if-exists', 'del-br', self.bridge],
                       capture_output=True, check=False)
        subprocess.run(['ip', 'netns', 'del', self.netns],
                       capture_output=True, check=False)

    def boot(self, n, ref, command, memory_mb, label):
        """Container ``n``: docker run -d, then its port plugged by hand."""
        cid = sh('docker', 'run', '-d', '--network', 'none', '--label',
                 label, '--memory', '%dm' % memory_mb, '--memory-swap',
                 '%dm' % memory_mb, '--cpus', '1', ref, *command)
        pid = sh('docker', 'inspect', '-f', '{{.State.Pid}}', cid)
        devname = 'pdkraw%d' % n
        self.ports.append(devname)
        plug('/proc/%s/ns/net' % pid, devname, '%s/%d' % (
            self.addresses[n], self.network.prefixlen), self.gateway)
        sh('ovs-vsctl', 'add-port', self.bridge, devname)
        return str(self.addresses[n])

    def remove(self, n, label):
        """Container ``n`` (the one labelled ``label``) and its port."""
        ids = sh('docker', 'ps', '-aq', '--filter', 'label=' + label)
        if ids:
            sh('docker', 'rm', '-f', *ids.split())
        devname = 'pdkraw%d' % n
        sh('ovs-vsctl', '--if-exists', 'del-port', self.bridge, devname)
        self.ports.remove(devname)

    def reachable(self, addresses, port=80, timeout=TIMEOUT):
        """Seconds until every address answered TCP on ``port`` (from the
        gateway's namespace), or an error naming those that did not."""
        started = time.monotonic()
        waiting = set(addresses)
        with entered('/run/netns/' + self.netns):
            while waiting and time.monotonic() - started < timeout:
                for address in sorted(waiting):
                    if tcp_answers(address, port):
                        waiting.discard(address)
                if waiting:
                    time.sleep(0.1)
        if waiting:
            raise RuntimeError('no answer on port %d from %s' % (
                port, ', '.join(sorted(waiting))))
        return time.monotonic() - started


def tcp_answers(address, port, timeout=0.5):
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError as exc:
        if exc.errno not in (None, errno.ECONNREFUSED, errno.EHOSTUNREACH,
                             errno.ENETUNREACH,
                             errno.ETIMEDOUT):
            raise
        return False
