"""Serial consoles on the real engine, through a raw TCP connection.

The connections are those nova-serialproxy makes: to the host and port of
the driver's ``ConsoleSerial``, opened with ``CONNECT <its path>``.
"""
import io
import os
import tarfile
import time
import uuid

import fixtures
from nova.compute import power_state
from nova.virt import fake as fake_virt

import busybox_image
from nova_pydock import driver as pydock_driver
from nova_pydock import engine as engine_client
from tests import console as console_client
from tests import images
from tests.functional import driver_base
from tests.functional import test_engine_restart

PORTS = '16100:16400'
WAIT = 20


def no_shell_archive(api, directory):
    """A ``docker save`` archive of an image with busybox and no shell."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        for directory_name in ('bin', 'tmp', 'proc', 'sys', 'dev'):
            info = tarfile.TarInfo(directory_name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        with open(busybox_image.BUSYBOX, 'rb') as f:
            data = f.read()
        info = tarfile.TarInfo('bin/busybox')
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    ref = '%s:noshell-%s' % (images.BASE_REPOSITORY, uuid.uuid4().hex[:8])
    repository, tag = ref.split(':')
    api.import_image_from_data(
        buf.getvalue(), repository=repository, tag=tag,
        changes=['CMD ["/bin/busybox", "sleep", "3600"]'])
    try:
        return images.save_archive(api, ref,
                                   os.path.join(directory, 'noshell.tar'))
    finally:
        images.remove_if_present(api, ref)


class ConsoleTestCase(driver_base.DriverTestCase):
    """A driver whose host serves serial consoles."""

    def setUp(self):
        super().setUp()
        self.state_dir = self.useFixture(fixtures.TempDir()).path
        self.conf.config(state_path=self.state_dir)
        self.conf.config(enabled=True, port_range=PORTS,
                         proxyclient_address='127.0.0.1',
                         group='serial_console')
        self.driver.init_host(self.host)

    def instance(self, **kw):
        instance = super().instance(**kw)
        instance.system_metadata = {}
        return instance

    def spawn_shell_image(self):
        meta = self.glance.add(str(uuid.uuid4()),
                               source_path=self.base_archive,
                               properties={'os_command_line': '/bin/sh'})
        return self.spawn(image_meta=meta)

    def connect(self, instance):
        client = console_client.RawConsole.of(
            self.driver.get_serial_console(self.context, instance))
        self.addCleanup(client.close)
        self.assertEqual(200, client.status)
        return client

    def processes(self, instance):
        """Command lines of the processes in the instance's container."""
        top = self.api.top('nova-%s' % instance.uuid)
        index = top['Titles'].index('CMD')
        return [row[index] for row in top['Processes']]

    def wait_for(self, predicate, what):
        deadline = time.monotonic() + WAIT
        while not predicate():
            if time.monotonic() > deadline:
                self.fail('%s did not happen in %ss' % (what, WAIT))
            time.sleep(0.2)

    def wait_power_state(self, instance, state):
        self.wait_for(lambda: self.driver.get_info(instance).state == state,
                      'power state %s' % state)


class TestShellImage(ConsoleTestCase):
    """The process is a shell: the console is its own terminal."""

    def test_console_is_the_process_terminal_and_exit_shuts_off(self):
        instance = self.spawn_shell_image()
        details = self.inspect(instance)
        self.assertTrue(details['Config']['Tty'])
        self.assertTrue(details['Config']['OpenStdin'])
        console = self.connect(instance)
        console.read_until(b"the server's own terminal")
        console.run('echo hello-$((40+2))', 'hello-42')
        console.close()
        # Leaving keeps the server (and its shell) running.
        time.sleep(0.5)
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(instance).state)
        # The same process on reconnection: its shell variable is there.
        console = self.connect(instance)
        console.run('KEPT=yes-$((1+1))', '#')
        console.close()
        console = self.connect(instance)
        console.run('echo kept:$KEPT', 'kept:yes-2')
        # The console log has what the terminal showed (one stream).
        self.assertIn(b'hello-42',
                      self.driver.get_console_output(self.context, instance))
        console.sock.sendall(b'exit\n')
        self.assertIn(b"the server's process ended", console.read_to_end())
        self.wait_power_state(instance, power_state.SHUTDOWN)

        # Start again: a fresh shell on the console.
        self.driver.power_on(self.context, instance, [])
        console = self.connect(instance)
        console.run('echo again-$((2*3))', 'again-6')

    def test_stopped_and_paused_servers_say_so(self):
        instance = self.spawn_shell_image()
        self.driver.pause(instance)
        self.assertIn(b'the server is paused',
                      self.connect(instance).read_to_end())
        self.driver.unpause(instance)
        self.driver.power_off(instance, timeout=1)
        self.assertIn(b'the server is not running',
                      self.connect(instance).read_to_end())
        self.driver.reboot(self.context, instance, [], 'HARD')
        self.connect(instance).run('echo rebooted-$((3*3))', 'rebooted-9')


