"""Connections to the engine's unix socket that become byte streams.

A container's terminal (``attach``, ``exec start``) is an HTTP request
that the engine upgrades into a raw two-way stream. This is done here,
on a socket of its own, rather than through the Docker SDK's hijacked
socket, which loses whatever the engine sent along with its answer's
headers (a shell's first prompt). This module knows HTTP and sockets
only; ``engine.py`` decides what an answer means for Nova.
"""
import json
import socket
from urllib import parse as urlparse

_MAX_HEAD = 64 * 1024


class Answer:
    """The engine's answer to an upgrade: status, reason, what followed."""

    def __init__(self, status, reason, rest):
        self.status = status
        self.reason = reason
        self.rest = rest

    @property
    def upgraded(self):
        return self.status in (101, 200)

    @property
    def message(self):
        """The engine's error ``message`` (JSON body), or the reason."""
        try:
            return json.loads(self.rest.decode('utf-8', 'replace'))['message']
        except (ValueError, KeyError, TypeError):
            return self.reason


class EngineStream:
    """A container terminal's bytes, both ways, on a connection of its own.

    ``pending`` holds what came with the engine's answer, to be read first.
    """

    def __init__(self, sock, pending=b''):
        self.sock = sock
        self.pending = pending

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def upgrade(socket_path, api_version, path, query, body, timeout):
    """POST ``path`` asking for an upgrade: ``(Answer, EngineStream)``.

    The stream is None unless the engine upgraded the connection (then
    ``Answer.rest`` is its first bytes). Raises OSError when the engine
    cannot be reached or hangs up before it has answered.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(socket_path)
        payload = json.dumps(body).encode() if body is not None else b''
        sock.sendall((
            'POST /v%s%s?%s HTTP/1.1\r\nHost: engine\r\n'
            'Connection: Upgrade\r\nUpgrade: tcp\r\n'
            'Content-Type: application/json\r\nContent-Length: %d'
            '\r\n\r\n' % (api_version, path, urlparse.urlencode(query),
                          len(payload))).encode() + payload)
        answer = _read_answer(sock)
    except OSError:
        sock.close()
        raise
    if not answer.upgraded:
        sock.close()
        return answer, None
    sock.settimeout(None)
    return answer, EngineStream(sock, answer.rest)


def _read_answer(sock):
    """The status line and what came after the head of an HTTP answer."""
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = sock.recv(4096)
        if not chunk or len(data) > _MAX_HEAD:
            raise OSError('the engine closed the connection in its answer')
        data += chunk
    head, rest = data.split(b'\r\n\r\n', 1)
    status_line = head.split(b'\r\n', 1)[0].decode('latin-1').split(' ', 2)
    return Answer(int(status_line[1]), ''.join(status_line[2:]), rest)
