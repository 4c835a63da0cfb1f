"""One console connection: a TCP client bridged to a container terminal.

Two threads per session copy bytes, each through a buffer of at most
``CHUNK`` bytes: nothing is queued beyond what the sockets hold. Input
waits for the container to take it (flow control back to the client);
output that the client does not take within the send timeout ends the
session, so a client that never reads loses only its own session and
never holds up the container, other consoles or nova-compute.
"""
import socket
import threading

from oslo_log import log as logging

from nova_pydock.console import hangup

LOG = logging.getLogger(__name__)
CHUNK = 64 * 1024


def notice(text):
    """A line the bridge itself writes on a console."""
    return ('\r\n[pydock: %s]\r\n' % text).encode()


class Session:
    """Bytes both ways between ``client`` and an engine stream.

    ``exec_id`` and ``shell`` are set for a shell started for this
    session (ended with it); ``None`` when the session is attached to the
    container's own process. ``on_end`` is called once, at the end.
    """

    def __init__(self, client, stream, name, send_timeout, on_end,
                 engine=None, exec_id=None, shell=None):
        self.client = client
        self.stream = stream
        self.name = name
        self._send_timeout = send_timeout
        self._on_end = on_end
        self._engine = engine
        self._exec_id = exec_id
        self._shell = shell
        self._ended = threading.Event()
        self._lock = threading.Lock()

    def start(self, banner):
        self.client.settimeout(self._send_timeout)
        self._send_quietly(banner + self.stream.pending)
        for target, role in ((self._output, 'out'), (self._input, 'in')):
            threading.Thread(target=target, daemon=True,
                             name='pydock-console-%s-%s' % (role, self.name)
                             ).start()

    def _output(self):
        """Container -> client, until either side goes."""
        reason = 'the container closed the console'
        try:
            while chunk := self.stream.sock.recv(CHUNK):
                self.client.sendall(chunk)
            reason = ("the server's process ended" if self._exec_id is None
                      else 'the shell ended')
            self._send_quietly(notice(reason))
        except TimeoutError:
            reason = ('the client read nothing for %ss'
                      % self._send_timeout)
        except (OSError, EOFError) as exc:
            # EOFError: eventlet's word for a socket closed under a read.
            reason = 'connection lost (%r)' % exc
        self.end(reason)

    def _input(self):
        """Client -> container; an idle client is not an error."""
        reason = 'the client left'
        try:
            while not self._ended.is_set():
                try:
                    chunk = self.client.recv(CHUNK)
                except TimeoutError:
                    continue
                if not chunk:
                    break
                self.stream.sock.sendall(chunk)
        except (OSError, EOFError) as exc:
            reason = 'connection lost (%r)' % exc
        self.end(reason)

    def _send_quietly(self, data):
        try:
            self.client.sendall(data)
        except OSError:
            pass

    def end(self, reason, hang_up=True):
        """Close both sides once; end the session's own shell."""
        with self._lock:
            if self._ended.is_set():
                return
            self._ended.set()
        LOG.info('Console session of %s ended: %s', self.name, reason)
        for sock in (self.client, self.stream.sock):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.client.close()
        self.stream.close()
        # The server's console is free at once; a new session gets a
        # shell of its own while this one's is being ended.
        self._on_end(self)
        if hang_up and self._exec_id is not None:
            hangup.hang_up(self._engine, self.name, self._exec_id,
                           self._shell)
