"""The committed sample config is what oslo-config-generator writes now."""
import os
import subprocess
import sys
import tempfile

import testtools

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


class TestSampleConfig(testtools.TestCase):

    def test_sample_is_current(self):
        generator = os.path.join(os.path.dirname(sys.executable),
                                 'oslo-config-generator')
        with tempfile.NamedTemporaryFile('r', suffix='.conf') as out:
            subprocess.run(
                [generator, '--config-file',
                 os.path.join(REPO, 'etc',
                              'nova-pydock-config-generator.conf'),
                 '--output-file', out.name], check=True, cwd=REPO)
            generated = out.read()
        with open(os.path.join(REPO, 'etc', 'nova-pydock.conf.sample')) as f:
            committed = f.read()
        self.assertEqual(generated, committed,
                         'etc/nova-pydock.conf.sample is stale: run '
                         '"tox -e genconfig" and commit the result')
