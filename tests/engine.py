"""Access to the real engine for tests: started by the project's script."""
import functools
import os
import subprocess

import docker

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENGINE_URL = os.environ.get('PYDOCK_ENGINE_URL',
                            'unix:///var/run/docker.sock')


@functools.cache
def ensure_engine():
    """Start the engine with tools/ensure-engine (once per process)."""
    subprocess.run([os.path.join(REPO, 'tools', 'ensure-engine')],
                   check=True)
    return ENGINE_URL


def api():
    """A Docker SDK client for tests to build images and inspect state."""
    return docker.APIClient(base_url=ensure_engine(), version='auto',
                            timeout=120)
