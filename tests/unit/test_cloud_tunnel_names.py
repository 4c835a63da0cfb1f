"""The tunnel port names of tools/cloud's OVS agents (tools/cloud.d/hosts.py).

Every host's agent shares the machine's one Open vSwitch, where a port
name exists once: the names of every (local, remote) pair of one cloud,
and of two clouds next to each other, must all differ and fit a device
name (15 characters).
"""
import importlib.util
import itertools
import os

import testtools

HOSTS = os.path.join(os.path.dirname(__file__), '..', '..', 'tools',
                     'cloud.d', 'hosts.py')


def _hosts_module():
    spec = importlib.util.spec_from_file_location('cloud_hosts', HOSTS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _endpoints(hosts, subnet, computes):
    settings = {'subnet': subnet, 'computes': computes, 'host': 'h',
                'int_bridge': 'i', 'tun_bridge': 't', 'phys_bridge': 'p'}
    return [h.tunnel_ip for h in hosts.compute_hosts(settings, '/state')]


class TestTunnelPortNames(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.hosts = _hosts_module()

    def names(self, endpoints):
        return [self.hosts.tunnel_port_name('vxlan', local, remote)
                for local, remote in itertools.permutations(endpoints, 2)]

    def test_both_ends_in_the_name(self):
        self.assertEqual('vx02-c6133504', self.hosts.tunnel_port_name(
            'vxlan', '198.19.53.2', '198.19.53.4'))
        self.assertEqual('vx03-c6133504', self.hosts.tunnel_port_name(
            'vxlan', '198.19.53.3', '198.19.53.4'))

    def test_every_pair_of_two_clouds_apart(self):
        names = []
        for subnet in ('198.18.0.0/24', '198.19.53.0/24', '198.18.4.0/22'):
            names += self.names(_endpoints(self.hosts, subnet,
                                           self.hosts.MAX_HOSTS))
        self.assertEqual(3 * 8 * 7, len(names))
        self.assertEqual(len(names), len(set(names)))
        self.assertLessEqual(max(len(n) for n in names), 15)
