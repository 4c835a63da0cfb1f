"""The TCP listener of a compute host's serial consoles.

nova-serialproxy connects, sends ``CONNECT <path> HTTP/1.1`` with the
path Nova keeps with the console token, and relays bytes once the answer
is ``200``. A path this host did not sign is refused (``403``). Anything
wrong with the server itself (not running, paused, no shell, its console
already in use) is said on the console, after the ``200``, so that the
user reads it rather than a closed connection.

One thread accepts; every connection gets a thread for its request (at
most ``MAX_PENDING`` at a time, each for at most ``REQUEST_TIMEOUT``
seconds), then the threads of its :class:`~.session.Session`.
"""
import collections
import socket
import threading

from oslo_log import log as logging

from nova_pydock import container
from nova_pydock import engine as engine_client
from nova_pydock.console import access
from nova_pydock.console import rule
from nova_pydock.console import session as console_session

LOG = logging.getLogger(__name__)
MAX_PENDING = 32
REQUEST_TIMEOUT = 10.0
_MAX_REQUEST = 4096
_OK = b'HTTP/1.1 200 OK\r\n\r\n'
_FORBIDDEN = b'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'
_BAD_REQUEST = b'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'
_Instance = collections.namedtuple('_Instance', 'uuid')


class RefusedError(Exception):
    """Why a console cannot open; said on the console."""


class Listener:
    """Accepts console connections for every instance of one host."""

    def __init__(self, engine, key, send_timeout):
        self._engine = engine
        self._key = key
        self._send_timeout = send_timeout
        self._sessions = {}
        self._lock = threading.Lock()
        self._pending = threading.BoundedSemaphore(MAX_PENDING)
        self._sock = None
        self.port = None

    def listen(self, address, ports, preferred=None):
        """Bind the first free port of ``ports``, ``preferred`` first."""
        candidates = list(ports)
        if preferred in candidates:
            candidates.remove(preferred)
            candidates.insert(0, preferred)
        for port in candidates:
            sock = socket.socket(socket.AF_INET6 if ':' in address
                                 else socket.AF_INET)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((address, port))
            except OSError:
                sock.close()
                continue
            sock.listen(64)
            sock.settimeout(1.0)
            self._sock, self.port = sock, port
            threading.Thread(target=self._accept, args=(sock,), daemon=True,
                             name='pydock-console-listener-%d' % port
                             ).start()
            return port
        raise OSError('no free port on %s in [serial_console] port_range'
                      % address)

    def stop(self):
        """Stop listening; end every session (and its shell) at once.

        nova-compute calls this while it stops, in its last moments:
        nothing here waits: sessions end in threads of their own.
        """
        sock, self._sock = self._sock, None
        if sock is not None:
            # Wakes the accept thread and frees the port at once (Linux).
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        with self._lock:
            sessions = list(self._sessions.values())
        for active in filter(None, sessions):
            threading.Thread(target=active.end,
                             args=('the compute service is stopping',),
                             daemon=True).start()

    def disconnect(self, instance_uuid, reason):
        """End the instance's session, if it has one."""
        with self._lock:
            active = self._sessions.get(instance_uuid)
        if active is not None:
            active.end(reason, hang_up=False)

    def _accept(self, sock):
        while self._sock is sock:
            try:
                client, peer = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            if not self._pending.acquire(blocking=False):
                LOG.warning('Console connection from %s refused: %d '
                            'requests pending', peer, MAX_PENDING)
                client.close()
                continue
            threading.Thread(target=self._serve, args=(client,),
                             daemon=True).start()

    def _serve(self, client):
        try:
            client.settimeout(REQUEST_TIMEOUT)
            instance_uuid, shell = self._read_request(client)
            client.sendall(_OK)
        except (OSError, access.BadPathError, ValueError) as exc:
            LOG.warning('Console request refused: %s', exc)
            client.close()
            return
        finally:
            self._pending.release()
        try:
            self._open(client, instance_uuid, shell)
        except (RefusedError, engine_client.ContainerNotFound,
                engine_client.ContainerConflict, engine_client.EngineError,
                engine_client.EngineUnavailable) as exc:
            message = getattr(exc, 'format_message', exc.__str__)()
            LOG.info('Console of %s not opened: %s', instance_uuid, message)
            try:
                client.sendall(console_session.notice(message))
            except OSError:
                pass
            client.close()
        except Exception:
            LOG.exception('Console of %s failed', instance_uuid)
            client.close()

    def _read_request(self, client):
        """(instance uuid, shell) of a ``CONNECT`` request; answers 4xx."""
        data = b''
        while b'\r\n\r\n' not in data:
            chunk = client.recv(_MAX_REQUEST)
            if not chunk or len(data) + len(chunk) > _MAX_REQUEST:
                raise ValueError('no complete CONNECT request')
            data += chunk
        words = data.split(b'\r\n', 1)[0].decode('latin-1').split()
        if len(words) != 3 or words[0] != 'CONNECT':
            client.sendall(_BAD_REQUEST)
            raise ValueError('not a CONNECT request: %r' % words[:1])
        try:
            return access.parse_path(self._key, words[1])
        except access.BadPathError:
            client.sendall(_FORBIDDEN)
            raise

    def _open(self, client, instance_uuid, shell):
        name = container.name_for(_Instance(instance_uuid))
        with self._lock:
            if instance_uuid in self._sessions:
                raise RefusedError('the console of this server is in use by '
                              'another connection; close that one first')
            self._sessions[instance_uuid] = None
        try:
            active, banner = self._attach(client, name, shell)
        except BaseException:
            with self._lock:
                del self._sessions[instance_uuid]
            raise
        with self._lock:
            self._sessions[instance_uuid] = active
        LOG.info('Console session of %s opened', name)
        active.start(banner)

    def _ended(self, instance_uuid, active):
        with self._lock:
            if self._sessions.get(instance_uuid) is active:
                del self._sessions[instance_uuid]

    def _attach(self, client, name, shell):
        """The session the rule gives (see :mod:`.rule`), and its banner."""
        try:
            details = self._engine.inspect_container(name)
        except engine_client.ContainerNotFound:
            raise RefusedError('this server has no container on this host') \
                from None
        state, config = details['State'], details['Config']
        if state.get('Paused'):
            raise RefusedError('the server is paused; unpause it first')
        if not state.get('Running'):
            raise RefusedError('the server is not running; start it first')
        uuid = name[len('nova-'):]

        def on_end(ended):
            self._ended(uuid, ended)

        if config.get('Tty') and config.get('OpenStdin'):
            stream = self._engine.attach(name)
            banner = console_session.notice(
                "the server's own terminal: its process is this shell, "
                "exit shuts the server off; press Enter for a prompt")
            return console_session.Session(
                client, stream, name, self._send_timeout, on_end), banner
        problem = rule.shell_problem(shell)
        if problem:
            raise RefusedError(problem)
        if not self._engine.file_exists(name, shell):
            raise RefusedError('this image has no shell %s: set the image '
                          'property %s to a shell it has (the console log '
                          'still works)' % (shell, rule.IMAGE_PROPERTY))
        exec_id, stream = self._engine.exec_terminal(
            name, [shell], environment=['TERM=xterm'])
        banner = console_session.notice(
            'a shell of its own (%s) in the server; the server\'s process '
            'keeps running; the shell ends with this connection' % shell)
        return console_session.Session(
            client, stream, name, self._send_timeout, on_end,
            engine=self._engine, exec_id=exec_id, shell=shell), banner
