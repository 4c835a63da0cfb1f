"""Functional tests: the driver on the real engine, in Nova's two modes.

The mode is chosen here, before any test module imports Nova, by
``tools/lib/nova_concurrency.py`` (``PYDOCK_TEST_CONCURRENCY=eventlet``
or ``threading``; its doc says how it follows nova-compute).
"""
import tests  # noqa: F401, I001 - puts tools/lib on sys.path

from nova_concurrency import CONCURRENCY  # noqa: E402, F401
