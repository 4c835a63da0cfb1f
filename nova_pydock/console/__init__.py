"""Nova's serial console into a server's container.

:mod:`.rule` says which process a console reaches, :mod:`.access` where
the host listens and how a connection names its instance,
:mod:`.listener` accepts nova-serialproxy's connections, and
:mod:`.session` bridges each one to the container's terminal.
:class:`SerialConsoles` is what the driver calls.
"""
from nova import exception
import nova.conf  # noqa: F401 ([serial_console] options)
from nova.console import type as console_type
from oslo_log import log as logging

from nova_pydock import conf as pydock_conf
from nova_pydock.console import access
from nova_pydock.console import listener as console_listener
from nova_pydock.console import rule

LOG = logging.getLogger(__name__)
CONF = pydock_conf.CONF


class SerialConsoles:
    """The serial consoles of one compute host."""

    def __init__(self, engine):
        self._engine = engine
        self._listener = None
        self._key = None

    def start(self, host):
        """Listen (again) for the host's consoles, if they are enabled."""
        self.stop()
        if not CONF.serial_console.enabled:
            return
        opts = CONF.serial_console
        state = access.HostState(CONF.state_path, host).load()
        listener = console_listener.Listener(
            self._engine, state.key, CONF.pydock.console_send_timeout)
        port = listener.listen(opts.proxyclient_address,
                               access.port_range(opts.port_range),
                               preferred=state.port)
        if state.port is not None and port != state.port:
            LOG.warning('Serial console port %(old)d is taken; listening '
                        'on %(new)d: console URLs handed out before no '
                        'longer work', {'old': state.port, 'new': port})
        state.save(port)
        self._listener, self._key = listener, state.key
        LOG.info('Serial consoles of host %(host)s on %(addr)s:%(port)d',
                 {'host': host, 'addr': opts.proxyclient_address,
                  'port': port})

    def stop(self):
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def console_for(self, instance):
        """The ``ConsoleSerial`` Nova keeps with the console's token."""
        if self._listener is None:
            raise exception.ConsoleTypeUnavailable(console_type='serial')
        shell = rule.shell_for(instance.system_metadata)
        return console_type.ConsoleSerial(
            host=CONF.serial_console.proxyclient_address,
            port=self._listener.port,
            internal_access_path=access.path_for(self._key, instance.uuid,
                                                 shell))

    def disconnect(self, instance):
        """End the instance's console session (its container goes)."""
        if self._listener is not None:
            self._listener.disconnect(instance.uuid, 'the server is deleted')

    def wants_terminal(self, image_ref, command=None):
        """Whether a container of ``image_ref`` gets a terminal (the
        process is a shell); ``command`` replaces the image's CMD."""
        config = self._engine.inspect_image(image_ref).get('Config') or {}
        return rule.is_shell(rule.process_argv(
            config.get('Entrypoint'), config.get('Cmd'), command))
