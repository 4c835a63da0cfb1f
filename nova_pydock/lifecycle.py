"""Tell Nova what happened to a container behind its back.

A container can stop without Nova asking: its process ends or crashes,
the kernel's OOM killer ends it, someone runs ``docker stop``. The watcher
follows the engine's event stream for the containers of one compute host
and turns start, die, pause and unpause into Nova lifecycle events, so the
compute manager's power state sync marks a server SHUTOFF when it happens,
not at its next periodic run (``[DEFAULT] sync_power_state_interval``).

What the driver itself does (start, stop, reboot, pause, delete) is not
reported: the driver announces those with :meth:`LifecycleWatcher.expect`
and Nova learns their outcome from the call's return. A stop is reported
``[pydock] stopped_event_delay`` seconds late and only if the container is
still stopped then, because the compute manager ignores lifecycle events of
an instance with a task under way, such as a spawn that is completing. A
container that stopped on its own is logged with its exit code, whether
the OOM killer ended it, and its last output lines.

An engine that stops without live restore stops every container first,
and its ``die`` events arrive like any other. They are not news for Nova:
a stop is reported only if the engine still answers when the delay is
over and the stream has not ended since. When the stream ends and when it
is back, the watcher tells ``recovery`` (:mod:`nova_pydock.recovery`),
which brings back what Nova says should run.
"""
import threading
import time

from nova.virt import event as virtevent
from oslo_log import log as logging

from nova_pydock import container
from nova_pydock import engine as engine_client

LOG = logging.getLogger(__name__)

# Engine actions and the Nova transition each one reports; a ``die`` is
# reported later, as EVENT_LIFECYCLE_STOPPED.
TRANSITIONS = {
    'start': virtevent.EVENT_LIFECYCLE_STARTED,
    'pause': virtevent.EVENT_LIFECYCLE_PAUSED,
    'unpause': virtevent.EVENT_LIFECYCLE_RESUMED,
    'die': virtevent.EVENT_LIFECYCLE_STOPPED,
}
# The engine reports an OOM kill just before the ``die`` it causes, and
# may not have set ``State.OOMKilled`` yet when the ``die`` arrives.
OOM = 'oom'
FOLLOWED = tuple(TRANSITIONS) + (OOM,)
# How long after its call returns an action the driver asked for may still
# show up in the event stream.
EXPECT_GRACE_SECONDS = 10


def _since(time_nano):
    """The engine's ``since`` parameter for a timestamp in nanoseconds."""
    return '%d.%09d' % divmod(time_nano, 10 ** 9)


