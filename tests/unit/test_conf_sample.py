"""The committed sample config is what oslo-config-generator writes now."""
import testtools

from tests import config_sample


class TestSampleConfig(testtools.TestCase):

    def test_sample_is_current(self):
        generated, committed = config_sample.generated_and_committed(
            'nova-pydock-config-generator.conf', 'nova-pydock.conf.sample')
        self.assertEqual(generated, committed,
                         'etc/nova-pydock.conf.sample is stale: run '
                         '"tox -e genconfig" and commit the result')
