"""A raw TCP console client, as nova-serialproxy talks to the driver."""
import socket
import time

TIMEOUT = 20


class RawConsole:
    """``CONNECT <path>``, then the console's bytes, both ways."""

    def __init__(self, host, port, path, timeout=TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.sendall(b'CONNECT %s HTTP/1.1\r\n\r\n' % path.encode())
        self.output = b''
        head = self.read_until(b'\r\n\r\n', timeout)
        self.status = int(head.split(b' ', 2)[1])
        self.output = self.output.split(b'\r\n\r\n', 1)[1]

    @classmethod
    def of(cls, console, **kw):
        """Connect to a ``nova.console.type.ConsoleSerial``."""
        return cls(console.host, console.port, console.internal_access_path,
                   **kw)

    def read_until(self, text, timeout=TIMEOUT):
        """Everything read so far, once it holds ``text``."""
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if time.monotonic() > deadline:
                raise AssertionError('%r not seen in %ss; got %r'
                                     % (text, timeout, self.output[-500:]))
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                raise AssertionError('console closed before %r; got %r'
                                     % (text, self.output[-500:]))
            self.output += chunk
        return self.output

    def read_to_end(self, timeout=TIMEOUT):
        """Everything until the console closes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                return self.output
            if not chunk:
                return self.output
            self.output += chunk
        raise AssertionError('console still open after %ss; got %r'
                             % (timeout, self.output[-500:]))

    def run(self, command, marker):
        """Type ``command``; wait for ``marker`` in the output."""
        self.sock.sendall(command.encode() + b'\n')
        return self.read_until(marker.encode())

    def close(self):
        self.sock.close()
