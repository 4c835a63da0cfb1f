"""``pydock-console SERVER``: a server's serial console in this terminal.

Asks the ``openstack`` CLI for the console URL (``openstack console url
show --serial``, with the ``--os-cloud`` given or the usual ``OS_*``
settings), or takes a ``ws://``/``wss://`` URL as it is, then relays the
terminal over the websocket: raw mode, so that line editing, Ctrl-C and
full-screen programs reach the server. Ctrl-] leaves.
"""
import argparse
import os
import select
import subprocess
import sys
import termios
import tty

import websocket

LEAVE = b'\x1d'  # Ctrl-]
CHUNK = 64 * 1024


def console_url(server, cloud=None):
    """The serial console URL of ``server``, from the ``openstack`` CLI."""
    if server.startswith(('ws://', 'wss://')):
        return server
    command = ['openstack']
    if cloud:
        command += ['--os-cloud', cloud]
    command += ['console', 'url', 'show', '--serial', server,
                '-f', 'value', '-c', 'url']
    try:
        done = subprocess.run(command, capture_output=True, text=True,
                              check=False)
    except FileNotFoundError:
        raise SystemExit('pydock-console: the openstack CLI is not '
                         'installed; pass the ws:// URL of "openstack '
                         'console url show --serial" instead') from None
    if done.returncode:
        raise SystemExit('pydock-console: %s' % (done.stderr.strip()
                                                 or 'openstack failed'))
    return done.stdout.strip()


def _buffered(sock):
    """Bytes a TLS socket has decrypted already (select cannot see them)."""
    return getattr(sock, 'pending', lambda: 0)()


def relay(ws, stdin_fd, stdout_fd):
    """Copy both ways until the console closes or the user leaves."""
    while True:
        timeout = 0 if _buffered(ws.sock) else None
        ready = select.select([stdin_fd, ws.sock], [], [], timeout)[0]
        if stdin_fd in ready:
            data = os.read(stdin_fd, CHUNK)
            if not data or LEAVE in data:
                before = data.split(LEAVE, 1)[0]
                if before:
                    ws.send_binary(before)
                return 'left'
            ws.send_binary(data)
        if ws.sock in ready or _buffered(ws.sock):
            opcode, data = ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return 'closed'
            if opcode in (websocket.ABNF.OPCODE_BINARY,
                          websocket.ABNF.OPCODE_TEXT):
                os.write(stdout_fd, data)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='pydock-console',
        description="A server's serial console in this terminal "
                    "(Ctrl-] leaves).")
    parser.add_argument('server', help='server name or ID, or the ws:// '
                        'URL of "openstack console url show --serial"')
    parser.add_argument('--os-cloud', default=os.environ.get('OS_CLOUD'),
                        help='cloud of clouds.yaml (default: $OS_CLOUD)')
    args = parser.parse_args(argv)
    url = console_url(args.server, args.os_cloud)
    try:
        ws = websocket.create_connection(url, subprotocols=['binary'])
    except (websocket.WebSocketException, OSError) as exc:
        raise SystemExit('pydock-console: cannot open %s: %s'
                         % (url.split('?')[0], exc)) from None
    stdin_fd, stdout_fd = sys.stdin.fileno(), sys.stdout.fileno()
    saved = termios.tcgetattr(stdin_fd) if os.isatty(stdin_fd) else None
    if saved is not None:
        sys.stderr.write('Connected; Ctrl-] leaves.\r\n')
        tty.setraw(stdin_fd)
    try:
        how = relay(ws, stdin_fd, stdout_fd)
    finally:
        if saved is not None:
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved)
        ws.close()
    sys.stderr.write('\r\npydock-console: %s\n' % (
        'left the console' if how == 'left' else 'the console closed'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
