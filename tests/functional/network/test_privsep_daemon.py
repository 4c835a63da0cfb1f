"""Plumbing through a real privsep daemon with only its two capabilities.

The other tests run the context in-process as root. This one starts
``privsep-helper`` as production does (without sudo: we are root already)
so the daemon keeps CAP_NET_ADMIN and CAP_SYS_ADMIN and nothing else, and
shows what that allows: the engine's namespace bind mount works, a
container's ``/proc/<pid>/ns/net`` does not (the kernel's ptrace access
check wants capabilities the daemon lacks), resolv.conf can be written.
"""
import os
import sys

from oslo_config import cfg

from nova_pydock.network import exception
from nova_pydock.network import netns as net_netns
from nova_pydock.network import privsep
from tests.functional.network import base

CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21


def _daemon_caps():
    """CapEff of every running privsep daemon of our context."""
    caps = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                cmdline = f.read().split(b'\0')
            if privsep.net_admin_pctxt.pypath.encode() not in cmdline:
                continue
            with open('/proc/%s/status' % pid) as f:
                for line in f:
                    if line.startswith('CapEff:'):
                        caps.append(int(line.split()[1], 16))
        except OSError:
            continue
    return caps


class TestPrivsepDaemon(base.NetworkTestCase):

    in_process_privsep = False

    def setUp(self):
        super().setUp()
        # The real daemon, not the in-process context of the base class.
        self.assertTrue(privsep.net_admin_pctxt.client_mode)
        helper = os.path.join(os.path.dirname(sys.executable),
                              'privsep-helper')
        cfg.CONF.set_override('helper_command', helper,
                              group='pydock_net_admin')
        self.addCleanup(cfg.CONF.clear_override, 'helper_command',
                        group='pydock_net_admin')
        self.addCleanup(privsep.net_admin_pctxt.stop)
        self.bridge = self.make_bridge()
        self.peer = self.make_peer(self.bridge, '198.18.230.1/24')

    def test_plug_with_two_capabilities(self):
        container = self.start_container()
        instance = self.make_instance()
        vif = self.make_vif(self.bridge, '198.18.230.10', '198.18.230.0/24',
                            dns=['198.18.230.53'])
        details = self.inspect(container)
        self.plug(instance, [vif], container,
                  resolv_conf_path=details['ResolvConfPath'])
        # One daemon per test process that runs such a test.
        self.assertEqual({(1 << CAP_NET_ADMIN) | (1 << CAP_SYS_ADMIN)},
                         set(_daemon_caps()))
        self.assertTrue(self.peer.ping('198.18.230.10'))
        self.assertIn('nameserver 198.18.230.53',
                      self.exec(container, 'cat /etc/resolv.conf'))
        self.network.unplug(instance, [vif])
        self.assertNotIn(vif['devname'], base.host_links())

    def test_process_namespace_is_refused(self):
        """/proc/<pid>/ns/net of a container: EACCES, nothing left."""
        container = self.start_container()
        instance = self.make_instance()
        vif = self.make_vif(self.bridge, '198.18.230.11', '198.18.230.0/24')
        pid = self.inspect(container)['State']['Pid']
        error = self.assertRaises(exception.PlugFailed, self.network.plug,
                                  instance, [vif], pid)
        self.assertIn('Permission denied', str(error))
        self.assertNotIn(vif['devname'], base.host_links())

    def test_stopped_container_namespace_is_gone(self):
        """The daemon's NamespaceGoneError comes back as itself, so the
        facade reports the namespace gone without reading a message."""
        container = self.start_container()
        instance = self.make_instance()
        vif = self.make_vif(self.bridge, '198.18.230.12', '198.18.230.0/24')
        netns = self.netns(container)
        self.api.stop(container, timeout=1)
        error = self.assertRaises(exception.NamespaceNotFound,
                                  self.network.plug, instance, [vif], netns)
        self.assertIsInstance(error.__cause__, net_netns.NamespaceGoneError)
        self.assertNotIn(vif['devname'], base.host_links())
