"""Lets Nova load the driver: ``compute_driver = pydock.PyDockDriver``.

Nova imports compute drivers only as ``nova.virt.<compute_driver>``; the
code lives in :mod:`nova_pydock`.
"""
from nova_pydock.driver import PyDockDriver

__all__ = ['PyDockDriver']
