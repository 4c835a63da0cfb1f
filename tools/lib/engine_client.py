"""The Docker engine the tools and the tests work on, through the SDK.

Started by ``tools/ensure-engine`` (or another engine named by
``PYDOCK_ENGINE_URL``). Shared by the benchmarks and the tests; the
product reaches the engine through ``nova_pydock/engine.py`` only.
"""
import functools
import os
import subprocess

import docker

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
ENGINE_URL = os.environ.get('PYDOCK_ENGINE_URL',
                            'unix:///var/run/docker.sock')


@functools.cache
def ensure_engine():
    """Start the engine with tools/ensure-engine (once per process)."""
    subprocess.run([os.path.join(REPO, 'tools', 'ensure-engine')],
                   check=True)
    return ENGINE_URL


def api():
    """A Docker SDK client to build images and inspect state."""
    return docker.APIClient(base_url=ensure_engine(), version='auto',
                            timeout=120)


def remove_if_present(api, ref):
    """Remove image ``ref`` (forced); nothing if the engine has none."""
    try:
        api.remove_image(ref, force=True)
    except docker.errors.NotFound:
        pass
