"""A nova-scheduler weigher for clouds with nova-pydock compute hosts.

A container cannot leave its engine, so nova-pydock resizes a server on
the host it runs on and refuses any other. Nova's scheduler knows nothing
of that and, with ``[DEFAULT] allow_resize_to_same_host = true``, still
weighs the other hosts as for a new server (the emptier host tends to
win). :class:`InstanceHostWeigher` gives the host that already runs the
server the top weight, so Nova picks it whenever it has room. A new
server runs nowhere yet: every host weighs the same and Nova's own
weighers decide.

In nova-scheduler's ``nova.conf``::

    [filter_scheduler]
    weight_classes = nova.scheduler.weights.all_weighers,
                     nova_pydock.scheduler.InstanceHostWeigher
"""
from nova import context as nova_context
from nova import exception
from nova import objects
from nova.scheduler import utils
from nova.scheduler import weights

from nova_pydock import conf as pydock_conf

CONF = pydock_conf.CONF


class InstanceHostWeigher(weights.BaseHostWeigher):
    """1 for the host the server is on, 0 for every other host."""

    def weight_multiplier(self, host_state):
        return utils.get_weight_multiplier(
            host_state, 'pydock_instance_host_weight_multiplier',
            CONF.pydock.instance_host_weight_multiplier)

    def weigh_objects(self, weighed_obj_list, weight_properties):
        uuid = weight_properties.instance_uuid
        hosts = [w.obj for w in weighed_obj_list]
        if any(uuid in host.instances for host in hosts):
            return [self._weigh_object(host, weight_properties)
                    for host in hosts]
        # The scheduler's record of where instances run can miss one:
        # after a resize on the same host is confirmed, Nova tells the
        # scheduler the instance left that host, until the compute
        # service's next instance sync. Ask the database.
        current = _host_of(weight_properties)
        return [1.0 if host.host == current else 0.0 for host in hosts]

    def _weigh_object(self, host_state, request_spec):
        return 1.0 if request_spec.instance_uuid in host_state.instances \
            else 0.0


def _host_of(request_spec):
    """The compute host of the request's instance; None for a new one."""
    context = request_spec._context
    try:
        mapping = objects.InstanceMapping.get_by_instance_uuid(
            context, request_spec.instance_uuid)
    except exception.InstanceMappingNotFound:
        return None
    if not mapping.cell_mapping:
        return None
    with nova_context.target_cell(context, mapping.cell_mapping) as cctxt:
        try:
            return objects.Instance.get_by_uuid(
                cctxt, request_spec.instance_uuid, expected_attrs=[]).host
        except exception.InstanceNotFound:
            return None
