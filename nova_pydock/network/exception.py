"""Errors of the network plumbing, as Nova exceptions.

Everything that can go wrong while plugging is a
:class:`nova.exception.VirtualInterfacePlugException`, so the driver (and
Nova's compute manager) can treat a failed plug as one kind of error;
unplug failures are :class:`nova.exception.VirtualInterfaceUnplugException`.
"""
from nova import exception
from nova.i18n import _


class UnsupportedVIFType(exception.VirtualInterfacePlugException):
    msg_fmt = _("Port %(port_id)s has VIF type '%(vif_type)s', which "
                "nova-pydock cannot plug; supported types: %(supported)s.")


class VIFWithoutNetwork(exception.VirtualInterfacePlugException):
    msg_fmt = _("Port %(port_id)s has no network in the instance's "
                "network info; cannot plug it.")


class InvalidVIF(exception.VirtualInterfacePlugException):
    msg_fmt = _("Port %(port_id)s cannot be plugged: %(reason)s")


class AddressNotInSubnet(exception.VirtualInterfacePlugException):
    msg_fmt = _("Port %(port_id)s: fixed IP %(address)s does not belong "
                "to its subnet %(cidr)s.")


class InvalidBandwidthQuota(exception.InvalidInput):
    msg_fmt = _("Flavor extra spec %(key)s=%(value)r is not a valid "
                "bandwidth quota: %(reason)s")


class NamespaceNotFound(exception.VirtualInterfacePlugException):
    msg_fmt = _("Network namespace %(netns)s of instance %(instance)s does "
                "not exist (has the container stopped?).")


class PlugFailed(exception.VirtualInterfacePlugException):
    msg_fmt = _("Plugging port %(port_id)s (%(devname)s) of instance "
                "%(instance)s failed: %(reason)s")


class UnplugFailed(exception.VirtualInterfaceUnplugException):
    msg_fmt = _("Unplugging port(s) of instance %(instance)s failed: "
                "%(reason)s")
