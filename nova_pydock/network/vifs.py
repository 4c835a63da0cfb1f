"""Host side of a port: what the veth's host end is attached to.

One small backend per VIF type, chosen by :data:`BACKENDS`:

* ``ovs``: os-vif's ``ovs`` plugin does the work, from the objects Nova's
  own ``nova.network.os_vif_util`` makes. For a plain OVS port the host
  end becomes an OVS port with the external-ids Neutron's agents bind on
  (``iface-id``, ``attached-mac``, ``iface-status``, ``vm-uuid``); for a
  hybrid port os-vif makes the ``qbr`` bridge and its ``qvb``/``qvo``
  pair, and the host end becomes a port of ``qbr``.
* ``bridge``: a linux bridge named by the network. Nova 34 no longer
  converts this VIF type to an os-vif object and os-vif 5 ships no linux
  bridge plugin, so this backend does the little it takes itself: make
  sure the bridge exists and is up (as the old os-vif plugin did), then
  make the host end one of its ports. The bridge is shared and never
  removed here.

Every backend is a :class:`VIFBackend`: one VIF type, ``plug`` and
``unplug`` with the same arguments. ``plug`` runs after the veth pair
exists; ``unplug`` before it is removed. Both are idempotent.
"""
import abc
import threading

from nova.network import model
from nova.network import os_vif_util
import os_vif
from os_vif import objects as osv_objects
from oslo_log import log as logging

from nova_pydock.network import plumbing
from nova_pydock.network import spec

LOG = logging.getLogger(__name__)


class VIFBackend(abc.ABC):
    """Attaches a port's host end to the network of one VIF type.

    The arguments of both calls: the Nova instance, the port's Nova VIF
    (checked by :func:`nova_pydock.network.spec.check_vif`) and
    ``devname``, the name of the host end of the port's veth pair.
    """

    #: The Nova VIF type (``nova.network.model.VIF_TYPE_*``) served.
    vif_type = None

    @abc.abstractmethod
    def plug(self, instance, vif, devname):
        """Attach ``devname``, which exists and leads into the container."""

    @abc.abstractmethod
    def unplug(self, instance, vif, devname):
        """Undo :meth:`plug` before ``devname`` is removed; idempotent."""


class LinuxBridgeBackend(VIFBackend):
    vif_type = model.VIF_TYPE_BRIDGE

    def plug(self, instance, vif, devname):
        bridge = vif['network']['bridge']
        if plumbing.ensure_bridge(bridge, spec.mtu(vif)):
            LOG.info('Created linux bridge %s for port %s', bridge,
                     vif['id'], instance=instance)
        plumbing.set_master(devname, bridge)
        LOG.debug('%s is a port of linux bridge %s', devname, bridge,
                  instance=instance)

    def unplug(self, instance, vif, devname):
        # Removing the veth pair takes it off the bridge; nothing else
        # of the host belongs to this port.
        pass


class OvsBackend(VIFBackend):
    vif_type = model.VIF_TYPE_OVS
    _init_lock = threading.Lock()
    _initialized = False

    @classmethod
    def _initialize(cls):
        with cls._init_lock:
            if not cls._initialized:
                os_vif.initialize()
                cls._initialized = True

    @staticmethod
    def to_osvif(instance, vif):
        """os-vif objects for one VIF, ready for ``os_vif.plug``."""
        osv_vif = os_vif_util.nova_to_osvif_vif(vif)
        if isinstance(osv_vif, osv_objects.vif.VIFOpenVSwitch):
            profile = osv_vif.port_profile
            # Nobody else (no libvirt) will add the port: os-vif must.
            profile.create_port = True
            if 'create_tap' in profile.fields:
                profile.create_tap = False
        elif not isinstance(osv_vif, osv_objects.vif.VIFBridge):
            raise TypeError('os-vif gave %s for port %s; only OVS and '
                            'hybrid OVS ports can lead into a container'
                            % (type(osv_vif).__name__, vif['id']))
        return osv_vif, os_vif_util.nova_to_osvif_instance(instance)

    def plug(self, instance, vif, devname):
        self._initialize()
        osv_vif, info = self.to_osvif(instance, vif)
        os_vif.plug(osv_vif, info)
        if isinstance(osv_vif, osv_objects.vif.VIFBridge):
            plumbing.set_master(devname, osv_vif.bridge_name)
            LOG.debug('%s is a port of hybrid bridge %s', devname,
                      osv_vif.bridge_name, instance=instance)
        else:
            LOG.debug('%s is an OVS port of %s', devname,
                      osv_vif.bridge_name, instance=instance)

    def unplug(self, instance, vif, devname):
        self._initialize()
        osv_vif, info = self.to_osvif(instance, vif)
        os_vif.unplug(osv_vif, info)


BACKENDS = {backend.vif_type: backend
            for backend in (LinuxBridgeBackend(), OvsBackend())}
