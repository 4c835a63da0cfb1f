"""What Neutron's DHCP agent leaves when it stops: its dnsmasq and haproxy
processes and the qdhcp namespaces they run in.

The agent starts them as daemons of their own (sessions of their own, so
stopping the agent's process group leaves them) and keeps them running
when it stops, so that DHCP and the metadata proxy go on serving through
an agent restart. ``tools/cloud down`` stops them: only processes whose
command line names this cloud's Neutron state, and only the namespaces
of this cloud's networks (``<state>/neutron/dhcp/<network id>``), so
another cloud's on the same host stay.
"""
import os
import signal
import time

from processes import alive
from processes import run

PROGRAMS = ('dnsmasq', 'haproxy')
PREFIX = 'qdhcp-'


def _cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return f.read().decode(errors='replace').split('\0')
    except OSError:
        return []


def processes(state):
    """PIDs of the dnsmasq/haproxy processes of this cloud's agent."""
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


def namespaces(state):
    """This cloud's qdhcp namespaces that exist."""
    confs = os.path.join(state, 'neutron', 'dhcp')
    networks = os.listdir(confs) if os.path.isdir(confs) else []
    existing = set(os.listdir('/run/netns')) if os.path.isdir(
        '/run/netns') else set()
    return sorted(PREFIX + net for net in networks
                  if PREFIX + net in existing)


def stop(state, grace=5):
    """Stop this cloud's dnsmasq and haproxy, delete its qdhcp
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
        said.append('stopped %d dnsmasq/haproxy process(es) of the DHCP '
                    'agent' % len(pids))
    for ns in namespaces(state):
        # The DHCP port's veth goes with its end in the namespace.
        run(['ip', 'netns', 'delete', ns])
        said.append('removed network namespace %s' % ns)
    return said
