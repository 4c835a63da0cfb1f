"""Starting an instance's container: start, plug its ports, check it.

The container's network namespace is born with its process, so every
start plugs the ports again, after removing what the last run left on the
host side (an OVS port row of a dead veth keeps Open vSwitch on the
deleted device, whether the container stopped through Nova, crashed, or
went down with the engine). On the first boot the driver waits for
Neutron's ``network-vif-plugged`` events, as libvirt does.
"""
from nova import exception
from oslo_log import log as logging
from oslo_utils import excutils

from nova_pydock import conf as pydock_conf
from nova_pydock.network import api as network_api

LOG = logging.getLogger(__name__)
CONF = pydock_conf.CONF


def start(guest, network_info, network, virtapi, first_boot=False):
    """Start container ``guest`` with its ports; fail if it exits at once.

    ``network`` is the driver's ContainerNetwork, ``virtapi`` Nova's.
    """
    instance = guest.instance
    guest.start()
    if network_info and not first_boot:
        network.unplug(instance, network_info, ignore_errors=True)
    if network_info:
        events = (network_api.vif_plugged_events(network_info)
                  if first_boot and CONF.vif_plugging_timeout else [])
        try:
            with virtapi.wait_for_instance_event(
                    instance, events, timeout=CONF.vif_plugging_timeout,
                    error_callback=_neutron_failed):
                plug(guest, network_info, network)
        except exception.InstanceEventTimeout as exc:
            if CONF.vif_plugging_is_fatal:
                raise exception.VirtualInterfaceCreateException() from exc
            LOG.warning('Neutron did not confirm the ports in time; going '
                        'on ([DEFAULT] vif_plugging_is_fatal is false)',
                        instance=instance)
        except Exception:
            # A process that died at once takes its namespace along:
            # report why it died, not that plugging failed.
            with excutils.save_and_reraise_exception() as ctx:
                guest.inspect()
                if not guest.running:
                    ctx.reraise = False
                    raise guest.exited_at_start() from None
    guest.watch_startup(CONF.pydock.startup_check_seconds)


def plug(guest, network_info, network):
    """Plug ports into the namespace of the running container ``guest``."""
    guest.inspect()
    network.plug(guest.instance, network_info, guest.netns,
                 resolv_conf_path=guest.resolv_conf_path)


def _neutron_failed(event_name, instance):
    LOG.error('Neutron reported failure on event %s', event_name,
              instance=instance)
    if CONF.vif_plugging_is_fatal:
        raise exception.VirtualInterfaceCreateException()
