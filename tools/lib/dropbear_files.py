"""Debian's dropbear SSH server, as files to add to the busybox root fs.

The ``busybox-ssh`` image of tools/cloud is the busybox image plus
dropbear, so that Tempest (and a user) can log in to a server as one logs
in to cirros on a VM cloud. dropbear comes from Debian's ``dropbear-bin``
(installed on the host through tools/lib/apt.sh); it is linked
dynamically, so the shared libraries ``ldd`` names go along, each at the
path the loader looks for it. Nothing is pulled from a registry.
"""
import re
import subprocess

DROPBEAR = '/usr/sbin/dropbear'
#: The image's one user is root: ``sudo CMD`` (which Tempest's remote
#: client prefixes to some commands) runs CMD as it is, and refuses
#: anyone else rather than pretend to switch users.
SUDO = b'''#!/bin/sh
# busybox-ssh: root is the only user; sudo runs the command as root.
if [ "$(id -u)" != 0 ]; then
    echo "sudo: only root may run commands here" >&2
    exit 1
fi
exec "$@"
'''
_LDD_PATH = re.compile(r'(?:=>\s*)?(/\S+)\s+\(0x[0-9a-f]+\)')


def shared_libraries(binary):
    """The absolute paths of the libraries ``binary`` loads (ldd)."""
    out = subprocess.run(['ldd', binary], check=True, capture_output=True,
                         text=True).stdout
    paths = []
    for line in out.splitlines():
        match = _LDD_PATH.search(line)
        if match:
            paths.append(match.group(1))
    if not paths:
        raise RuntimeError('ldd found no libraries for %s: %s'
                           % (binary, out.strip()))
    return paths


def _read(path):
    with open(path, 'rb') as f:
        return f.read()


def files(binary=DROPBEAR):
    """(path, bytes, mode) triples: dropbear, its libraries, sudo, shells.

    Raises FileNotFoundError when dropbear is not installed on the host.
    """
    found = [(binary.lstrip('/'), _read(binary), 0o755)]
    found += [(lib.lstrip('/'), _read(lib), 0o755)
              for lib in shared_libraries(binary)]
    found += [('bin/sudo', SUDO, 0o755),
              ('etc/shells', b'/bin/sh\n', 0o644)]
    return found
