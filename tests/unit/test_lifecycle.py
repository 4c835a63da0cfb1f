"""Bookkeeping of the lifecycle watcher: which engine events are news."""
from unittest import mock

import testtools

from nova_pydock import lifecycle


def _watcher():
    return lifecycle.LifecycleWatcher(
        engine=None, host='h', emit=None, stopped_event_delay=0,
        reconnect_interval=1)


class TestExpected(testtools.TestCase):

    def test_each_call_expects_one_event_of_each_action(self):
        watcher = _watcher()
        watcher.expect('c', ('pause', 'unpause'))
        watcher.expect('c', ('pause',))
        self.assertTrue(watcher._was_expected('c', 'pause'))
        self.assertTrue(watcher._was_expected('c', 'pause'))
        self.assertFalse(watcher._was_expected('c', 'pause'))
        self.assertTrue(watcher._was_expected('c', 'unpause'))
        self.assertFalse(watcher._was_expected('other', 'unpause'))

    @mock.patch.object(lifecycle.time, 'monotonic')
    def test_expectations_lapse_after_the_call_and_its_grace(self, clock):
        watcher = _watcher()
        clock.return_value = 100.0
        watcher.expect('c', ('die',), within=30)
        clock.return_value = 100.0 + 30 + lifecycle.EXPECT_GRACE_SECONDS + 1
        self.assertFalse(watcher._was_expected('c', 'die'))
        self.assertEqual({}, watcher._expected)


class TestSince(testtools.TestCase):

    def test_nanoseconds_as_the_engine_reads_them(self):
        self.assertEqual('1795947593.000000219',
                         lifecycle._since(1795947593000000219))
