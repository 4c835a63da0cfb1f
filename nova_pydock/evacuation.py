"""Evacuate: a server rebuilt on another host while its own was down.

Nova does the work (``supports_evacuate``): with no shared storage the
destination's rebuild spawns the server anew from its image, and Nova
moves its ports there. When the old host comes back, nova-compute's
``init_host`` finds the stale copy (``_destroy_evacuated_instances``)
and calls ``destroy`` with the server's network info as it is now, that
is the destination's ports. The stale container and what it kept go;
the ports must stay: they are plugged on the destination.
"""
from oslo_log import log as logging

LOG = logging.getLogger(__name__)


def moved_away(instance, host):
    """Whether ``instance`` belongs to another compute host than ``host``
    (this one): Nova is removing a copy it left behind."""
    if instance.obj_attr_is_set('host') and instance.host not in (None,
                                                                  host):
        LOG.info('The server lives on %s now: its ports there stay '
                 'plugged', instance.host, instance=instance)
        return True
    return False
