"""When and how often plugged ports are announced again (pure logic)."""
import errno

import fixtures
from oslo_config import fixture as config_fixture
import testtools

from nova_pydock import conf as pydock_conf
from nova_pydock.network import announce
from nova_pydock.network import netns
from tests.unit.network import fakes

ETH0 = {'ifname': 'eth0', 'mac': 'fa:16:3e:00:00:01', 'addresses': ['x']}
ETH1 = {'ifname': 'eth1', 'mac': 'fa:16:3e:00:00:02'}


class TestPauses(testtools.TestCase):

    def test_gaps_between_the_delays(self):
        self.assertEqual([1, 1, 2, 4], announce.pauses([1, 2, 4, 8]))

    def test_any_order_repeats_once(self):
        self.assertEqual([0.5, 1.5], announce.pauses([2, 0.5, 2]))

    def test_none(self):
        self.assertEqual([], announce.pauses([]))


class TestAnnouncer(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(pydock_conf.CONF))
        self.events = []
        self.answers = {}
        self.announcer = announce.Announcer(announce=self.announce,
                                            sleep=self.sleep)
        self.instance = fakes.Instance()

    def sleep(self, seconds):
        self.events.append(('sleep', seconds))

    def announce(self, ns, ifname, mac):
        self.events.append(('announce', ns, ifname, mac))
        answer = self.answers.get(ifname, True)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def test_each_port_at_each_delay(self):
        sent = self.announcer.run(self.instance, '/ns', [ETH0, ETH1], [1, 2])
        self.assertEqual(2, sent)
        self.assertEqual([
            ('sleep', 1),
            ('announce', '/ns', 'eth0', ETH0['mac']),
            ('announce', '/ns', 'eth1', ETH1['mac']),
            ('sleep', 2),
            ('announce', '/ns', 'eth0', ETH0['mac']),
            ('announce', '/ns', 'eth1', ETH1['mac'])], self.events)

    def test_a_port_gone_is_not_announced_again(self):
        self.answers['eth1'] = False
        self.announcer.run(self.instance, '/ns', [ETH0, ETH1], [1, 1, 1])
        announced = [e[2] for e in self.events if e[0] == 'announce']
        self.assertEqual(['eth0', 'eth1', 'eth0', 'eth0'], announced)

    def test_stops_when_the_container_stopped(self):
        self.answers['eth0'] = netns.NamespaceGoneError(errno.ENOENT, 'gone')
        self.answers['eth1'] = netns.NamespaceGoneError(errno.ENOENT, 'gone')
        sent = self.announcer.run(self.instance, '/ns', [ETH0, ETH1],
                                  [1, 2, 4])
        self.assertEqual(0, sent)
        self.assertEqual(('sleep', 1), self.events[0])
        self.assertNotIn(('sleep', 2), self.events)

    def test_an_error_is_logged_and_ends_that_port(self):
        self.answers['eth0'] = OSError(errno.EPERM, 'not permitted')
        log = self.useFixture(fixtures.FakeLogger())
        sent = self.announcer.run(self.instance, '/ns', [ETH0], [1, 2])
        self.assertEqual(0, sent)
        self.assertIn('Could not announce eth0 again', log.output)
        self.assertEqual(1, len([e for e in self.events
                                 if e[0] == 'announce']))

    def test_start_runs_the_configured_delays_in_a_thread(self):
        self.conf.config(port_announce_delays=[3, 1], group='pydock')
        thread = self.announcer.start(self.instance, '/ns', [ETH0])
        thread.join(10)
        self.assertFalse(thread.is_alive())
        self.assertEqual([('sleep', 1), ('announce', '/ns', 'eth0',
                                         ETH0['mac']),
                          ('sleep', 2), ('announce', '/ns', 'eth0',
                                         ETH0['mac'])], self.events)

    def test_start_without_delays_or_ports(self):
        self.conf.config(port_announce_delays=[], group='pydock')
        self.assertIsNone(self.announcer.start(self.instance, '/ns', [ETH0]))
        self.conf.config(port_announce_delays=[1], group='pydock')
        self.assertIsNone(self.announcer.start(self.instance, '/ns', []))
        self.assertEqual([], self.events)

    def test_default_delays(self):
        self.assertEqual([1, 1, 2, 4, 8], announce.pauses(
            pydock_conf.CONF.pydock.port_announce_delays))
