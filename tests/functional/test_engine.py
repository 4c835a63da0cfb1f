"""EngineClient calls whose meaning only the real engine can show."""
import time
import uuid

import testtools

from nova_pydock import engine as engine_client
from tests import engine
from tests import images


class TestWaitStopped(testtools.TestCase):
    """wait_stopped rides on the engine's own wait, bounded by a timeout."""

    def setUp(self):
        super().setUp()
        self.api = engine.api()
        self.addCleanup(self.api.close)
        self.client = engine_client.EngineClient(
            engine.ENGINE_URL, 30, retries=0)
        ref = images.import_busybox(self.api, tag='engine-wait')
        self.addCleanup(images.remove_if_present, self.api, ref)
        self.name = 'pydock-test-wait-%s' % uuid.uuid4().hex[:8]
        self.api.create_container(ref, command=['sleep', '60'],
                                  name=self.name, network_disabled=True)
        self.addCleanup(self.api.remove_container, self.name, force=True)

    def test_running_container_times_out(self):
        self.api.start(self.name)
        started = time.monotonic()
        self.assertFalse(self.client.wait_stopped(self.name, 1))
        self.assertGreaterEqual(time.monotonic() - started, 0.9)
        self.assertTrue(self.api.inspect_container(self.name)['State'][
            'Running'])

    def test_killed_or_never_started_container_returns_at_once(self):
        self.assertTrue(self.client.wait_stopped(self.name, 30))
        self.api.start(self.name)
        self.api.kill(self.name)
        self.assertTrue(self.client.wait_stopped(self.name, 30))
        self.assertFalse(self.api.inspect_container(self.name)['State'][
            'Running'])

    def test_missing_container(self):
        self.assertRaises(engine_client.ContainerNotFound,
                          self.client.wait_stopped, self.name + '-gone', 5)
