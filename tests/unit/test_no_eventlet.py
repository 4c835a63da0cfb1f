"""The driver never imports eventlet itself.

In native threading mode (nova-compute's default since 2026.2) Nova makes
``import eventlet`` fail. Every module of ``nova_pydock``, and the
``nova.virt.pydock`` shim Nova loads, must import all the same. Each check
runs in a fresh interpreter where ``eventlet`` is unimportable from the
first line on, so nothing imported earlier by the test runner can hide an
import; like nova-compute in that mode, it selects oslo.service's threading
backend before it imports the driver.
"""
import json
import subprocess
import sys
import textwrap

import testtools

_SCRIPT = textwrap.dedent('''
    import importlib
    import json
    import pkgutil
    import sys

    sys.modules['eventlet'] = None  # import eventlet -> ImportError

    # What nova-compute does in threading mode before it loads a driver
    # (nova.monkey_patch.patch): oslo.service's threading backend.
    from oslo_service import backend
    backend.init_backend(backend.BackendType.THREADING)

    import nova_pydock

    names = ['nova_pydock', 'nova.virt.pydock']
    names += [info.name for info in pkgutil.walk_packages(
        nova_pydock.__path__, 'nova_pydock.')]
    failed = {}
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:
            failed[name] = '%s: %s' % (type(exc).__name__, exc)
    print(json.dumps({'imported': names, 'failed': failed,
                      'eventlet': [m for m in sys.modules
                                   if m.split('.')[0] == 'eventlet'
                                   and sys.modules[m] is not None]}))
''')


class TestNoEventlet(testtools.TestCase):

    def _run(self, script):
        done = subprocess.run([sys.executable, '-c', script],
                              capture_output=True, text=True, timeout=300,
                              check=False)
        self.assertEqual(0, done.returncode, done.stderr[-3000:])
        return json.loads(done.stdout.strip().splitlines()[-1])

    def test_every_module_imports_without_eventlet(self):
        result = self._run(_SCRIPT)
        self.assertEqual({}, result['failed'])
        self.assertEqual([], result['eventlet'])
        for expected in ('nova_pydock.driver', 'nova_pydock.engine',
                         'nova_pydock.images', 'nova.virt.pydock'):
            self.assertIn(expected, result['imported'])

    def test_the_check_sees_an_eventlet_import(self):
        """The poisoning works: a module importing eventlet is caught."""
        result = self._run(
            "import sys\nsys.modules['eventlet'] = None\n"
            "import json\n"
            "try:\n    import eventlet  # noqa\n    ok = True\n"
            "except ImportError:\n    ok = False\n"
            "print(json.dumps({'imported_eventlet': ok}))\n")
        self.assertFalse(result['imported_eventlet'])
