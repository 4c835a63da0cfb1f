"""Engine states of a host's containers, from one listing of them.

Nova's ``_sync_power_states`` periodic task asks ``get_info`` for every
instance of the host, one call each, and it is the only caller that
accepts a cached answer (``use_cache=True``; Nova asks again with
``use_cache=False`` before it acts on a state). One listing of the
host's containers answers a whole pass instead of one inspect per
instance: with 500 servers, one engine call instead of 500.

A listing is used until the driver changes a container through the
engine (the engine client counts those calls: a start, stop, pause,
create, rename or removal since the listing makes the next call list
again), and for at most ``max_age`` seconds, which bounds how old a
change made behind the driver's back (``docker stop`` by hand) can be
when it is reported. The periodic task runs every ten minutes by
default, and the lifecycle events report such changes in between.
"""
import threading
import time

from nova import exception

from nova_pydock import container

#: Seconds a listing answers for: one pass of the periodic task (its
#: calls come in a quick succession from Nova's thread pool).
MAX_AGE = 2.0


class ListedStates:
    """Engine ``State`` of each container of one host, listed at once.

    ``list_containers`` returns the engine's list entries of the host's
    containers (``Names``, ``State``), as ``Engine.list_containers``
    with the host's label filter does; ``changes`` returns how many
    changes the driver has made to containers so far (the engine
    client's ``container_changes``).
    """

    def __init__(self, list_containers, changes, max_age=MAX_AGE,
                 clock=time.monotonic):
        self._list = list_containers
        self._changes = changes
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._states = None
        self._listed_at = None
        self._listed_after = None

    def state_of(self, instance):
        """The engine state (``{'Status': ...}``) of the instance's own
        container; InstanceNotFound if the listing has none."""
        status = self._current().get(container.name_for(instance))
        if status is None:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        return {'Status': status}

    def _current(self):
        with self._lock:
            # Read before listing: a change made while the engine lists
            # makes the next call list again.
            now, changes = self._clock(), self._changes()
            if (self._states is None or changes != self._listed_after
                    or now - self._listed_at > self._max_age):
                self._states = {found['Names'][0].lstrip('/'): found['State']
                                for found in self._list()}
                self._listed_at, self._listed_after = now, changes
            return self._states
