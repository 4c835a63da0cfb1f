"""The hostname an instance's container gets, and its full name.

Nova accepts hostnames up to 255 characters (FQDNs since microversion
2.94); the kernel takes at most 64 (``sethostname`` fails with EINVAL
beyond) and a DNS label at most 63. A VM's guest (cloud-init) sets its
hostname to the first label and lists the full name in ``/etc/hosts``;
a container gets the same, so no valid Nova hostname fails a build.
The engine gives a container without an engine network no /etc/hosts
line for its own name; a guest has one (``sudo``, ``hostname -f``).
"""

#: The longest label DNS (RFC 1035) allows, and below the kernel's 64.
LABEL_MAX = 63
#: Where Debian and cloud-init put the machine's own names in /etc/hosts.
OWN_NAME_ADDRESS = '127.0.1.1'


def short_name(instance):
    """The kernel hostname: the first label of Nova's hostname, at most
    63 characters (the instance UUID if Nova gave none)."""
    first = (instance.hostname or '').strip('.').split('.')[0]
    return first[:LABEL_MAX].rstrip('-') or instance.uuid


def extra_hosts(instance):
    """Engine ``extra_hosts`` entry (``names:address``) that makes the
    container's own names resolve, as a guest's /etc/hosts does: the full
    name first (what ``hostname -f`` answers), then the short one."""
    full = (instance.hostname or '').strip('.')
    short = short_name(instance)
    names = [full, short] if full and full != short else [short]
    return ['%s:%s' % (' '.join(names), OWN_NAME_ADDRESS)]
