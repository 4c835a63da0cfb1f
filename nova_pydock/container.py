"""One Nova instance's container: its name, labels, state and actions.

Pure functions name and label containers and map engine states onto
Nova's power states; :class:`Container` is one instance's container on the
engine, the way libvirt's ``Guest`` is one domain. Several nova-compute
services may share one engine, so every container carries the host that
owns it.
"""
import time

from nova import exception
from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from oslo_log import log as logging

from nova_pydock import engine as engine_client
from nova_pydock import hostname as hostnames

LOG = logging.getLogger(__name__)

LABEL_INSTANCE = 'org.openstack.nova.instance-uuid'
LABEL_NAME = 'org.openstack.nova.instance-name'
LABEL_PROJECT = 'org.openstack.nova.project-id'
LABEL_HOST = 'org.openstack.nova.compute-host'

# Spawn creates the container under a provisional name and renames it once
# the instance is complete, so init_host can tell half-made containers
# (left by a crash in the middle of spawn) from real ones.
SPAWNING_SUFFIX = '-spawning'
# A resize to a flavor that only a new container can take keeps the old
# container, stopped, under this name until Nova confirms or reverts it
# (see :mod:`nova_pydock.migration`).
RESIZE_SOURCE_SUFFIX = '-resize-source'

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


def remove_interrupted_spawns(engine, listed):
    """Remove half-made containers among ``listed`` (the engine's list).

    Returns how many of the others are in each engine state.
    """
    states = {}
    for found in listed:
        name = found['Names'][0].lstrip('/')
        if name.endswith(SPAWNING_SUFFIX):
            LOG.warning('Removing container %s left by an interrupted spawn',
                        name)
            engine.remove_container(found['Id'])
            continue
        states[found['State']] = states.get(found['State'], 0) + 1
    return states


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


class ContainerExitedAtStart(exception.BuildAbortException,
                             exception.InstanceDeployFailure):
    """The container's process exited right after it was started.

    Any host would start the image's command the same way, so a build must
    not be rescheduled: as a ``BuildAbortException`` Nova's compute manager
    aborts it and the reason (exit code, last output) becomes the server's
    fault, where a plain ``InstanceDeployFailure`` is rescheduled until the
    user only sees "Exceeded maximum number of retries". It is still an
    ``InstanceDeployFailure`` for every caller that catches that.
    """
    msg_fmt = "%(reason)s"


class Container:
    """One instance's container on the engine, as the driver acts on it.

    The properties read the last :meth:`inspect` (made on first use); the
    actions do not inspect again, so a caller sees exactly the engine calls
    it makes. Every action the lifecycle watcher would otherwise report to
    Nova as news is announced to it first.
    """

    def __init__(self, engine, instance, watcher=None, name=None):
        self.instance = instance
        self.name = name or name_for(instance)
        self._engine = engine
        self._watcher = watcher
        self._details = None

    @classmethod
    def create(cls, engine, instance, name, image_ref, command, host,
               host_config, watcher=None, terminal=False,
               read_only_mounts=(), log_config=None):
        """A new container of ``instance`` owned by compute ``host``.

        ``command=None`` keeps the image's own command; ``terminal`` gives
        its process a terminal (a shell, for the serial console);
        ``read_only_mounts`` are (host directory, container path) pairs;
        ``log_config`` is how the engine keeps its output (consolelog).
        """
        try:
            engine.create_container(
                name, image_ref, command=command,
                hostname=hostnames.short_name(instance),
                labels=labels_for(instance, host),
                host_config=dict(host_config,
                                 extra_hosts=hostnames.extra_hosts(instance)),
                terminal=terminal, read_only_mounts=read_only_mounts,
                log_config=log_config)
        except engine_client.ContainerConflict as exc:
            raise exception.InstanceExists(name=name) from exc
        except engine_client.EngineError as exc:
            raise exception.InstanceDeployFailure(
                reason='the engine refused the container: %s'
                % exc.kwargs['reason']) from exc
        return cls(engine, instance, watcher, name)

    # -- what the engine says ---------------------------------------------

    def inspect(self):
        """Read the container's details again; InstanceNotFound if gone."""
        try:
            self._details = self._engine.inspect_container(self.name)
        except engine_client.ContainerNotFound as exc:
            raise exception.InstanceNotFound(
                instance_id=self.instance.uuid) from exc
        return self._details

    def exists(self):
        try:
            self.inspect()
        except exception.InstanceNotFound:
            return False
        return True

    @property
    def details(self):
        return self._details if self._details is not None else self.inspect()

    @property
    def state(self):
        return self.details['State']

    @property
    def power_state(self):
        return power_state_of(self.state, self.instance)

    @property
    def running(self):
        return bool(self.state.get('Running'))

    @property
    def paused(self):
        return bool(self.state.get('Paused'))

    @property
    def netns(self):
        """Path of the network namespace of the container's process."""
        return self.details['NetworkSettings']['SandboxKey']

    @property
    def resolv_conf_path(self):
        return self.details['ResolvConfPath']

    @property
    def image(self):
        """The image reference the container was created from."""
        return self.details['Config']['Image']

    def last_output(self):
        return self._engine.last_output(self.name)

    def logs(self, tail_lines):
        return self._engine.logs(self.name, tail_lines)

    def stats(self):
        return self._engine.stats(self.name)

    # -- actions ------------------------------------------------------------

    def _expect(self, *actions, within=0):
        if self._watcher is not None:
            self._watcher.expect(self.name, actions, within)

    def start(self):
        self._expect('start')
        self._engine.start(self.name)

    def stop(self, timeout):
        """SIGTERM, up to ``timeout`` seconds of grace, then SIGKILL."""
        self._expect('die', within=timeout)
        self._engine.stop(self.name, timeout=timeout)

    def kill(self, timeout):
        """SIGKILL; return once it exited, or after ``timeout`` seconds."""
        self._expect('die', within=timeout)
        self._engine.kill(self.name)
        self._engine.wait_stopped(self.name, timeout)

    def freeze(self):
        """Pause (cgroup freeze); only a running, unfrozen one."""
        if not self.running or self.paused:
            raise exception.InstanceNotRunning(instance_id=self.instance.uuid)
        self._expect('pause')
        self._engine.pause(self.name)

    def thaw(self):
        """Unpause it if it is frozen; whether it was."""
        if not self.paused:
            return False
        self._expect('unpause')
        self._engine.unpause(self.name)
        return True

    def watch_startup(self, seconds):
        """Raise ContainerExitedAtStart if it stops within ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            self.inspect()
            if not self.running:
                raise self.exited_at_start()
            if time.monotonic() >= deadline:
                return
            time.sleep(0.2)

    def exited_at_start(self):
        return ContainerExitedAtStart(
            instance_uuid=self.instance.uuid,
            reason='the container exited at start with code %s; its last '
                   'output: %s' % (self.state.get('ExitCode'),
                                   self.last_output()))

    def rename(self, new_name):
        self._engine.rename(self.name, new_name)
        self.name = new_name

    def commit(self, repository, tag, pauses=True):
        """Image the container's files; the engine pauses a running one."""
        if pauses:
            self._expect('pause', 'unpause')
        return self._engine.commit(self.name, repository, tag)

    def update_limits(self, limits):
        self._engine.update_limits(self.name, limits)

    def remove(self, within=None):
        """Remove it, running or not; whether there was one to remove.

        ``within`` announces the death of a container that may be running.
        """
        if within is not None:
            self._expect('die', within=within)
        try:
            self._engine.remove_container(self.name)
        except engine_client.ContainerNotFound:
            return False
        return True
