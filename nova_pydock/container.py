"""What a Nova instance's container is called, labelled and reported as.

Pure functions: names, labels and the mapping of engine states onto
Nova's power states. Several nova-compute services may share one engine,
so every container carries the host that owns it.
"""
import fnmatch
import uuid

from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states

LABEL_INSTANCE = 'org.openstack.nova.instance-uuid'
LABEL_NAME = 'org.openstack.nova.instance-name'
LABEL_PROJECT = 'org.openstack.nova.project-id'
LABEL_HOST = 'org.openstack.nova.compute-host'

# Spawn creates the container under a provisional name and renames it once
# the instance is complete, so init_host can tell half-made containers
# (left by a crash in the middle of spawn) from real ones.
SPAWNING_SUFFIX = '-spawning'
# A resize to a flavor that only a new container can take keeps the old
# container, stopped, under this name until Nova confirms or reverts it;
# the new container starts from an image of the old one's files.
RESIZE_SOURCE_SUFFIX = '-resize-source'
RESIZE_REPOSITORY = 'pydock-resize'

# Engine state (``State.Status`` in ``docker inspect``) -> Nova power state.
_POWER_STATES = {
    'created': power_state.SHUTDOWN,
    'running': power_state.RUNNING,
    'paused': power_state.PAUSED,
    'restarting': power_state.RUNNING,
    'removing': power_state.NOSTATE,
    'exited': power_state.SHUTDOWN,
    'dead': power_state.CRASHED,
}


def name_for(instance):
    """Engine name of the instance's container."""
    return 'nova-%s' % instance.uuid


def spawning_name_for(instance):
    return name_for(instance) + SPAWNING_SUFFIX


def resize_source_name_for(instance):
    return name_for(instance) + RESIZE_SOURCE_SUFFIX


def resize_image_for(instance):
    """(repository, tag) for an image of the instance's files: a new one
    for every resize, so that each image keeps a tag of its own."""
    return RESIZE_REPOSITORY, '%s-%s' % (instance.uuid, uuid.uuid4().hex[:8])


def resize_images_of(instance):
    """Reference pattern matching every resize image of the instance."""
    return '%s:%s-*' % (RESIZE_REPOSITORY, instance.uuid)


def is_resize_image_of(instance, ref):
    """Whether an image reference is one of the instance's resize images,
    the only images its resize may remove."""
    return fnmatch.fnmatchcase(ref, resize_images_of(instance))


def is_instance_name(name):
    """Whether an engine name is an instance's own container's name, not
    a half-made one (spawn) or a kept one (resize)."""
    return not name.endswith((SPAWNING_SUFFIX, RESIZE_SOURCE_SUFFIX))


def labels_for(instance, host):
    return {
        LABEL_INSTANCE: instance.uuid,
        LABEL_NAME: instance.name,
        LABEL_PROJECT: instance.project_id or '',
        LABEL_HOST: host,
    }


def host_filter(host):
    """Label filter that selects the containers of one compute host."""
    return {LABEL_HOST: host}


def power_state_of(engine_state, instance=None):
    """Nova power state for an engine ``State`` dict.

    Suspend is implemented as a cgroup freeze, like pause (containers have
    no memory image to save); a frozen container of an instance that Nova
    is suspending or has suspended reports SUSPENDED.
    """
    status = engine_state.get('Status', 'dead')
    state = _POWER_STATES.get(status, power_state.NOSTATE)
    if state == power_state.PAUSED and instance is not None and (
            instance.vm_state == vm_states.SUSPENDED
            or instance.task_state == task_states.SUSPENDING):
        return power_state.SUSPENDED
    return state
