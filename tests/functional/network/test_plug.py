"""Neutron ports into real containers on this machine's kernel."""
from concurrent import futures
import json
import os
import signal
import subprocess
import time

import fixtures
from testtools import content

from nova_pydock.network import exception
from nova_pydock.network import spec
from tests.functional.network import base


class TestPlug(base.NetworkTestCase):

    def setUp(self):
        super().setUp()
        self.octet = int(base.short_id()[:2], 16)
        self.cidr = '198.18.%d.0/24' % self.octet
        self.bridge = self.make_bridge()
        self.peer = self.make_peer(self.bridge, self.ip(1) + '/24',
                                   address6='fd00:%x::1/64' % self.octet)

    def ip(self, host):
        return '198.18.%d.%d' % (self.octet, host)

    def ip6(self, host):
        return 'fd00:%x::%x' % (self.octet, host)

    def vif(self, host, **kwargs):
        kwargs.setdefault('gateway', self.ip(1))
        return self.make_vif(self.bridge, self.ip(host), self.cidr, **kwargs)

    def addresses(self, container, ifname='eth0'):
        out = self.exec(container, 'ip -o addr show dev %s' % ifname)
        return [line.split()[3] for line in out.splitlines()]

    def test_peer_reaches_container(self):
        """ping, then a TCP connection, from the peer to the fixed IP."""
        container = self.start_container()
        instance = self.make_instance()
        vif = self.vif(10)
        self.assertEqual(['eth0'], self.plug(instance, [vif], container))
        self.assertTrue(self.peer.ping(self.ip(10)))
        self.assert_tcp(self.peer, container, self.ip(10))
        # The host end is the port's device, on the bridge, up.
        link = json.loads(base.run('ip', '-j', '-d', 'link', 'show',
                                   vif['devname']))[0]
        self.assertEqual(self.bridge, link['master'])
        self.assertIn('UP', link['flags'])
        self.assertTrue(link['address'].startswith('fe:'))

    def test_inside_view(self):
        """MAC, MTU, IPv4 and IPv6 addresses, routes, resolv.conf."""
        container = self.start_container()
        instance = self.make_instance()
        vif = self.vif(
            11, mtu=1400, address6=self.ip6(11),
            cidr6='fd00:%x::/64' % self.octet, gateway6=self.ip6(1),
            dns=[self.ip(53), self.ip6(53)],
            routes=[('198.19.%d.0/24' % self.octet, self.ip(254))])
        self.plug(instance, [vif], container,
                  resolv_conf_path=self.inspect(container)['ResolvConfPath'])
        link = self.exec(container, 'ip -o link show dev eth0')
        self.assertIn('mtu 1400', link)
        self.assertIn('link/ether %s' % vif['address'], link)
        self.assertEqual(
            sorted([self.ip(11) + '/24', self.ip6(11) + '/64']),
            sorted(a for a in self.addresses(container)
                   if not a.startswith('fe80')))
        routes = self.exec(container, 'ip route')
        self.assertIn('default via %s dev eth0' % self.ip(1), routes)
        self.assertIn('198.19.%d.0/24 via %s dev eth0'
                      % (self.octet, self.ip(254)), routes)
        self.assertIn('default via %s dev eth0' % self.ip6(1),
                      self.exec(container, 'ip -6 route'))
        self.assertEqual(
            ['nameserver %s' % self.ip(53), 'nameserver %s' % self.ip6(53)],
            [line for line in self.exec(
                container, 'cat /etc/resolv.conf').splitlines()
             if not line.startswith('#')])
        # The MTU is the network's on the host end too.
        self.assertIn('mtu 1400', base.run('ip', 'link', 'show',
                                           vif['devname']))
        self.assertTrue(self.peer.ping(self.ip6(11)))

    def test_two_containers_reach_each_other(self):
        first, second = self.start_container(), self.start_container()
        vif1, vif2 = self.vif(21), self.vif(22)
        self.plug(self.make_instance(), [vif1], first)
        self.plug(self.make_instance(), [vif2], second)
        self.exec(first, 'ping -c 1 -W 2 %s' % self.ip(22))
        self.listen(second, 7001)
        self.exec(first, 'for i in 1 2 3 4 5; do echo across | '
                  'nc -w 2 %s 7001 && break; sleep 0.3; done'
                  % self.ip(22))
        self.assert_received(second, 7001, 'across')

    def test_two_vifs_in_order(self):
        """Second VIF is eth1; the default route is the first VIF's."""
        bridge2 = self.make_bridge()
        container = self.start_container()
        vif1 = self.vif(31)
        vif2 = self.make_vif(bridge2, '198.19.%d.31' % self.octet,
                             '198.19.%d.0/24' % self.octet,
                             gateway='198.19.%d.1' % self.octet)
        names = self.plug(self.make_instance(), [vif1, vif2], container)
        self.assertEqual(['eth0', 'eth1'], names)
        self.assertIn('link/ether %s' % vif2['address'],
                      self.exec(container, 'ip -o link show dev eth1'))
        routes = self.exec(container, 'ip route')
        self.assertIn('default via %s dev eth0' % self.ip(1), routes)
        self.assertNotIn('default via 198.19', routes)
        self.assertTrue(self.peer.ping(self.ip(31)))

    def test_concurrent_plugs(self):
        """Threads plugging different containers at once (as nova-compute
        spawns do) each get their own namespace right."""
        containers = [self.start_container() for _ in range(3)]
        instances = [self.make_instance() for _ in containers]
        vifs = [self.vif(81 + i) for i in range(3)]
        netns = [self.netns(c) for c in containers]
        for instance, vif in zip(instances, vifs, strict=True):
            self.addCleanup(self.network.unplug, instance, [vif])
        def plug(i):
            names = self.network.plug(instances[i], [vifs[i]], netns[i])
            # Where the worker thread is once done: home again.
            return names, os.stat('/proc/thread-self/ns/net').st_ino

        with futures.ThreadPoolExecutor(3) as pool:
            results = list(pool.map(plug, range(3)))
        home = os.stat('/proc/thread-self/ns/net').st_ino
        self.assertEqual([(['eth0'], home)] * 3, results)
        for i, container in enumerate(containers):
            self.assertEqual([self.ip(81 + i) + '/24'],
                             self.addresses(container))
            self.assertTrue(self.peer.ping(self.ip(81 + i)))

    def test_hot_attach_and_detach(self):
        container = self.start_container()
        instance = self.make_instance()
        vif1, vif2 = self.vif(41), self.vif(42, gateway=None)
        self.plug(instance, [vif1], container)
        netns = self.netns(container)
        self.assertEqual('eth1', self.network.attach(instance, vif2, netns))
        self.addCleanup(self.network.detach, instance, vif2)
        self.assertIn(self.ip(42) + '/24', self.addresses(container, 'eth1'))
        self.assertIn(vif2['devname'], base.host_links())
        self.assertTrue(self.peer.ping(self.ip(42)))
        self.network.detach(instance, vif2)
        self.assertNotIn('eth1', self.exec(container, 'ip -o link'))
        self.assertNotIn(vif2['devname'], base.host_links())
        self.assertTrue(self.peer.ping(self.ip(41)))

    def test_replumb_after_restart(self):
        """The namespace dies with the process; plug again after start."""
        container = self.start_container()
        instance = self.make_instance()
        vif = self.vif(51)
        self.plug(instance, [vif], container)
        self.assertTrue(self.peer.ping(self.ip(51)))
        self.api.stop(container, timeout=1)
        # The pair goes with the namespace (the kernel frees it shortly
        # after the engine lets go of it).
        for _ in range(50):
            if vif['devname'] not in base.host_links():
                break
            time.sleep(0.1)
        self.assertNotIn(vif['devname'], base.host_links())
        self.api.start(container)
        self.plug(instance, [vif], container)
        self.assertTrue(self.peer.ping(self.ip(51)))
        self.assert_tcp(self.peer, container, self.ip(51))

    def test_stale_host_device_is_replaced(self):
        """A device of the port's name leading elsewhere is replaced.

        After a restart the old namespace (and its pair) may outlive the
        process for a moment; plug must not keep its host end.
        """
        container = self.start_container()
        vif = self.vif(62)
        base.run('ip', 'link', 'add', vif['devname'], 'type', 'veth',
                 'peer', 'name', 'pys' + base.short_id())
        self.addCleanup(base.run, 'ip', 'link', 'del', vif['devname'],
                        check=False)
        self.plug(self.make_instance(), [vif], container)
        self.assertTrue(self.peer.ping(self.ip(62)))

    def test_address_reuse_is_announced(self):
        """A new port with an old address: neighbours learn its MAC.

        Gratuitous ARP and an unsolicited neighbour advertisement on plug;
        without them the peer would keep the old MAC until its cache
        entry times out.
        """
        container = self.start_container()
        instance = self.make_instance()
        cidr6 = 'fd00:%x::/64' % self.octet
        old = self.vif(63, address6=self.ip6(63), cidr6=cidr6)
        self.plug(instance, [old], container)
        self.assertTrue(self.peer.ping(self.ip(63)))
        self.assertTrue(self.peer.ping(self.ip6(63)))
        self.assertEqual(old['address'], self.peer.neighbour(self.ip(63)))
        self.network.unplug(instance, [old])
        new = self.vif(63, address6=self.ip6(63), cidr6=cidr6)
        self.plug(instance, [new], container)
        for address in (self.ip(63), self.ip6(63)):
            for _ in range(20):
                if self.peer.neighbour(address) == new['address']:
                    break
                time.sleep(0.1)
            self.assertEqual(new['address'], self.peer.neighbour(address))
            self.assertTrue(self.peer.ping(address, tries=2, flush=False))

    def test_plug_is_idempotent(self):
        """A second plug (e.g. plug_vifs at compute start) keeps ports."""
        container = self.start_container()
        instance = self.make_instance()
        vif = self.vif(61)
        self.plug(instance, [vif], container)
        before = self.exec(container, 'ip -o link show dev eth0')
        self.plug(instance, [vif], container)
        self.assertEqual(before, self.exec(container,
                                           'ip -o link show dev eth0'))
        self.assertTrue(self.peer.ping(self.ip(61)))

    def test_traffic_shaping(self):
        """quota:vif_* become htb on the host end and its ifb."""
        container = self.start_container()
        instance = self.make_instance({
            'quota:vif_inbound_average': '100',
            'quota:vif_inbound_peak': '200',
            'quota:vif_inbound_burst': '64',
            'quota:vif_outbound_average': '50'})
        vif = self.vif(71)
        self.plug(instance, [vif], container)
        tap, ifb = vif['devname'], spec.ifb_name(vif)
        qdiscs = base.run('tc', 'qdisc', 'show', 'dev', tap)
        self.assertIn('qdisc htb 1: root', qdiscs)
        self.assertIn('qdisc ingress ffff:', qdiscs)
        classes = base.run('tc', 'class', 'show', 'dev', tap)
        self.assertIn('rate 800Kbit ceil 1600Kbit burst 64Kb', classes)
        self.assertIn('rate 400Kbit', base.run('tc', 'class', 'show', 'dev',
                                               ifb))
        self.assertIn('mirred (Egress Redirect to device %s)' % ifb,
                      base.run('tc', 'filter', 'show', 'dev', tap,
                               'parent', 'ffff:'))
        self.assertTrue(self.peer.ping(self.ip(71)))
        self.assert_tcp(self.peer, container, self.ip(71))
        self.network.unplug(instance, [vif])
        self.assertNotIn(tap, base.host_links())
        self.assertNotIn(ifb, base.host_links())

    def test_shaping_limits_throughput(self):
        """512 KiB each way at 200 KB/s takes seconds, not milliseconds."""
        container = self.start_container()
        instance = self.make_instance({
            'quota:vif_inbound_average': '200',
            'quota:vif_inbound_burst': '16',
            'quota:vif_outbound_average': '200',
            'quota:vif_outbound_burst': '16'})
        self.plug(instance, [self.vif(72)], container)
        size = 512 * 1024
        send = 'dd if=/dev/zero bs=1024 count=512 2>/dev/null | '
        # Into the instance: the host end's htb.
        self.listen(container, 7100)
        started = time.monotonic()
        self.peer.sh(send + '%s nc -w 1 %s 7100' % (base.BUSYBOX,
                                                      self.ip(72)))
        inbound = self.wait_for_size(
            lambda: int(self.exec(container, 'wc -c < /tmp/got.7100')),
            size, started)
        # Out of the instance: the ifb's htb.
        received = self.useFixture(fixtures.TempDir()).join('got')
        listener = subprocess.Popen(
            ['ip', 'netns', 'exec', self.peer.name, base.BUSYBOX, 'sh', '-c',
             'sleep 60 | %s nc -l -p 7200 > %s' % (base.BUSYBOX,
                                                    received)],
            start_new_session=True)
        self.addCleanup(listener.wait, 10)
        # The whole pipeline: its nc must not keep the peer alive.
        self.addCleanup(os.killpg, listener.pid, signal.SIGKILL)
        for _ in range(50):
            if ':7200 ' in self.peer.sh('%s netstat -ltn' % base.BUSYBOX):
                break
            time.sleep(0.1)
        started = time.monotonic()
        self.exec(container, send + 'nc -w 1 %s 7200' % self.ip(1))
        outbound = self.wait_for_size(
            lambda: os.path.getsize(received), size, started)
        self.addDetail('throughput', content.text_content(
            '512 KiB in %.2f s inbound, %.2f s outbound' % (inbound,
                                                            outbound)))
        # 200 KB/s: about 2.5 s; unshaped, a veth pair moves it in ms.
        self.assertGreater(inbound, 1.5)
        self.assertGreater(outbound, 1.5)

    def wait_for_size(self, measure, size, started, timeout=30):
        while time.monotonic() - started < timeout:
            try:
                if measure() >= size:
                    return time.monotonic() - started
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        self.fail('%d bytes did not arrive in %d s' % (size, timeout))


