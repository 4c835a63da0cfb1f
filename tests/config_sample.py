"""What oslo-config-generator writes now, next to what is committed."""
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def generated_and_committed(generator_conf, sample):
    """(text the generator writes from ``etc/<generator_conf>``,
    text of the committed ``etc/<sample>``)."""
    generator = os.path.join(os.path.dirname(sys.executable),
                             'oslo-config-generator')
    with tempfile.NamedTemporaryFile('r', suffix='.conf') as out:
        subprocess.run(
            [generator, '--config-file',
             os.path.join(REPO, 'etc', generator_conf),
             '--output-file', out.name], check=True, cwd=REPO)
        generated = out.read()
    with open(os.path.join(REPO, 'etc', sample)) as f:
        return generated, f.read()
