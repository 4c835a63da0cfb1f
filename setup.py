"""Packaging for nova-pydock.

Besides the two real packages this installs ``nova.virt.pydock``, a shim of
a few lines, because Nova 34 imports compute drivers only from its own
``nova.virt`` namespace (``compute_driver = pydock.PyDockDriver``).
"""
import setuptools

setuptools.setup(
    packages=(
        setuptools.find_packages(
            include=['nova_pydock', 'nova_pydock.*',
                     'glance_store_layers', 'glance_store_layers.*'],
            exclude=['nova_pydock.virt_shim'])
        + ['nova.virt.pydock']),
    package_dir={'nova.virt.pydock': 'nova_pydock/virt_shim'},
)
