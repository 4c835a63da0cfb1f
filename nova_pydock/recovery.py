"""Run again, after the engine returns, what Nova says should run.

An engine with live restore (``dockerd --live-restore``) keeps its
containers running while it stops or restarts, and there is nothing to
do. Without it, a stopping engine stops every container (``kill``,
``die`` with exit code 143, ``stop``), and nova-compute, which keeps
running, would hear of servers that stopped by themselves: its power
state sync calls the stop API and the servers stay SHUTOFF.

So while the engine is away and until the containers it stopped run
again, the driver reports their power state as NOSTATE, which Nova's sync
leaves alone ("the hypervisor could be restarting"), and the lifecycle
watcher does not report their stops (:mod:`nova_pydock.lifecycle`). When
the engine answers again, each stopped container whose instance Nova has
ACTIVE (PAUSED or SUSPENDED: started, then frozen again) and no task
under way is started with its ports plugged again, under the lock Nova's
compute manager takes for every action on that instance, so that a stop
or delete the user asks for meanwhile wins. A container that does not
come back (its process exits at start) is reported to Nova as stopped.
"""
import queue
import threading
import time

from nova import context as nova_context
from nova import exception
from nova import objects
from nova import utils as nova_utils
from nova.compute import power_state
from nova.compute import vm_states
from nova.virt import event as virtevent
from oslo_log import log as logging

from nova_pydock import container
from nova_pydock import engine as engine_client

LOG = logging.getLogger(__name__)

# vm_state -> whether the container is frozen again after its start.
RUN_AGAIN = {
    vm_states.ACTIVE: False,
    vm_states.PAUSED: True,
    vm_states.SUSPENDED: True,
}
# What the engine leaves of a container it stopped.
STOPPED_STATUS = 'exited'
# How often, and how far apart, the containers and Nova's view of them are
# looked at again when that fails (the engine went away again, the
# conductor does not answer) before the stopped ones are left as they are.
LOOK_TRIES = 10
LOOK_INTERVAL = 6.0
_EVENT_OF_STATE = {
    power_state.RUNNING: virtevent.EVENT_LIFECYCLE_STARTED,
    power_state.PAUSED: virtevent.EVENT_LIFECYCLE_PAUSED,
    power_state.SUSPENDED: virtevent.EVENT_LIFECYCLE_SUSPENDED,
}


class HostInstances:
    """What Nova's database says about the instances of one host."""

    def __init__(self, host):
        self._host = host

    def on_host(self):
        return objects.InstanceList.get_by_host(
            nova_context.get_admin_context(), self._host,
            expected_attrs=['info_cache', 'flavor'])

    @staticmethod
    def current(instance):
        """The instance as Nova has it now (None once deleted)."""
        try:
            instance.refresh()
        except exception.InstanceNotFound:
            return None
        return instance


def wanted_running(instance):
    """Whether Nova wants the instance's container to run now."""
    return (instance is not None and instance.task_state is None
            and instance.vm_state in RUN_AGAIN)