class LifecycleWatcher:
    """Follows one compute host's containers on the engine for Nova."""

    def __init__(self, engine, host, emit, stopped_event_delay,
                 reconnect_interval, recovery=None):
        self._engine = engine
        self._host = host
        self._emit = emit
        self._stopped_event_delay = stopped_event_delay
        self._reconnect_interval = max(reconnect_interval, 0.1)
        self._recovery = recovery
        # How many times the stream ended: a stop seen before the last end
        # may have been the engine's own doing.
        self._losses = 0
        self._lock = threading.Lock()
        self._expected = {}
        self._pending_stops = {}
        self._oom_killed = set()
        self._stream = None
        self._closing = threading.Event()
        self._thread = None

    # -- control ----------------------------------------------------------

    def start(self):
        self._thread = threading.Thread(
            target=self._follow, name='pydock-lifecycle-%s' % self._host,
            daemon=True)
        self._thread.start()

    def stop(self):
        """Stop following and drop reports not yet made."""
        self._closing.set()
        with self._lock:
            stream, self._stream = self._stream, None
            timers = list(self._pending_stops.values())
            self._pending_stops.clear()
        for timer in timers:
            timer.cancel()
        if stream is not None:
            stream.close()
        if self._thread is not None:
            self._thread.join(self._reconnect_interval + 5)

    def expect(self, name, actions, within=0):
        """The driver is about to cause ``actions`` on container ``name``.

        ``within`` is how long the call may take; the events are expected
        until then and for a grace period after. Each call expects one
        event of each action: the stream may lag behind several calls.
        """
        deadline = time.monotonic() + within + EXPECT_GRACE_SECONDS
        with self._lock:
            for action in actions:
                self._expected.setdefault((name, action), []).append(deadline)

    def _was_expected(self, name, action):
        now = time.monotonic()
        with self._lock:
            for key, deadlines in list(self._expected.items()):
                deadlines[:] = [d for d in deadlines if d >= now]
                if not deadlines:
                    del self._expected[key]
            deadlines = self._expected.get((name, action))
            if not deadlines:
                return False
            deadlines.pop(0)
            return True

    # -- the event stream -------------------------------------------------

    def _follow(self):
        since = None
        last_seen = 0
        lost = False
        while not self._closing.is_set():
            opened_at = time.time_ns()
            stream = self._connect(since, quiet=lost)
            if stream is None:
                lost = True
                self._closing.wait(self._reconnect_interval)
                continue
            with self._lock:
                if self._closing.is_set():
                    stream.close()
                    return
                self._stream = stream
            if lost:
                LOG.info('Following container events of host %s again',
                         self._host)
                lost = False
                if self._recovery is not None:
                    self._recovery.engine_returned()
            try:
                for found in stream:
                    time_nano = found.get('timeNano', 0)
                    if time_nano <= last_seen:
                        continue  # replayed after a reconnection
                    last_seen = time_nano
                    self._handle_safely(found)
                reason = 'the engine stopped or restarted'
            except Exception as exc:  # a broken read: the same as an end
                reason = exc
            if self._closing.is_set():
                return
            LOG.warning('The container event stream ended (%s); '
                        'reconnecting', reason)
            self._stream_lost()
            lost = True
            since = _since(last_seen or opened_at)
            self._closing.wait(self._reconnect_interval)

    def _stream_lost(self):
        with self._lock:
            self._losses += 1
        if self._recovery is not None:
            self._recovery.engine_lost()

    def _connect(self, since, quiet):
        """Open the event stream, or return None if the engine is away."""
        try:
            return self._engine.container_events(
                container.host_filter(self._host), FOLLOWED, since)
        except engine_client.EngineUnavailable as exc:
            reason = exc
        (LOG.debug if quiet else LOG.warning)(
            'Cannot follow container events: %s; trying again every %.1fs',
            reason, self._reconnect_interval)
        return None

    def _handle_safely(self, found):
        try:
            self._handle(found)
        except Exception:
            LOG.exception('Could not handle container event %s', found)

    def _handle(self, found):
        action = found.get('Action')
        attributes = found.get('Actor', {}).get('Attributes', {})
        name = attributes.get('name', '')
        uuid = attributes.get(container.LABEL_INSTANCE)
        if (action not in FOLLOWED or not uuid
                or not container.is_instance_name(name)):
            return
        if action == OOM:
            self._oom_killed.add(name)
            return
        oom_killed = action == 'die' and name in self._oom_killed
        self._oom_killed.discard(name)
        if action == 'start':
            self._cancel_pending_stop(name)
        if self._was_expected(name, action):
            return
        if action != 'die':
            LOG.info('Container %(name)s: %(action)s, not asked by Nova',
                     {'name': name, 'action': action}, instance_uuid=uuid)
            self._emit(virtevent.LifecycleEvent(uuid, TRANSITIONS[action]))
            return
        self._log_death(name, uuid, attributes.get('exitCode'), oom_killed)
        self._report_stop_later(name, uuid)

    # -- stops ------------------------------------------------------------

    def _log_death(self, name, uuid, exit_code, oom_killed):
        try:
            output = self._engine.last_output(name)
        except (engine_client.ContainerNotFound,
                engine_client.ContainerConflict):
            return  # removed, or being removed: not a stop to explain
        except engine_client.EngineUnavailable:
            LOG.info('Container %(name)s stopped (exit code %(code)s) while '
                     'the engine does not answer: it is stopping, most '
                     'likely', {'name': name, 'code': exit_code},
                     instance_uuid=uuid)
            return
        LOG.warning('Container %(name)s stopped on its own: exit code '
                    '%(code)s%(oom)s; its last output: %(output)s',
                    {'name': name, 'code': exit_code,
                     'oom': ', killed by the OOM killer' if oom_killed else '',
                     'output': output},
                    instance_uuid=uuid)

    def _report_stop_later(self, name, uuid):
        with self._lock:
            timer = threading.Timer(self._stopped_event_delay,
                                    self._report_stop,
                                    (name, uuid, self._losses))
            timer.daemon = True
            if self._closing.is_set():
                return
            previous = self._pending_stops.pop(name, None)
            self._pending_stops[name] = timer
        if previous is not None:
            previous.cancel()
        timer.start()

    def _cancel_pending_stop(self, name):
        with self._lock:
            timer = self._pending_stops.pop(name, None)
        if timer is not None:
            timer.cancel()
            LOG.info('Container %s started again within [pydock] '
                     'stopped_event_delay; its stop is not reported', name)

    def _report_stop(self, name, uuid, losses):
        with self._lock:
            self._pending_stops.pop(name, None)
            lost_since = self._losses != losses
        # A stopping engine closes its socket before it stops the
        # containers, and its event stream ends after: a stop followed by
        # either was most likely the engine's doing.
        why_not = 'the engine restarted since' if lost_since else None
        try:
            state = {} if why_not else self._engine.inspect_container(
                name)['State']
        except engine_client.ContainerNotFound:
            return
        except engine_client.EngineUnavailable as exc:
            why_not = exc.kwargs['reason']
        except Exception:
            LOG.exception('Cannot tell Nova that container %s stopped',
                          name)
            return
        if why_not:
            LOG.info('Container %(name)s stopped as the engine went away; '
                     'not reported to Nova (%(why)s)',
                     {'name': name, 'why': why_not}, instance_uuid=uuid)
            return
        if state.get('Running'):
            return
        self._emit(virtevent.LifecycleEvent(
            uuid, virtevent.EVENT_LIFECYCLE_STOPPED))
