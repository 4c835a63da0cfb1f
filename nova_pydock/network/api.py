"""What the driver calls: Neutron ports into and out of a container.

:class:`ContainerNetwork` is the whole interface. A container's network
namespace (``netns``) is the engine's bind mount of it,
``inspect['NetworkSettings']['SandboxKey']`` (works with the privsep
daemon's reduced capabilities), or the PID of its process (needs a
daemon that may read ``/proc/<pid>/ns``). It dies with the container's
process: every start of the container needs :meth:`plug` again.

Where the work is done: :mod:`~nova_pydock.network.spec` checks and
translates Nova's network info, :mod:`~nova_pydock.network.plumbing`
(veth pairs, addresses, routes), :mod:`~nova_pydock.network.shaping` (tc)
and :mod:`~nova_pydock.network.netns` (namespace entry) run privileged,
:mod:`~nova_pydock.network.vifs` attaches the host end per VIF type.
"""
from nova import exception as nova_exception
from oslo_log import log as logging
from oslo_utils import excutils

from nova_pydock import conf as pydock_conf
from nova_pydock.network import announce
from nova_pydock.network import counters
from nova_pydock.network import exception
from nova_pydock.network import netns as netns_mod
from nova_pydock.network import plumbing
from nova_pydock.network import shaping as shaping_mod
from nova_pydock.network import spec
from nova_pydock.network import vifs

LOG = logging.getLogger(__name__)
CONF = pydock_conf.CONF

vif_plugged_events = spec.vif_plugged_events


def write_resolv_conf(path, content):
    """Write resolv.conf ``content`` over the existing file ``path``.

    ``path`` is the engine's ``inspect['ResolvConfPath']`` on the host.
    """
    try:
        plumbing.write_resolv_conf(path, content)
    except (OSError, ValueError) as e:
        raise nova_exception.NovaException(
            'Cannot write resolv.conf %s: %s' % (path, e)) from e


def cached_network_info(instance):
    """The ports Nova last knew of, for calls that get no network_info."""
    if (not instance.obj_attr_is_set('info_cache')
            or instance.info_cache is None):
        return []
    return instance.info_cache.network_info or []


def _ports_after(instance, vif, attached):
    """The instance's ports once ``vif`` is attached (or detached).

    Whether Nova's cache of the instance's ports already holds ``vif``
    (attached) or still does (detached) does not matter.
    """
    ports = [port for port in cached_network_info(instance)
             if port['id'] != vif['id']]
    if attached:
        ports.append(vif)
    return ports


def _flavor(instance, flavor):
    if flavor is not None:
        return flavor
    try:
        if instance.obj_attr_is_set('flavor'):
            return instance.flavor
    except AttributeError:
        pass
    return None


