"""Port counters seen from inside: the host end's rx is the instance's tx."""
import os

import fixtures
from nova.network import model
import testtools

from nova_pydock.network import counters


class TestPortCounters(testtools.TestCase):

    def _device(self, root, name, **values):
        statistics = os.path.join(root, name, 'statistics')
        os.makedirs(statistics)
        for key in ('rx_bytes', 'rx_packets', 'rx_errors', 'rx_dropped',
                    'tx_bytes', 'tx_packets', 'tx_errors', 'tx_dropped'):
            with open(os.path.join(statistics, key), 'w') as f:
                f.write('%d\n' % values.get(key, 0))

    def test_swapped_and_named_by_device(self):
        root = self.useFixture(fixtures.TempDir()).path
        vifs = [model.VIF(id='a' * 36, devname='tapaaaaaaaa-aa'),
                model.VIF(id='b' * 36, devname='tapbbbbbbbb-bb'),
                model.VIF(id='c' * 36, devname='tapcccccccc-cc')]
        self._device(root, 'tapaaaaaaaa-aa', rx_bytes=100, tx_bytes=7,
                     tx_packets=2)
        # tapbbbbbbbb-bb is not plugged (instance stopped): left out.
        self._device(root, 'tapcccccccc-cc', rx_dropped=3)
        result = counters.port_counters(vifs, sys_class_net=root)
        self.assertEqual(['tapaaaaaaaa-aa', 'tapcccccccc-cc'],
                         [name for name, _ in result])
        eth0 = result[0][1]
        self.assertEqual(7, eth0['rx_bytes'])
        self.assertEqual(2, eth0['rx_packets'])
        self.assertEqual(100, eth0['tx_bytes'])
        self.assertEqual(3, result[1][1]['tx_dropped'])

    def test_no_ports(self):
        self.assertEqual([], counters.port_counters([]))