class TestPlugErrors(base.NetworkTestCase):
    """Bad input: a clear Nova exception and nothing left behind."""

    def setUp(self):
        super().setUp()
        self.bridge = self.make_bridge()
        self.container = self.start_container()
        self.instance = self.make_instance()
        self.good = self.make_vif(self.bridge, '198.18.200.10',
                                  '198.18.200.0/24')

    def assert_nothing_left(self, vifs):
        links = base.host_links()
        for vif in vifs:
            self.assertNotIn(vif['devname'], links)
        self.assertEqual('', self.exec(self.container,
                                       'ip -o link | grep eth || true'))

    def test_address_outside_subnet(self):
        bad = self.make_vif(self.bridge, '198.19.0.10', '198.18.200.0/24')
        self.assertRaises(exception.AddressNotInSubnet, self.network.plug,
                          self.instance, [self.good, bad],
                          self.netns(self.container))
        self.assert_nothing_left([self.good, bad])

    def test_unsupported_type(self):
        bad = self.make_vif(self.bridge, '198.18.200.11', '198.18.200.0/24',
                            vif_type='vhostuser')
        self.assertRaises(exception.UnsupportedVIFType, self.network.plug,
                          self.instance, [self.good, bad],
                          self.netns(self.container))
        self.assert_nothing_left([self.good, bad])

    def test_failure_midway_removes_earlier_ports(self):
        """The second port fails in the kernel: the first is removed."""
        bad = self.make_vif('pyb-missing', '198.18.200.12',
                            '198.18.200.0/24')
        # A bridge name that cannot be created: too long for the kernel.
        bad['network']['bridge'] = 'x' * 16
        self.assertRaises(exception.PlugFailed, self.network.plug,
                          self.instance, [self.good, bad],
                          self.netns(self.container))
        self.assert_nothing_left([self.good, bad])

    def test_namespace_gone(self):
        netns = self.netns(self.container)
        self.api.stop(self.container, timeout=1)
        self.assertRaises(exception.NamespaceNotFound, self.network.plug,
                          self.instance, [self.good], netns)
        self.assertNotIn(self.good['devname'], base.host_links())
