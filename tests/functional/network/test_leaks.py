"""Many plug/unplug cycles leave nothing behind on the host."""
import time

from testtools import content

from nova_pydock.network import spec
from tests.functional.network import base

CYCLES = 50


class TestNoLeaks(base.NetworkTestCase):

    def test_plug_unplug_cycles(self):
        """50 cycles, two shaped VIFs each: no device, qdisc or netns left.

        Other suites may make devices on this host meanwhile, so the
        comparison is over the devices this test's ports could leave: their
        taps and ifbs. The whole count is compared too when nothing else
        changed it.
        """
        bridge1, bridge2 = self.make_bridge(), self.make_bridge()
        peer = self.make_peer(bridge1, '198.18.220.1/24')
        container = self.start_container()
        netns = self.netns(container)
        instance = self.make_instance({'quota:vif_inbound_average': '1000',
                                       'quota:vif_outbound_average': '1000'})
        links_before = base.host_links()
        netns_before = base.netns_list()
        qdiscs_before = base.run('tc', 'qdisc', 'show').count('\n')
        started = time.monotonic()
        ours = set()
        for cycle in range(CYCLES):
            vifs = [self.make_vif(bridge1, '198.18.220.10', '198.18.220.0/24',
                                  gateway='198.18.220.1'),
                    self.make_vif(bridge2, '198.19.220.10', '198.19.220.0/24',
                                  mtu=1400)]
            ours.update(v['devname'] for v in vifs)
            ours.update(spec.ifb_name(v) for v in vifs)
            # Should an assertion stop the loop (unplug is idempotent).
            self.addCleanup(self.network.unplug, instance, vifs)
            self.assertEqual(['eth0', 'eth1'],
                             self.network.plug(instance, vifs, netns))
            if cycle in (0, CYCLES - 1):
                self.assertTrue(peer.ping('198.18.220.10'))
            self.network.unplug(instance, vifs)
            self.assertNotIn('eth', self.exec(container, 'ip -o link'))
        elapsed = time.monotonic() - started
        links_after = base.host_links()
        self.assertEqual([], sorted(ours & set(links_after)))
        # No namespace appeared (the test peers of suites running
        # alongside, all named pydock-*, aside).
        self.assertEqual([], [name for name in base.netns_list()
                              if name not in netns_before
                              and not name.startswith('pydock-')])
        qdiscs_after = base.run('tc', 'qdisc', 'show').count('\n')
        self.addDetail('cycles', _text('%d cycles of 2 VIFs in %.1f s; '
                                       'links %d -> %d, qdisc lines %d -> '
                                       '%d' % (CYCLES, elapsed,
                                               len(links_before),
                                               len(links_after),
                                               qdiscs_before,
                                               qdiscs_after)))
        if set(links_before) == set(links_after):
            self.assertEqual(len(links_before), len(links_after))
            self.assertEqual(qdiscs_before, qdiscs_after)


def _text(value):
    return content.text_content(value)
