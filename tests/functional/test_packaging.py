"""The distribution installs the Nova shim cleanly, next to Nova's files.

``nova.virt.pydock`` is mapped from ``nova_pydock/virt_shim``; the wheel
must carry it without touching Nova's own ``nova/__init__.py`` or
``nova/virt/__init__.py``, and the installed record must list it so that
``pip uninstall`` removes it.
"""
import importlib.metadata
import os
import subprocess
import sys
import sysconfig
import zipfile

import fixtures
from nova.virt import pydock as shim
import testtools

from nova_pydock import driver

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SHIM = 'nova/virt/pydock/__init__.py'


class TestWheel(testtools.TestCase):

    def test_wheel_carries_shim_and_entry_points_only(self):
        out = self.useFixture(fixtures.TempDir()).path
        subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q',
                        '--no-deps', '-w', out, REPO], check=True)
        wheel = [f for f in os.listdir(out) if f.endswith('.whl')]
        self.assertEqual(1, len(wheel), wheel)
        with zipfile.ZipFile(os.path.join(out, wheel[0])) as zf:
            names = zf.namelist()
            entry_points = zf.read(next(
                n for n in names if n.endswith('entry_points.txt'))).decode()
        self.assertIn(SHIM, names)
        self.assertIn('nova_pydock/driver.py', names)
        self.assertIn('glance_store_layers/__init__.py', names)
        self.assertNotIn('nova/__init__.py', names)
        self.assertNotIn('nova/virt/__init__.py', names)
        self.assertFalse([n for n in names if n.startswith('tests/')])
        self.assertFalse([n for n in names
                          if n.startswith('nova_pydock/virt_shim')])
        self.assertIn('nova_pydock = nova_pydock.conf:list_opts',
                      entry_points)
        self.assertIn('pydock = nova_pydock.extra_specs', entry_points)


class TestInstalled(testtools.TestCase):

    def test_installed_record_lists_shim(self):
        # The installed record, not the egg-info of the source tree.
        purelib = sysconfig.get_paths()['purelib']
        dist = next(importlib.metadata.distributions(name='nova-pydock',
                                                     path=[purelib]))
        files = [str(f) for f in dist.files or ()]
        if not any('__editable__' in f for f in files):
            # tox's functional env installs with a plain "pip install .".
            self.assertIn(SHIM, files)
        self.assertIs(driver.PyDockDriver, shim.PyDockDriver)
