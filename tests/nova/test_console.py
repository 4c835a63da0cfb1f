"""Serial consoles through Nova's API and Nova's own websocket proxy.

``POST /servers/{id}/remote-consoles`` (protocol ``serial``) gives a
``ws://`` URL with a token; the proxy here is nova-serialproxy's request
handler (``nova.console.websocketproxy.NovaProxyRequestHandler``), run in
this process on a socket of the test's own, so that the token is
checked against Nova's database and nova-compute's
``validate_console_port`` over RPC, exactly as in nova-serialproxy. The
client is ``websocket-client``, as ``pydock-console`` uses.
"""
import os
import pty
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import termios
import threading
import time

import fixtures
from nova import utils
from nova.console import websocketproxy
import websocket

from tests.nova import base

PORTS = '16500:16800'
WAIT = 30


class SerialProxy:
    """nova-serialproxy's handler on a loopback port, one thread a client."""

    def __init__(self):
        self._proxy = websocketproxy.NovaWebSocketProxy(
            listen_host='127.0.0.1', listen_port=0, file_only=True,
            RequestHandlerClass=websocketproxy.NovaProxyRequestHandler)
        self._sock = socket.create_server(('127.0.0.1', 0))
        self._sock.settimeout(0.5)
        self.port = self._sock.getsockname()[1]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stopped.is_set():
            try:
                client, address = self._sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._handle, args=(client, address),
                             daemon=True).start()

    def _handle(self, client, address):
        try:
            self._proxy.top_new_client(client, address)
        finally:
            client.close()

    def stop(self):
        self._stopped.set()
        self._thread.join(5)
        self._sock.close()


class WebConsole:
    """A websocket console: what a user's terminal sends and shows."""

    def __init__(self, url):
        self.ws = websocket.create_connection(url, timeout=WAIT,
                                              subprotocols=['binary'])
        self.output = b''

    def read_until(self, text):
        deadline = time.monotonic() + WAIT
        while text not in self.output:
            if time.monotonic() > deadline:
                raise AssertionError('%r not seen; got %r'
                                     % (text, self.output[-500:]))
            opcode, data = self.ws.recv_data()
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                raise AssertionError('console closed before %r; got %r'
                                     % (text, self.output[-500:]))
            self.output += data
        return self.output

    def run(self, command, marker):
        self.ws.send_binary(command.encode() + b'\n')
        return self.read_until(marker.encode())

    def close(self):
        self.ws.close()


class SerialConsoleTestCase(base.PyDockTestCase):
    """Serial consoles enabled, nova-serialproxy's handler running."""

    def setUp(self):
        self.state_dir = tempfile.mkdtemp(prefix='pydock-nova-console-')
        self.addCleanup(shutil.rmtree, self.state_dir, True)
        self.service_flags = {
            'serial_console': {'enabled': True, 'port_range': PORTS},
            None: {'state_path': self.state_dir}}
        super().setUp()
        if not utils.concurrency_mode_threading():
            # nova-serialproxy forks for every client and takes a fresh
            # eventlet hub in the child; here the handler runs in a green
            # thread of this process, whose hub must stay.
            self.useFixture(fixtures.MockPatch('eventlet.hubs.use_hub'))
        self.proxy = SerialProxy()
        self.addCleanup(self.proxy.stop)
        self.flags(base_url='ws://127.0.0.1:%d/' % self.proxy.port,
                   group='serial_console')

    def console_url(self, server):
        body = {'remote_console': {'protocol': 'serial', 'type': 'serial'}}
        answer = self.api.api_post(
            '/servers/%s/remote-consoles' % server['id'], body).body
        return answer['remote_console']

    def open_console(self, server):
        console = WebConsole(self.console_url(server)['url'])
        self.addCleanup(console.close)
        return console


class TestSerialConsole(SerialConsoleTestCase):

    def test_service_server_console_is_a_shell(self):
        server = self.boot(self.service_image('svc')['id'],
                           self.container_flavor())
        remote = self.console_url(server)
        self.assertEqual('serial', remote['protocol'])
        self.assertTrue(remote['url'].startswith(
            'ws://127.0.0.1:%d/?token=' % self.proxy.port), remote)
        console = self.open_console(server)
        console.read_until(b'a shell of its own (/bin/sh)')
        console.run('echo written > /root/by-console; cat /root/by-console; '
                    'echo done-$((20+1))', 'done-21')
        console.close()
        code, output = self.exec_in(server, 'cat', '/root/by-console')
        self.assertEqual((0, b'written\n'), (code, output))
        self.assertEqual('ACTIVE', self.api.get_server(server['id'])
                         ['status'])
        self.delete(server)

    def test_shell_server_exit_makes_it_shutoff(self):
        image = self.docker_image(os_command_line='/bin/sh')
        server = self.boot(image['id'], self.container_flavor())
        console = self.open_console(server)
        console.read_until(b"the server's own terminal")
        console.run('echo from-the-terminal-$((3*4))', 'from-the-terminal-12')
        self.assertIn('from-the-terminal-12', self.console(server))
        console.ws.send_binary(b'exit\n')
        console.read_until(b"the server's process ended")
        self.wait_for(server, 'SHUTOFF')
        self.delete(server)

    def test_token_is_the_only_way_in(self):
        server = self.boot(self.service_image('tok')['id'],
                           self.container_flavor())
        url = self.console_url(server)['url']
        forged = url.split('?token=')[0] + '?token=not-a-token'
        # The proxy refuses it: the connection closes, no console byte.
        console = WebConsole(forged)
        self.addCleanup(console.close)
        error = self.assertRaises(
            (AssertionError, websocket.WebSocketException),
            console.read_until, b'pydock')
        self.assertNotIn('shell', str(error))
        self.assertEqual(b'', console.output)
        # The real token opens it.
        console = WebConsole(url)
        self.addCleanup(console.close)
        console.read_until(b'a shell of its own')
        self.delete(server)


class TestConsoleClient(SerialConsoleTestCase):
    """``pydock-console URL`` in a terminal of its own (a pty)."""

    def test_client_gives_a_raw_terminal_and_ctrl_bracket_leaves(self):
        server = self.boot(self.service_image('cli')['id'],
                           self.container_flavor())
        url = self.console_url(server)['url']
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        before = termios.tcgetattr(slave)
        client = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), 'pydock-console'),
             url], stdin=slave, stdout=slave, stderr=slave)
        self.addCleanup(client.kill)
        seen = b''

        def read_until(text):
            nonlocal seen
            deadline = time.monotonic() + WAIT
            while text not in seen:
                if time.monotonic() > deadline:
                    self.fail('%r not seen; got %r' % (text, seen[-500:]))
                if select.select([master], [], [], 0.5)[0]:
                    seen += os.read(master, 65536)

        read_until(b'Ctrl-] leaves')
        read_until(b'a shell of its own')
        # Raw mode: the carriage return reaches the server's terminal.
        os.write(master, b'echo via-client-$((5*5))\r')
        read_until(b'via-client-25')
        # Ctrl-C goes to the server's foreground process, not the client.
        os.write(master, b'sleep 300\r')
        time.sleep(1)
        os.write(master, b'\x03')
        os.write(master, b'echo after-ctrl-c-$((2*2))\r')
        read_until(b'after-ctrl-c-4')
        self.assertIsNone(client.poll())
        os.write(master, b'\x1d')
        self.assertEqual(0, client.wait(WAIT))
        read_until(b'left the console')
        self.assertEqual(before, termios.tcgetattr(slave))
        os.close(slave)
        self.delete(server)
