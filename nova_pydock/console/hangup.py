"""End a console shell and what it started, as a terminal hang-up would.

The engine keeps an exec's terminal open when the client's stream closes,
so a console shell would outlive its session. The shell leads a session
of its own (an exec with a terminal gets one); its members are found in
the host's ``/proc`` (world-readable) and signalled from inside the
container, through the engine, with the shell's own ``kill``: the
signal comes from the container's user, never from the host.
"""
import os
import time

from oslo_log import log as logging

from nova_pydock import engine as engine_client

LOG = logging.getLogger(__name__)
GRACE_SECONDS = 2.0


def session_members(leader):
    """Host PIDs of the processes in the session that ``leader`` leads."""
    members = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                # pid (comm) state ppid pgrp session ...
                fields = f.read().rsplit(')', 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == leader:
            members.append(int(entry))
    return members


def namespace_pid(pid):
    """The PID of host process ``pid`` inside its own PID namespace."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('NSpid:'):
                    return int(line.split()[-1])
    except OSError:
        pass
    return None


_ENGINE_ERRORS = (engine_client.ContainerNotFound,
                  engine_client.ContainerConflict, engine_client.EngineError,
                  engine_client.EngineUnavailable)


def hang_up(engine, name, exec_id, shell):
    """SIGHUP to the console shell's session, SIGKILL to what stays."""
    try:
        for signal in ('HUP', 'KILL'):
            if _signal_session(engine, name, exec_id, shell, signal):
                return
        LOG.warning('Console shell %s in %s outlived SIGKILL', shell, name)
    except _ENGINE_ERRORS as exc:
        # The container or the engine went first: so did the shell.
        LOG.info('Console shell %s in %s not signalled: %s', shell, name,
                 exc.format_message())


def _signal_session(engine, name, exec_id, shell, signal):
    """Send ``signal``; whether the shell has ended within the grace."""
    state = engine.exec_state(exec_id)
    if not state.get('Running') or not state.get('Pid'):
        return True
    pids = [namespace_pid(pid) for pid in session_members(state['Pid'])]
    pids = [str(pid) for pid in pids if pid]
    if not pids:
        return True
    engine.exec_run(name, [shell, '-c',
                           'kill -%s %s' % (signal, ' '.join(pids))])
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline:
        if not engine.exec_state(exec_id).get('Running'):
            return True
        time.sleep(0.1)
    return False
