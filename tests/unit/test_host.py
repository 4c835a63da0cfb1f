"""Host facts as Nova wants them."""
import testtools

from nova_pydock import host


class TestVersionNumber(testtools.TestCase):

    def test_engine_versions(self):
        self.assertEqual(20010024, host._version_number('20.10.24+dfsg1'))
        self.assertEqual(28002002, host._version_number('28.2.2'))
        self.assertEqual(5000000, host._version_number('5'))
