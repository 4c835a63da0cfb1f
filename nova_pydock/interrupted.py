"""Builds that a stopped nova-compute left unfinished, at its next start.

When nova-compute dies (``kill -9``, a crash, the machine's power) while
it builds servers, its compute manager puts each instance that was still
building into ERROR when the service starts again, without a fault that
says why: those it had claimed (``_init_instance``), and those that
still waited in its queue, which only their Placement allocations tie to
this host (``_error_out_instances_whose_build_was_interrupted``). It
leaves on the host whatever the builds had made: a container (half-made
under its ``-spawning`` name, or whole and maybe running), the host side
of its ports (veth pairs, Open vSwitch ports), a config drive. The
manager shows the driver the host's instances first
(``process_instances_at_startup``): the driver removes what their builds
made and records why each of the builds failed, so that a server in
ERROR says why and holds nothing on the host but what Nova deletes with
it.

An interrupted rebuild (Nova errors out an ACTIVE or STOPPED instance
whose task was a rebuild step) gets its fault too, but keeps what is on
the host: the server stays what it was, and a container that survived
(the rebuild died before it removed the old one, or after it made the
new one) is what an administrator's ``server set --state active`` gets
back; the next rebuild or the delete replaces or removes it.
"""
from nova import exception
from nova import objects
from nova.compute import task_states
from nova.compute import utils as compute_utils
from nova.compute import vm_states
from nova.scheduler.client import report
from oslo_log import log as logging

from nova_pydock.network import api as network_api

LOG = logging.getLogger(__name__)

# The states in which Nova's _init_instance errors an instance out as a
# build its service did not finish.
_BUILD_TASKS = (task_states.SCHEDULING, task_states.BLOCK_DEVICE_MAPPING,
                task_states.NETWORKING, task_states.SPAWNING)
_SETTLED = (vm_states.ERROR, vm_states.SOFT_DELETED, vm_states.DELETED)
# The states in which it errors an instance out as an unfinished rebuild.
_REBUILD_TASKS = (task_states.REBUILDING,
                  task_states.REBUILD_BLOCK_DEVICE_MAPPING,
                  task_states.REBUILD_SPAWNING)
_REBUILT = (vm_states.ACTIVE, vm_states.STOPPED)


class BuildInterrupted(exception.NovaException):
    """The instance's fault: its build died with nova-compute."""
    msg_fmt = ('The build was interrupted: nova-compute on %(host)s stopped '
               'while it built this server (it was %(state)s); delete the '
               'server and create it again')


class RebuildInterrupted(exception.NovaException):
    """The instance's fault: its rebuild died with nova-compute."""
    msg_fmt = ('The rebuild was interrupted: nova-compute on %(host)s '
               'stopped while it rebuilt this server (it was %(state)s); '
               'rebuild it again or delete it')


def rebuild_was_interrupted(instance):
    """Whether Nova's start-up will error ``instance`` out as a rebuild
    that its compute service did not finish."""
    return (instance.vm_state in _REBUILT
            and instance.task_state in _REBUILD_TASKS)


def was_interrupted(instance):
    """Whether Nova's start-up will error ``instance`` out as a build
    that its compute service did not finish."""
    return instance.vm_state not in _SETTLED and (
        instance.vm_state == vm_states.BUILDING
        or instance.task_state in _BUILD_TASKS)


def clean_up(context, instances, host, node_uuids, remove):
    """For each interrupted build among ``instances`` (the host's):
    ``remove(instance, network_info)`` what it made, record the fault;
    record it for the unclaimed builds placed on ``node_uuids`` too. One
    failure does not stop the others, nor the service's start."""
    builds = [instance for instance in instances if was_interrupted(instance)]
    queued = _unclaimed(context, {i.uuid for i in instances}, node_uuids)
    LOG.info('Builds on host %s that its last nova-compute left '
             'interrupted: %d of its %d instances, %d not yet claimed',
             host, len(builds), len(instances), len(queued))
    for instance in builds:
        LOG.warning('The build of this instance was interrupted (%s); '
                    'removing what it made', _state(instance),
                    instance=instance)
        try:
            remove(instance, network_api.cached_network_info(instance))
        except Exception:
            LOG.exception('Removing what the interrupted build made failed',
                          instance=instance)
    for instance in builds + queued:
        _record(context, instance, BuildInterrupted(
            host=host, state=_state(instance)))
    for instance in instances:
        if rebuild_was_interrupted(instance):
            LOG.warning('The rebuild of this instance was interrupted (%s)',
                        instance.task_state, instance=instance)
            _record(context, instance, RebuildInterrupted(
                host=host, state=instance.task_state))


def _unclaimed(context, known, node_uuids):
    """Instances still building with allocations on ``node_uuids``, not
    among ``known``: builds that never got as far as their claim."""
    found = []
    for node_uuid in node_uuids:
        try:
            consumers = set(report.report_client_singleton()
                            .get_allocations_for_resource_provider(
                                context, node_uuid).allocations) - known
            if consumers:
                found.extend(objects.InstanceList.get_by_filters(
                    context, {'vm_state': vm_states.BUILDING,
                              'uuid': sorted(consumers)},
                    expected_attrs=[]))
        except exception.ResourceProviderAllocationRetrievalFailed as e:
            # a node this service has not reported yet: its first start
            LOG.info('No allocations on node %s to look at: %s', node_uuid,
                     e)
        except Exception:
            LOG.exception('Looking for unclaimed builds on node %s failed',
                          node_uuid)
    return found


def _state(instance):
    return instance.task_state or instance.vm_state


def _record(context, instance, fault):
    try:
        compute_utils.add_instance_fault_from_exc(context, instance, fault)
    except Exception:
        LOG.exception('Recording the fault %s failed', fault,
                      instance=instance)
