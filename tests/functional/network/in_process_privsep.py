"""Privileged calls in the test process, one at a time under eventlet.

The tests are root, so they run a privsep context's entrypoints in the
test process instead of in a daemon. In eventlet mode that changes one
thing that matters. The daemon runs each call in an OS thread of its
own; in-process, the calls of two green threads (a port announcement and
an unplug, say) share one OS thread and with it asyncio's running loop.
pyroute2 0.9 drives each netlink request with ``run_until_complete``:
when one green thread yields inside it, the other's pyroute2 call finds
that loop running and fails with "This event loop is already running".
No deployment runs that way.

So the fixture hands the context a channel that makes the call in the
test process, as ``client_mode`` off does, and under eventlet one call
at a time over all contexts (os-vif's and ours both use pyroute2).
"""
import threading

import fixtures
from nova_concurrency import CONCURRENCY

# Reentrant: an entrypoint may call another one.
_ONE_AT_A_TIME = threading.RLock()


class _InProcessChannel:
    """Stands in for the daemon's channel: the same call, made here."""

    running = True

    def __init__(self, context):
        self.context = context

    def remote_call(self, name, args, kwargs, timeout=None):
        module, _, attr = name.rpartition('.')
        entrypoint = getattr(__import__(module, fromlist=[attr]), attr)
        assert self.context.is_entrypoint(entrypoint), name
        # The entrypoint is a partial of the context's wrapper and the
        # function itself: call the function.
        func = entrypoint.args[0]
        with _ONE_AT_A_TIME:
            return func(*args, **kwargs)


class InProcessPrivsep(fixtures.Fixture):
    """Run the entrypoints of privsep context ``context`` in-process."""

    def __init__(self, context):
        super().__init__()
        self.context = context

    def _setUp(self):
        if CONCURRENCY != 'eventlet':
            self.useFixture(fixtures.MockPatchObject(
                self.context, 'client_mode', False))
            return
        self.useFixture(fixtures.MockPatchObject(
            self.context, 'client_mode', True))
        self.useFixture(fixtures.MockPatchObject(
            self.context, 'channel', _InProcessChannel(self.context)))