class TestServiceImage(ConsoleTestCase):
    """A service: each session gets a shell of its own, the service stays."""

    def test_console_is_a_shell_of_its_own(self):
        instance = self.spawn()
        self.assertFalse(self.inspect(instance)['Config']['Tty'])
        service = self.processes(instance)
        console = self.connect(instance)
        console.read_until(b'a shell of its own (/bin/sh)')
        console.run('echo $((6*7)) > /tmp/answer; cat /tmp/answer', '42')
        self.assertIn('sleep 3600', self.processes(instance))
        self.assertIn('/bin/sh', self.processes(instance))
        # A job the shell left running ends with the session too (busybox
        # runs its applets in a fork of the shell: a second /bin/sh).
        console.run('sleep 777 & echo started-$((5+5))', 'started-10')
        self.assertEqual(len(service) + 2, len(self.processes(instance)))
        console.close()
        self.wait_for(lambda: self.processes(instance) == service,
                      'the end of the console shell and its job')
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(instance).state)
        self.assertIn('sleep 3600', self.processes(instance))
        # Reconnect: a new shell, the same container's files.
        self.connect(instance).run('cat /tmp/answer; echo end-$((1+1))',
                                   'end-2')

    def test_shell_named_by_image_property(self):
        instance = self.instance()
        instance.system_metadata['image_pydock_console_shell'] = '/bin/ash'
        self.spawn(instance)
        console = self.connect(instance)
        console.read_until(b'a shell of its own (/bin/ash)')
        console.run('echo ash-$((4+4))', 'ash-8')
        self.assertIn('/bin/ash', self.processes(instance))

    def test_second_connection_is_refused_with_a_message(self):
        instance = self.spawn()
        first = self.connect(instance)
        first.run('echo first-$((1+2))', 'first-3')
        second = self.connect(instance)
        self.assertIn(b'in use by another connection', second.read_to_end())
        # The first one was not disturbed.
        first.run('echo still-$((2+2))', 'still-4')
        first.close()
        self.wait_for(lambda: '/bin/sh' not in self.processes(instance),
                      'the end of the first session')
        self.connect(instance).run('echo third-$((3+3))', 'third-6')

    def test_image_without_a_shell_says_so(self):
        archive = no_shell_archive(
            self.api, self.useFixture(fixtures.TempDir()).path)
        meta = self.glance.add(str(uuid.uuid4()), source_path=archive)
        instance = self.spawn(image_meta=meta)
        output = self.connect(instance).read_to_end()
        self.assertIn(b'this image has no shell /bin/sh', output)
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(instance).state)

    def test_a_path_this_host_did_not_sign_is_forbidden(self):
        instance = self.spawn()
        console = self.driver.get_serial_console(self.context, instance)
        forged = console.internal_access_path.replace('sig=', 'sig=0')
        client = console_client.RawConsole(console.host, console.port,
                                           forged)
        self.addCleanup(client.close)
        self.assertEqual(403, client.status)
        other = self.instance()
        client = console_client.RawConsole(
            console.host, console.port,
            console.internal_access_path.replace(instance.uuid, other.uuid))
        self.addCleanup(client.close)
        self.assertEqual(403, client.status)


class TestHost(ConsoleTestCase):
    """One listener per host: its port, restarts, destroy, slow clients."""

    def test_listener_binds_the_proxyclient_address_only(self):
        instance = self.spawn()
        console = self.driver.get_serial_console(self.context, instance)
        self.assertEqual('127.0.0.1', console.host)
        self.assertIn(console.port, range(16100, 16400))
        with open('/proc/net/tcp') as f:
            listening = [line.split()[1] for line in f.readlines()[1:]
                         if line.split()[3] == '0A']
        self.assertIn('0100007F:%04X' % console.port, listening)
        self.assertNotIn('00000000:%04X' % console.port, listening)

    def test_same_port_and_path_after_a_nova_compute_restart(self):
        instance = self.spawn()
        before = self.driver.get_serial_console(self.context, instance)
        self.driver.cleanup_host(self.host)
        restarted = pydock_driver.PyDockDriver(fake_virt.FakeVirtAPI())
        restarted.init_host(self.host)
        self.addCleanup(restarted.cleanup_host, self.host)
        after = restarted.get_serial_console(self.context, instance)
        # What validate_console_port compares, and a token's path still
        # opens the console.
        self.assertEqual(before.port, after.port)
        client = console_client.RawConsole.of(before)
        self.addCleanup(client.close)
        self.assertEqual(200, client.status)
        client.run('echo restarted-$((7*6))', 'restarted-42')

    def test_destroy_ends_the_session_and_keeps_the_listener(self):
        instance, other = self.spawn(), self.spawn()
        console = self.connect(instance)
        console.run('echo up-$((1+1))', 'up-2')
        path = self.driver.get_serial_console(self.context, instance)
        self.driver.destroy(self.context, instance, [])
        console.read_to_end()
        client = console_client.RawConsole.of(path)
        self.addCleanup(client.close)
        self.assertIn(b'no container on this host', client.read_to_end())
        self.assertEqual(
            path.port,
            self.driver.get_serial_console(self.context, other).port)
        self.connect(other).run('echo other-$((2+5))', 'other-7')

    def test_a_client_that_never_reads_loses_only_its_session(self):
        self.conf.config(console_send_timeout=4, group='pydock')
        self.driver.init_host(self.host)
        flooded, other = self.spawn(), self.spawn()
        service = self.processes(flooded)
        reader = self.connect(flooded)
        reader.read_until(b'a shell of its own')
        reader.sock.sendall(b'yes flood-flood-flood-flood\n')
        # The shell and its fork running yes.
        self.wait_for(lambda: len(self.processes(flooded)) == len(service)
                      + 2, 'the flood')
        started = time.monotonic()
        # While nobody reads the flood: another console and the driver
        # answer at once.
        console = self.connect(other)
        console.run('echo free-$((8+1))', 'free-9')
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(flooded).state)
        # The flood was still on, unread, all that time.
        self.assertEqual(len(service) + 2, len(self.processes(flooded)))
        # The non-reading session ends after the send timeout, its flood
        # with it; the server itself runs on.
        self.wait_for(lambda: self.processes(flooded) == service,
                      'the end of the flooded session')
        self.assertGreaterEqual(time.monotonic() - started, 3)
        console.run('echo still-$((8+2))', 'still-10')
        self.connect(flooded).run('echo back-$((9+9))', 'back-18')


