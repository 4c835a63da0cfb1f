"""The suite runs in the concurrency mode its tox env asked for."""
import importlib
import os

from nova import utils
import testtools


class TestConcurrencyMode(testtools.TestCase):

    def test_mode_is_the_one_requested(self):
        # nova.monkey_patch.patch(): "1", "true" or "yes" disable eventlet
        # patching (native threading); anything else, or nothing (Nova's
        # test harness default), patches.
        requested = os.environ.get('OS_NOVA_DISABLE_EVENTLET_PATCHING', '')
        threading_mode = requested.lower() in ('1', 'true', 'yes')
        self.assertEqual(threading_mode, utils.concurrency_mode_threading())
        if threading_mode:
            # Nova makes eventlet unimportable; the driver loaded anyway.
            self.assertRaises(ImportError, importlib.import_module,
                              'eventlet')
        else:
            patcher = importlib.import_module('eventlet.patcher')
            self.assertTrue(patcher.is_monkey_patched('socket'))
            self.assertTrue(patcher.is_monkey_patched('thread'))