class ContainerNetwork:
    """Plug and unplug Neutron ports of container instances."""

    def __init__(self, backends=None, announcer=None):
        self.backends = dict(vifs.BACKENDS if backends is None
                             else backends)
        self.announcer = announcer or announce.Announcer()

    # Plug

    def plug(self, instance, network_info, netns, flavor=None,
             resolv_conf_path=None):
        """Plumb every VIF of ``network_info`` into the container.

        VIFs become ``eth0``, ``eth1``... in order. Idempotent: a port
        that already leads into this namespace is kept (and its shaping
        brought up to date). Every VIF is checked before anything is
        made; on a later error the ports this call went through are
        removed again, those it found in place included. The ports'
        addresses are announced at the plug and again some seconds later
        (:mod:`~nova_pydock.network.announce`).

        :param netns: the container's namespace, see the module doc.
        :param flavor: for ``quota:vif_*``; default ``instance.flavor``.
        :param resolv_conf_path: when given, the resolv.conf written from
            the subnets' DNS servers.
        :returns: the interface names in the container, in VIF order.
        :raises VirtualInterfacePlugException: a bad VIF (subclasses in
            :mod:`nova_pydock.network.exception`), a namespace that is
            gone, or a kernel or os-vif error.
        :raises InvalidInput: a bad ``quota:vif_*`` value.
        :raises NovaException: resolv.conf could not be written.
        """
        network_info = list(network_info or [])
        ports = spec.port_specs(network_info, CONF.pydock.metadata_route)
        shaping = spec.bandwidth(_flavor(instance, flavor))
        content = (spec.resolv_conf(network_info)
                   if resolv_conf_path else None)
        done = []
        try:
            for vif, port in zip(network_info, ports, strict=True):
                done.append(vif)
                self._plug_port(instance, vif, port, netns, shaping)
            if resolv_conf_path:
                write_resolv_conf(resolv_conf_path, content)
        except Exception:
            with excutils.save_and_reraise_exception():
                LOG.error('Plugging %d port(s) into %s failed; removing '
                          'what was made', len(network_info), netns,
                          instance=instance)
                self._unplug_quietly(instance, done)
        self.announcer.start(instance, netns, ports)
        return [port['ifname'] for port in ports]

    def attach(self, instance, vif, netns, flavor=None,
               resolv_conf_path=None):
        """Hot-plug one more VIF into a running container.

        It gets the first free ``ethN`` name; it gets a default route only
        for an IP version the container has none of yet, and the route to
        the metadata service only if the container has none. With
        ``resolv_conf_path``, resolv.conf gets the DNS servers of the
        ports the container has then: those in Nova's cache of the
        instance's ports and ``vif``. On an error the port is removed
        again.
        :returns: its interface name in the container.
        """
        port = spec.shared_routes([spec.port_spec(
            vif, metadata_route=CONF.pydock.metadata_route)])[0]
        shaping = spec.bandwidth(_flavor(instance, flavor))
        content = self._resolv_conf_after(instance, vif, True,
                                          resolv_conf_path)
        try:
            ifname = self._plug_port(instance, vif, port, netns, shaping)
            if resolv_conf_path:
                write_resolv_conf(resolv_conf_path, content)
        except Exception:
            with excutils.save_and_reraise_exception():
                self._unplug_quietly(instance, [vif])
        self.announcer.start(instance, netns, [port])
        return ifname

    @staticmethod
    def _resolv_conf_after(instance, vif, attached, resolv_conf_path):
        if not resolv_conf_path:
            return None
        return spec.resolv_conf(_ports_after(instance, vif, attached))

    def _plug_port(self, instance, vif, port, netns, shaping):
        backend = self.backends[vif['type']]
        devname = port['devname']
        try:
            made = plumbing.create_port(netns, port)
            port['ifname'] = made['ifname']
            backend.plug(instance, vif, devname)
            # Always: a kept port, or the ifb of a port whose container
            # died, may carry the shaping of an older flavor.
            shaping_mod.set_shaping(devname, spec.ifb_name(vif),
                                    shaping['inbound'], shaping['outbound'])
            # The instance's side comes up last, wired and shaped.
            plumbing.activate_port(netns, port)
        except nova_exception.NovaException:
            raise
        except netns_mod.NamespaceGoneError as e:
            raise exception.NamespaceNotFound(
                netns=netns, instance=instance.uuid) from e
        except Exception as e:
            raise self._failed(instance, vif, devname, e) from e
        LOG.info('Plugged port %(port)s: %(dev)s <-> %(ifname)s '
                 '(%(mac)s, MTU %(mtu)s, %(addrs)s)%(shaped)s',
                 {'port': vif['id'], 'dev': devname,
                  'ifname': port['ifname'], 'mac': port['mac'],
                  'mtu': port['mtu'] or 'default',
                  'addrs': ', '.join(port['addresses']) or 'no addresses',
                  'shaped': ', shaped %s' % {k: v for k, v in
                                              shaping.items() if v}
                  if any(shaping.values()) else ''},
                 instance=instance)
        return port['ifname']

    @staticmethod
    def _failed(instance, vif, devname, error):
        LOG.error('Plugging port %s (%s) failed: %s', vif['id'], devname,
                  error, instance=instance)
        return exception.PlugFailed(port_id=vif['id'], devname=devname,
                                    instance=instance.uuid, reason=error)

    # Unplug

    def unplug(self, instance, network_info, ignore_errors=False):
        """Remove every host device the VIFs had; idempotent.

        The container ends go with their veth pairs, so the container need
        not run. Tries every VIF, then raises
        ``VirtualInterfaceUnplugException`` if any failed, unless
        ``ignore_errors`` (as libvirt's cleanup does): then they are only
        logged.
        """
        errors = []
        for vif in network_info or []:
            try:
                self._unplug_port(instance, vif)
            except Exception as e:
                LOG.error('Unplugging port %s failed: %s', vif.get('id'), e,
                          instance=instance)
                errors.append('%s: %s' % (vif.get('id'), e))
        if errors and not ignore_errors:
            raise exception.UnplugFailed(instance=instance.uuid,
                                         reason='; '.join(errors))

    def detach(self, instance, vif, resolv_conf_path=None):
        """Hot-unplug one VIF from a container (running or not).

        With ``resolv_conf_path``, resolv.conf then gets the DNS servers
        of the ports the container keeps: those in Nova's cache of the
        instance's ports but ``vif``.
        """
        content = self._resolv_conf_after(instance, vif, False,
                                          resolv_conf_path)
        self.unplug(instance, [vif])
        if resolv_conf_path:
            write_resolv_conf(resolv_conf_path, content)

    # Counters

    @staticmethod
    def port_counters(instance):
        """Traffic counters of the instance's plugged ports, as it sees
        them: ``[(host device, {counter: value})]`` (see
        :func:`nova_pydock.network.counters.port_counters`)."""
        return counters.port_counters(cached_network_info(instance))

    def _unplug_port(self, instance, vif):
        try:
            spec.check_vif(vif)
        except nova_exception.VirtualInterfacePlugException as e:
            LOG.debug('Nothing to unplug for port %s: %s', vif.get('id'), e,
                      instance=instance)
            return
        devname = spec.devname(vif)
        self.backends[vif['type']].unplug(instance, vif, devname)
        removed = plumbing.delete_port(devname, spec.ifb_name(vif))
        LOG.info('Unplugged port %s (%s)', vif['id'],
                 ', '.join(removed) or 'no device was left',
                 instance=instance)

    def _unplug_quietly(self, instance, network_info):
        for vif in network_info:
            try:
                self._unplug_port(instance, vif)
            except Exception as e:
                LOG.warning('Cleaning up port %s failed: %s', vif.get('id'),
                            e, instance=instance)
