"""A port's addresses announced again after the plug, on this kernel.

The peer namespace stands in for the network a moved server comes back
on: its neighbour entry for the server's address still has the MAC of
"where it was" (an entry made stale by the test after the plug's own
announcement, as a switch that dropped that first one would have). The
announcements that follow teach it the port's MAC again.
"""
import threading
import time

from vif_plug_ovs import linux_net
from vif_plug_ovs import privsep as ovs_privsep

from nova_pydock.network import netns as netns_mod
from nova_pydock.network import plumbing
from tests.functional.network import base
from tests.functional.network import in_process_privsep

ELSEWHERE = '02:00:5e:00:00:99'


class TestAnnounce(base.SubnetTestCase):

    def setUp(self):
        super().setUp()
        self.peer = self.make_peer(self.bridge, self.ip(1) + '/24')

    def mislead_peer(self, address):
        """The peer's entry for ``address`` names another MAC (stale)."""
        out = base.run('ip', '-n', self.peer.name, '-o', 'link')
        device = [line.split(':')[1].strip().split('@')[0]
                  for line in out.splitlines() if ' lo:' not in line][0]
        base.run('ip', '-n', self.peer.name, 'neigh', 'replace', address,
                 'lladdr', ELSEWHERE, 'dev', device, 'nud', 'stale')
        self.assertEqual(ELSEWHERE, self.peer.neighbour(address))

    def wait_neighbour(self, address, mac, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.peer.neighbour(address) == mac:
                return True
            time.sleep(0.05)
        return False

    def plugged(self, host, delays):
        self.conf.config(port_announce_delays=delays, group='pydock')
        container = self.start_container()
        vif = self.make_vif(self.bridge, self.ip(host), self.cidr)
        self.plug(self.make_instance(), [vif], container)
        return container, vif

    def test_announce_port_corrects_a_stale_neighbour(self):
        container, vif = self.plugged(20, [])
        self.mislead_peer(self.ip(20))
        self.assertTrue(plumbing.announce_port(
            self.netns(container), 'eth0', vif['address']))
        self.assertTrue(self.wait_neighbour(self.ip(20), vif['address'], 2))

    def test_another_mac_is_not_announced(self):
        """An interface of that name with another MAC (the port was
        removed, its name taken) is left alone."""
        container, vif = self.plugged(21, [])
        self.mislead_peer(self.ip(21))
        self.assertFalse(plumbing.announce_port(
            self.netns(container), 'eth0', self.random_mac()))
        self.assertFalse(plumbing.announce_port(
            self.netns(container), 'eth5', vif['address']))
        self.assertFalse(self.wait_neighbour(self.ip(21), vif['address'],
                                             1))

    def test_stopped_container(self):
        container, vif = self.plugged(22, [])
        netns = self.netns(container)
        self.api.stop(container, timeout=1)
        self.assertRaises(netns_mod.NamespaceGoneError,
                          plumbing.announce_port, netns, 'eth0',
                          vif['address'])

    def test_plug_announces_again_later(self):
        """Each announcement after the plug (2 s and 4 s here) corrects
        the peer again."""
        _container, vif = self.plugged(23, [2, 4])
        for _ in range(2):
            self.mislead_peer(self.ip(23))
            self.assertTrue(self.wait_neighbour(self.ip(23), vif['address'],
                                                6))
        self.assertTrue(self.peer.ping(self.ip(23), flush=False))

    def test_announcing_alongside_os_vif(self):
        """The announcer's thread and os-vif's calls at the same time, as
        when a server is deleted seconds after its plug: each gets its
        answer (in eventlet mode only because the harness makes them one
        at a time, see :mod:`in_process_privsep`)."""
        self.useFixture(in_process_privsep.InProcessPrivsep(
            ovs_privsep.vif_plug))
        container, vif = self.plugged(24, [])
        netns = self.netns(container)
        announced, errors = [], []

        def call_repeatedly(call):
            try:
                for _ in range(20):
                    call()
            except Exception as e:  # noqa: B902 - the test reports it
                errors.append(e)

        threads = [threading.Thread(target=call_repeatedly, args=(call,))
                   for call in [
                       lambda: announced.append(plumbing.announce_port(
                           netns, 'eth0', vif['address'])),
                       lambda: linux_net.delete_net_dev('pdk-absent0'),
                       lambda: linux_net.delete_net_dev('pdk-absent1')]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual([], errors)
        self.assertEqual([True] * 20, announced)
