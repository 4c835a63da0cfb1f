"""Nova's concurrency mode for a process that runs the driver outside
nova-compute: the functional tests and ``tools/bench-driver``. Import it
before anything imports Nova.

nova-compute picks its concurrency mode before anything else is imported
(``nova/cmd/compute.py``: ``monkey_patch.patch(backend='threading')``):

* ``OS_NOVA_DISABLE_EVENTLET_PATCHING`` set to ``1``/``true``/``yes``
  means native threads, and Nova then makes ``import eventlet`` fail;
  set to any other non-empty value it means eventlet monkey patching;
* unset, ``[DEFAULT] concurrency_backend`` of the ``--config-file``
  decides (``threading``, ``eventlet``, or ``auto``, which for
  nova-compute is threading).

This module does the same: ``PYDOCK_TEST_CONCURRENCY=eventlet`` (set by
the ``functional-eventlet`` tox environment) selects eventlet mode and
``threading`` native threads; unset, an explicit
``OS_NOVA_DISABLE_EVENTLET_PATCHING`` is honoured as Nova honours it, and
without either the process runs in native threads, the default of
nova-compute. The environment variable is then pinned for the whole
process, because Nova's test harness (``nova.tests.unit``) calls
``monkey_patch.patch()`` again on import, with eventlet as its default.
"""
import os

_THREADS = ('1', 'true', 'yes')
_requested = os.environ.get('PYDOCK_TEST_CONCURRENCY')
if _requested:
    _disable = 'false' if _requested == 'eventlet' else 'true'
else:
    _disable = os.environ.get('OS_NOVA_DISABLE_EVENTLET_PATCHING') or 'true'
os.environ['OS_NOVA_DISABLE_EVENTLET_PATCHING'] = _disable
CONCURRENCY = 'threading' if _disable.lower() in _THREADS else 'eventlet'

from nova import monkey_patch  # noqa: E402

monkey_patch.patch(backend='threading')
