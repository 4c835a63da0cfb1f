"""Functional tests: the driver on the real engine, in Nova's two modes.

nova-compute picks its concurrency mode before anything else is imported
(``nova/cmd/compute.py``: ``monkey_patch.patch(backend='threading')``):

* ``OS_NOVA_DISABLE_EVENTLET_PATCHING`` set to ``1``/``true``/``yes``
  means native threads, and Nova then makes ``import eventlet`` fail;
  set to any other non-empty value it means eventlet monkey patching;
* unset, ``[DEFAULT] concurrency_backend`` of the ``--config-file``
  decides (``threading``, ``eventlet``, or ``auto``, which for
  nova-compute is threading).

These tests do the same, here, before any test module imports Nova:
``PYDOCK_TEST_CONCURRENCY=eventlet`` (set only by the
``functional-eventlet`` tox environment) selects eventlet mode, anything
else the default native threads. The environment variable is pinned for
the whole process because Nova's test harness (``nova.tests.unit``) calls
``monkey_patch.patch()`` again on import, with eventlet as its default.
"""
import os

CONCURRENCY = ('eventlet'
               if os.environ.get('PYDOCK_TEST_CONCURRENCY') == 'eventlet'
               else 'threading')
os.environ['OS_NOVA_DISABLE_EVENTLET_PATCHING'] = (
    'false' if CONCURRENCY == 'eventlet' else 'true')

from nova import monkey_patch  # noqa: E402

monkey_patch.patch(backend='threading')
