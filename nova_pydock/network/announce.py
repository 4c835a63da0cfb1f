"""Announcing a container's ports again, some seconds after the plug.

A port that comes up on another host (a cold migration, a resize to
another host, an evacuation) keeps its MAC and addresses. Switches on
the way, Open vSwitch's MAC learning on a flat network among them, still
send its frames to where it was until it sends a frame itself, and a
server that only answers sends none: measured in ``tools/cloud
--computes 2``, the host reached a moved server about 9.5 s after it was
ACTIVE, once its ARP entry had gone stale and been probed again.

:func:`~nova_pydock.network.plumbing.activate_port` announces the
addresses as soon as the host end is wired, but Neutron's agent puts a
new port on its network (VLAN tag, flows) only a few seconds later and
drops what the port sends before. So the announcement is made again at
``[pydock] port_announce_delays`` seconds after the plug, from a thread
of its own (a migrated VM is announced several times over too), until
the port or the container is gone.
"""
import threading
import time

from oslo_log import log as logging

from nova_pydock import conf as pydock_conf
from nova_pydock.network import netns as netns_mod
from nova_pydock.network import plumbing

LOG = logging.getLogger(__name__)
CONF = pydock_conf.CONF


def pauses(delays):
    """The sleeps between announcements at ``delays`` seconds after the
    plug (in any order, repeats once)."""
    done, gaps = 0.0, []
    for delay in sorted(set(delays)):
        gaps.append(delay - done)
        done = delay
    return gaps


class Announcer:
    """Announces plugged ports again, each plug in a thread of its own.

    ``announce`` is :func:`plumbing.announce_port` (privileged) and
    ``sleep`` :func:`time.sleep` but in tests.
    """

    def __init__(self, announce=None, sleep=time.sleep):
        self._announce = announce or plumbing.announce_port
        self._sleep = sleep

    def start(self, instance, netns, ports):
        """Announce ``ports`` (dicts with ``ifname`` and ``mac``) of the
        container whose namespace is ``netns`` at the configured delays.

        :returns: the thread, or None when there is nothing to do.
        """
        gaps = pauses(CONF.pydock.port_announce_delays)
        ports = [{'ifname': p['ifname'], 'mac': p['mac']} for p in ports]
        if not gaps or not ports:
            return None
        thread = threading.Thread(
            target=self.run, args=(instance, netns, ports, gaps),
            daemon=True, name='pydock-announce-%s' % instance.uuid)
        thread.start()
        return thread

    def run(self, instance, netns, ports, gaps):
        """Sleep each gap, then announce the ports still there."""
        sent = 0
        for gap in gaps:
            self._sleep(gap)
            ports = [port for port in ports
                     if self._announce_one(instance, netns, port)]
            if not ports:
                break
            sent += 1
        LOG.debug('Announced the ports of the container %d time(s) after '
                  'the plug', sent, instance=instance)
        return sent

    def _announce_one(self, instance, netns, port):
        try:
            if self._announce(netns, port['ifname'], port['mac']):
                return True
            LOG.debug('%s (%s) is gone: no more announcements of it',
                      port['ifname'], port['mac'], instance=instance)
        except netns_mod.NamespaceGoneError:
            LOG.debug('The container has stopped: no more announcements',
                      instance=instance)
        except (OSError, ValueError) as e:
            LOG.warning('Could not announce %s again: %s', port['ifname'],
                        e, instance=instance)
        return False
