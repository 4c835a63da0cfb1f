"""nova-pydock under Nova's own functional harness, on the real engine.

Importing :mod:`nova.tests.functional` first applies Nova's choice of
concurrency mode (``nova.monkey_patch.patch()``) before anything here
imports ``urllib3``, ``requests``, ``futurist`` or the docker SDK: with
``OS_NOVA_DISABLE_EVENTLET_PATCHING=1`` the suite runs in native threading
mode (Nova 2026.2's default for services) and ``import eventlet`` fails;
with ``OS_NOVA_DISABLE_EVENTLET_PATCHING=0`` (or unset, the default of
Nova's test harness) eventlet monkey patches the process. tox runs the
suite both ways (envs ``nova`` and ``nova-eventlet``).
"""
import nova.tests.functional  # noqa: F401  (must stay the first import)
