"""What Neutron's DHCP and L3 agents leave when they stop: their dnsmasq,
haproxy (and, for HA routers, keepalived) processes and the qdhcp and
qrouter namespaces they run in.

The agents start them as daemons of their own (sessions of their own, so
stopping an agent's process group leaves them) and keep them running
when they stop, so that DHCP, routing and the metadata proxies go on
serving through an agent restart. ``tools/cloud down`` stops them: only
processes whose command line names this cloud's Neutron state, and only
the namespaces of this cloud's networks and routers (the UUIDs under
``<state>/neutron``: ``dhcp/<network>``, ``external/pids/<uuid>.pid.*``
of each metadata proxy, ``ha_confs/<router>``), so another cloud's on
the same host stay.
"""
import os
import signal
import time

from processes import alive
from processes import run

PROGRAMS = ('dnsmasq', 'haproxy', 'keepalived')
PREFIXES = ('qdhcp-', 'qrouter-')
#: Where the agents keep a file or directory named by each network's or
#: router's UUID (a pid file's name goes on after it: ``.pid.haproxy``).
UUID_DIRS = ('dhcp', os.path.join('external', 'pids'), 'ha_confs')


def _cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return f.read().decode(errors='replace').split('\0')
    except OSError:
        return []


def processes(state):
    """PIDs of the dnsmasq/haproxy/keepalived processes of this cloud's
    agents."""
    neutron_state = os.path.join(state, 'neutron') + os.sep
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        argv = _cmdline(int(entry))
        if (argv and os.path.basename(argv[0]) in PROGRAMS
                and any(neutron_state in arg for arg in argv)
                and alive(int(entry))):
            found.append(int(entry))
    return sorted(found)


def _uuids(state):
    """The networks and routers this cloud's agents served."""
    found = set()
    for sub in UUID_DIRS:
        path = os.path.join(state, 'neutron', sub)
        if os.path.isdir(path):
            found.update(name.split('.', 1)[0] for name in os.listdir(path))
    return found


def namespaces(state):
    """This cloud's qdhcp and qrouter namespaces that exist."""
    existing = set(os.listdir('/run/netns')) if os.path.isdir(
        '/run/netns') else set()
    return sorted(prefix + uuid for uuid in _uuids(state)
                  for prefix in PREFIXES if prefix + uuid in existing)


def stop(state, grace=5):
    """Stop this cloud's agents' processes, delete its qdhcp and qrouter
    namespaces; returns a line for each thing done."""
    said = []
    pids = processes(state)
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.2)
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    if pids:
        said.append('stopped %d dnsmasq/haproxy/keepalived process(es) of '
                    'the DHCP and L3 agents' % len(pids))
    for ns in namespaces(state):
        # A port's veth goes with its end in the namespace.
        run(['ip', 'netns', 'delete', ns])
        said.append('removed network namespace %s' % ns)
    return said
