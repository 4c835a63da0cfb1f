"""Where a compute host's consoles listen and how a connection names one.

One listener per compute service serves every instance of its host. Nova
keeps the ``internal_access_path`` of ``ConsoleSerial`` with the console
token, and nova-serialproxy opens each connection with ``CONNECT <path>
HTTP/1.1``. The path names the instance, the shell to start and a
signature (HMAC-SHA256 under a key of this host), so only a path Nova got
from this driver opens a console: the token stays the only way in.

The port (from ``[serial_console] port_range``) and the key are kept in
a small file under ``[DEFAULT] state_path``, so that after a nova-compute
restart the listener comes back on the same port (``validate_console_port``
compares it with the token's) and paths handed out before still work.
"""
import hashlib
import hmac
import json
import os
import secrets
from urllib import parse as urlparse

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class BadPathError(ValueError):
    """A CONNECT path this host did not hand out."""


def port_range(spec):
    """``"10000:20000"`` -> range of ports (Nova's format, end excluded)."""
    try:
        start, stop = (int(part) for part in spec.split(':'))
    except ValueError:
        raise ValueError('[serial_console] port_range must be '
                         '<start>:<stop>, not %r' % spec) from None
    if not 0 < start < stop <= 65536:
        raise ValueError('[serial_console] port_range %r is empty or out '
                         'of bounds' % spec)
    return range(start, stop)


class HostState:
    """The listener's port and the path key of one compute host."""

    def __init__(self, directory, host):
        self.path = os.path.join(directory, 'pydock-console-%s.json' % host)
        self.port = None
        self.key = None

    def load(self):
        try:
            with open(self.path) as f:
                saved = json.load(f)
            self.port = int(saved['port'])
            self.key = bytes.fromhex(saved['key'])
        except FileNotFoundError:
            pass
        except (ValueError, KeyError, TypeError, OSError) as exc:
            LOG.warning('Console state %s is unreadable (%s); starting '
                        'afresh: console URLs handed out before no longer '
                        'work', self.path, exc)
        if self.key is None:
            self.key = secrets.token_bytes(32)
        return self

    def save(self, port):
        self.port = port
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        temp = self.path + '.tmp'
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            json.dump({'port': port, 'key': self.key.hex()}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, self.path)


def _signature(key, instance_uuid, shell):
    message = ('%s\n%s' % (instance_uuid, shell)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def path_for(key, instance_uuid, shell):
    """The CONNECT path of an instance's console."""
    return '/%s?%s' % (instance_uuid, urlparse.urlencode(
        {'shell': shell, 'sig': _signature(key, instance_uuid, shell)}))


def parse_path(key, path):
    """(instance uuid, shell) of a path from :func:`path_for`."""
    parsed = urlparse.urlsplit(path)
    instance_uuid = parsed.path.lstrip('/')
    query = urlparse.parse_qs(parsed.query)
    shell = query.get('shell', [''])[0]
    signature = query.get('sig', [''])[0]
    if not (instance_uuid and shell and hmac.compare_digest(
            signature, _signature(key, instance_uuid, shell))):
        raise BadPathError('a path this host did not sign, for %r'
                           % instance_uuid[:36])
    return instance_uuid, shell