class TestEngineRestart(test_engine_restart.PrivateEngineTestCase):
    """Consoles of a private engine's servers, before and after it
    restarts (and nova-compute with it)."""

    def setUp(self):
        super().setUp()
        self.conf.config(state_path=self.useFixture(fixtures.TempDir()).path)
        self.conf.config(enabled=True, port_range=PORTS,
                         proxyclient_address='127.0.0.1',
                         group='serial_console')
        self.driver.init_host(self.host)

    def test_consoles_work_again_after_an_engine_restart(self):
        shell_meta = self.glance.add(
            str(uuid.uuid4()), source_path=self.base_archive,
            properties={'os_command_line': '/bin/sh'})
        shell_server = self.instance()
        shell_server.system_metadata = {}
        self.spawn(shell_server, image_meta=shell_meta)
        service = self.instance()
        service.system_metadata = {}
        self.spawn(service)
        before = self.driver.get_serial_console(self.context, service)
        for instance in (shell_server, service):
            client = console_client.RawConsole.of(
                self.driver.get_serial_console(self.context, instance))
            client.run('echo before-$((1+4))', 'before-5')
            client.close()

        self.assertTrue(self.engine.stop(), 'dockerd did not stop')
        self.engine.start()
        self.driver.init_host(self.host)
        for instance in (shell_server, service):
            self.driver.resume_state_on_host_boot(self.context, instance,
                                                  [], None)
        after = self.driver.get_serial_console(self.context, service)
        self.assertEqual(before.port, after.port)
        for instance in (shell_server, service):
            client = console_client.RawConsole.of(
                self.driver.get_serial_console(self.context, instance))
            self.addCleanup(client.close)
            client.run('echo after-$((2+4))', 'after-6')


class TestEngineCalls(ConsoleTestCase):
    """The engine client's console calls and their errors."""

    def test_attach_and_exec_errors_are_translated(self):
        engine = self.driver._engine
        self.assertRaises(engine_client.ContainerNotFound, engine.attach,
                          'nova-%s' % uuid.uuid4())
        instance = self.spawn(power_on=False)
        name = 'nova-%s' % instance.uuid
        self.assertRaises(engine_client.ContainerConflict,
                          engine.exec_terminal, name, ['/bin/sh'])
        self.assertTrue(engine.file_exists(name, '/bin/sh'))
        self.assertFalse(engine.file_exists(name, '/bin/no-such-shell'))
        self.assertRaises(engine_client.ContainerNotFound,
                          engine.file_exists, 'nova-%s' % uuid.uuid4(),
                          '/bin/sh')

    def test_exec_terminal_keeps_what_came_with_the_answer(self):
        instance = self.spawn()
        exec_id, stream = self.driver._engine.exec_terminal(
            'nova-%s' % instance.uuid, ['/bin/echo', 'first-bytes'])
        self.addCleanup(stream.close)
        data = stream.pending
        while not data.endswith(b'\n'):
            chunk = stream.sock.recv(4096)
            if not chunk:
                break
            data += chunk
        self.assertEqual(b'first-bytes\r\n', data)
        self.wait_for(lambda: not self.driver._engine.exec_state(
            exec_id)['Running'], 'the end of echo')
        self.assertEqual(0, self.driver._engine.exec_state(exec_id)[
            'ExitCode'])
