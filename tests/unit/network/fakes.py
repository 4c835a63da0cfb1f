"""Nova network model objects for unit tests."""
from nova.network import model

PORT_A = '11111111-aaaa-4aaa-8aaa-000000000001'
PORT_B = '22222222-bbbb-4bbb-8bbb-000000000002'
NET_ID = '0d7e6c1a-5b7a-4c52-9a43-7f2b1e0c9a11'


def subnet(cidr, ips, gateway=None, dns=(), routes=(), **meta):
    """A Subnet; ``meta`` as Nova sets it (``dhcp_server=...``)."""
    return model.Subnet(
        cidr=cidr, ips=[model.FixedIP(address=ip) for ip in ips],
        gateway=model.IP(address=gateway) if gateway else None,
        dns=[model.IP(address=d) for d in dns],
        routes=[model.Route(cidr=dst, gateway=model.IP(address=via))
                for dst, via in routes], **meta)


def vif(port_id=PORT_A, subnets=(), bridge='brq-test', vif_type='bridge',
        mtu=None, mac='fa:16:3e:00:00:01', details=None, active=True,
        **kwargs):
    network = model.Network(id=NET_ID, bridge=bridge, label='test',
                            subnets=list(subnets), mtu=mtu)
    return model.VIF(id=port_id, address=mac, network=network,
                     type=vif_type, details=details or {},
                     devname=('tap' + port_id)[:14], active=active,
                     **kwargs)


def v4_vif(port_id=PORT_A, host=10, gateway='198.18.0.1', dns=(),
           **kwargs):
    return vif(port_id, [subnet('198.18.0.0/24', ['198.18.0.%d' % host],
                                gateway=gateway, dns=dns)], **kwargs)


class Flavor:
    def __init__(self, extra_specs=None, name='test'):
        self.extra_specs = extra_specs or {}
        self.name = name


class Instance:
    """The little of an Instance that the network code reads."""

    def __init__(self, uuid='6f0b7c42-4d7e-4e4b-9a3e-3a7b5b0c0d01',
                 flavor=None):
        self.uuid = uuid
        self.flavor = flavor

    def obj_attr_is_set(self, name):
        return getattr(self, name, None) is not None

    def __getitem__(self, key):
        return getattr(self, key)

    def get(self, key, default=None):
        return getattr(self, key, default)