class EngineRecovery:
    """Brings back one host's instances after the engine stopped them.

    ``driver`` is the compute driver: its ``power_on``, ``pause``,
    ``get_info`` and ``emit_event`` are used as Nova would use them;
    ``concurrency`` of them at a time.
    """

    def __init__(self, engine, host, driver, concurrency=1, instances=None):
        self._engine = engine
        self._host = host
        self._driver = driver
        self._concurrency = max(concurrency, 1)
        self._instances = instances or HostInstances(host)
        self._lock = threading.Lock()
        # The engine went away and its containers were not looked at
        # since: a stopped one may be waiting to run again.
        self._in_doubt = False
        self._waiting = set()
        self._thread = None
        self._again = False
        self._closing = threading.Event()

    # -- what the lifecycle watcher tells ----------------------------------

    def engine_lost(self):
        with self._lock:
            self._in_doubt = True

    def engine_returned(self):
        """Look at the containers in a thread of its own."""
        with self._lock:
            if self._closing.is_set():
                return
            if self._thread is not None and self._thread.is_alive():
                self._again = True
                return
            self._thread = threading.Thread(
                target=self._recover_until_done,
                name='pydock-recovery-%s' % self._host, daemon=True)
            self._thread.start()

    def stop(self):
        self._closing.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(60)

    # -- what the driver reports meanwhile -----------------------------------

    def power_state(self, instance, engine_state):
        """The power state to report for a container in ``engine_state``."""
        state = container.power_state_of(engine_state, instance)
        if state != power_state.SHUTDOWN:
            return state
        with self._lock:
            waiting = (self._in_doubt
                       or container.name_for(instance) in self._waiting)
        return power_state.NOSTATE if waiting else state

    # -- recovery ----------------------------------------------------------

    def _recover_until_done(self):
        while not self._closing.is_set():
            self._recover()
            with self._lock:
                if not self._again:
                    return
                self._again = False

    def _recover(self):
        for attempt in range(1, LOOK_TRIES + 1):
            try:
                candidates = self._stopped_but_wanted()
            except Exception as exc:  # the engine or the conductor is away
                LOG.warning('Cannot look at the containers of host %(host)s '
                            'after the engine returned (%(exc)s); try '
                            '%(n)d of %(tries)d',
                            {'host': self._host, 'exc': exc, 'n': attempt,
                             'tries': LOOK_TRIES})
                if self._closing.wait(LOOK_INTERVAL):
                    return
                continue
            self._run_again(candidates)
            return
        with self._lock:
            self._in_doubt = False
        LOG.error('Containers of host %s that the engine stopped are not '
                  'started again: Nova will see them stopped; start their '
                  'servers again (openstack server start)', self._host)

    def _run_again(self, candidates):
        started = time.monotonic()
        with self._lock:
            self._waiting = {container.name_for(i) for i in candidates}
            self._in_doubt = False
        if not candidates:
            LOG.info('The engine is back; no container of host %s needs '
                     'to run again', self._host)
            return
        LOG.warning('The engine is back and had stopped %(n)d containers '
                    'of host %(host)s that Nova has running; starting them '
                    'again', {'n': len(candidates), 'host': self._host})
        back = self._bring_back_all(candidates)
        LOG.info('%(back)d of %(n)d containers of host %(host)s run again '
                 '%(t).1fs after the engine returned',
                 {'back': back, 'n': len(candidates), 'host': self._host,
                  't': time.monotonic() - started})

    def _stopped_but_wanted(self):
        stopped = {
            found['Labels'][container.LABEL_INSTANCE]
            for found in self._engine.list_containers(
                container.host_filter(self._host))
            if found['State'] == STOPPED_STATUS
            and container.is_instance_name(found['Names'][0])}
        return [instance for instance in self._instances.on_host()
                if instance.uuid in stopped and wanted_running(instance)]

    def _bring_back_all(self, instances):
        """Bring back ``instances``, ``concurrency`` at a time; how many
        run again."""
        todo = queue.SimpleQueue()
        for instance in instances:
            todo.put(instance)
        back = []

        def work():
            while not self._closing.is_set():
                try:
                    instance = todo.get_nowait()
                except queue.Empty:
                    return
                back.append(self._bring_back(instance))

        workers = [threading.Thread(target=work, daemon=True,
                                    name='pydock-recovery-worker')
                   for _ in range(min(self._concurrency, len(instances)))]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return sum(back)

    def _bring_back(self, instance):
        """Start the instance's container again; True if it runs."""
        name = container.name_for(instance)

        # The lock of Nova's compute manager for this instance: a stop,
        # reboot or delete that the user asks for waits, or went first.
        @nova_utils.synchronized(instance.uuid)
        def start_if_still_wanted():
            current = self._instances.current(instance)
            if not wanted_running(current):
                LOG.info('Not starting container %s again: Nova no longer '
                         'has it running', name, instance=instance)
                return None
            self._start(current)
            return self._driver.get_info(current).state

        try:
            state = start_if_still_wanted()
            if state is None:
                return False
        except Exception as exc:
            return self._report_failure(instance, name, exc)
        finally:
            with self._lock:
                self._waiting.discard(name)
        LOG.info('Container %s runs again after the engine restart', name,
                 instance=instance)
        self._driver.emit_event(virtevent.LifecycleEvent(
            instance.uuid, _EVENT_OF_STATE.get(
                state, virtevent.EVENT_LIFECYCLE_STARTED)))
        return True

    def _start(self, instance):
        network_info = (instance.info_cache.network_info
                        if instance.info_cache else [])
        self._driver.power_on(nova_context.get_admin_context(), instance,
                              network_info or [])
        if RUN_AGAIN[instance.vm_state]:
            self._driver.pause(instance)

    def _report_failure(self, instance, name, exc):
        """Log why it failed; tell Nova if the container does not run."""
        LOG.error('Container %(name)s did not run again after the engine '
                  'restart: %(exc)s', {'name': name, 'exc': exc},
                  instance=instance)
        try:
            state = self._engine.inspect_container(name)['State']
        except (engine_client.ContainerNotFound,
                exception.HypervisorUnavailable):
            return False
        if not state.get('Running'):
            self._driver.emit_event(virtevent.LifecycleEvent(
                instance.uuid, virtevent.EVENT_LIFECYCLE_STOPPED))
        return False
