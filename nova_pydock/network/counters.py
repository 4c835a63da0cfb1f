"""Traffic counters of an instance's ports, as the instance sees them.

Read without privileges from the host end of each veth
(``/sys/class/net/<tap>/statistics``); what the host end receives, the
instance sent, so receive and transmit swap.
"""
import os

from nova_pydock.network import spec

SYS_CLASS_NET = '/sys/class/net'
# Instance-side counter name -> host-end statistics file.
_SWAPPED = {
    'rx_bytes': 'tx_bytes', 'rx_packets': 'tx_packets',
    'rx_errors': 'tx_errors', 'rx_dropped': 'tx_dropped',
    'tx_bytes': 'rx_bytes', 'tx_packets': 'rx_packets',
    'tx_errors': 'rx_errors', 'tx_dropped': 'rx_dropped',
}


def port_counters(network_info, sys_class_net=SYS_CLASS_NET):
    """``[(name, {counter: value})]`` for each plugged port, in VIF order.

    Ports are named by their host device (``tap...``), as libvirt names
    them in diagnostics; a port whose host end does not exist (instance
    stopped) is left out.
    """
    result = []
    for vif in network_info or ():
        devname = spec.devname(vif)
        statistics = os.path.join(sys_class_net, devname, 'statistics')
        if not os.path.isdir(statistics):
            continue
        counters = {}
        for inside, host_file in _SWAPPED.items():
            with open(os.path.join(statistics, host_file)) as f:
                counters[inside] = int(f.read())
        result.append((devname, counters))
    return result
