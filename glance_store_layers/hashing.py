"""Hash an upload on helper threads while the main thread stores it.

An upload into the layers store needs three digests of every byte: the
md5 checksum and the multihash that Glance records, and the sha256 that
names each blob. Done one after the other they cost more CPU than the
write itself. hashlib releases the GIL while it hashes buffers larger
than 2 KiB, so the store feeds md5 and the multihash each from its own
helper thread and computes the sha256 and writes on the main thread:
with free cores, three hashes then take less wall time than the file
store's two done serially. On a machine whose cores are all busy the
gain shrinks to nothing, and the cost is the extra sha256 (about a
quarter more CPU than the file store, see tools/bench-store).

Chunks are handed over in batches of about 512 KiB (one thread wake-up
per batch, not per chunk: on a busy machine every wake-up costs), each
queue holds at most two batches, so memory stays bounded however slow a
helper is, and chunks are hashed in the order they were given.
Under eventlet monkey patching the helpers become green threads: still
correct, just not parallel.
"""
import queue
import threading

BATCH_BYTES = 512 * 1024
_QUEUE_BATCHES = 2
_STOP = object()


class BackgroundHasher:
    """Feed ``hashers`` (hashlib objects) from a helper thread."""

    def __init__(self, *hashers):
        self._hashers = hashers
        self._queue = queue.Queue(maxsize=_QUEUE_BATCHES)
        self._batch = []
        self._batch_bytes = 0
        self._error = None
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='layers-store-hash')
        self._thread.start()

    def update(self, data):
        """Queue ``data`` (bytes: must not change afterwards)."""
        self._batch.append(data)
        self._batch_bytes += len(data)
        if self._batch_bytes >= BATCH_BYTES:
            self._hand_over()

    def finish(self):
        """Wait until every queued chunk is hashed; idempotent."""
        if self._thread.is_alive():
            self._hand_over()
            self._queue.put(_STOP)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def _hand_over(self):
        if self._batch:
            self._queue.put(self._batch)
            self._batch = []
            self._batch_bytes = 0

    def _run(self):
        while True:
            batch = self._queue.get()
            if batch is _STOP:
                return
            if self._error is not None:
                continue
            try:
                for data in batch:
                    for hasher in self._hashers:
                        hasher.update(data)
            except Exception as exc:   # re-raised by finish()
                self._error = exc
