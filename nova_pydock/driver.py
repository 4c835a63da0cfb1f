"""PyDockDriver: maps Nova's compute driver calls onto a container engine.

Every Nova instance is one container. This module only translates Nova's
calls; the engine client, the network plumbing and the flavor mapping live
in modules of their own.
"""
from nova.virt import driver
from oslo_log import log as logging

from nova_pydock import conf as pydock_conf

LOG = logging.getLogger(__name__)
CONF = pydock_conf.CONF


class PyDockDriver(driver.ComputeDriver):
    """Nova compute driver for Docker-compatible container engines."""

    capabilities = dict(driver.ComputeDriver.capabilities)

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi)
