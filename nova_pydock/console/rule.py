"""Which process a server's serial console reaches (pure logic).

* The container's own process is a shell (``/bin/sh``, ``bash -l``, ...,
  not ``sh -c COMMAND``): the container gets a terminal at creation and
  the console is that terminal. ``exit`` ends the process, so the server
  shuts off, as a VM does when shut down from inside.
* Any other process (a service): each console session gets a shell of
  its own in the container, ``/bin/sh`` or the one the image property
  ``pydock_console_shell`` names; the service keeps running and the
  shell ends with the session.
* A container without that shell: the console says so and closes.
"""
import os

SHELLS = frozenset(['sh', 'ash', 'bash', 'dash', 'ksh', 'mksh', 'zsh',
                    'fish', 'csh', 'tcsh', 'yash'])
IMAGE_PROPERTY = 'pydock_console_shell'
DEFAULT_SHELL = '/bin/sh'
_MAX_SHELL = 128


def process_argv(entrypoint, cmd, command=None):
    """The container's process as the engine will start it.

    ``command`` (the image property ``os_command_line``) replaces the
    image's CMD and keeps its ENTRYPOINT, as ``docker run IMAGE ARGS``.
    """
    return list(entrypoint or []) + list(command or cmd or [])


def is_shell(argv):
    """Whether ``argv`` starts an interactive shell, not a script."""
    if not argv:
        return False
    args = list(argv)
    if os.path.basename(args[0]) == 'busybox' and len(args) > 1:
        args = args[1:]
    if os.path.basename(args[0]) not in SHELLS:
        return False
    # Options only (-l, -i, --login): anything else is a script or -c.
    for arg in args[1:]:
        if not arg.startswith('-'):
            return False
        if not arg.startswith('--') and 'c' in arg[1:]:
            return False
    return True


def shell_for(system_metadata):
    """The shell a service image's console starts (image property)."""
    return (system_metadata or {}).get('image_' + IMAGE_PROPERTY) \
        or DEFAULT_SHELL


def shell_problem(shell):
    """Why ``shell`` cannot be exec'd as a console shell, or None."""
    if (not shell.startswith('/') or len(shell) > _MAX_SHELL
            or any(c.isspace() or c == '\0' for c in shell)):
        return ('the image property %s must be an absolute path without '
                'spaces (at most %d characters), not %r'
                % (IMAGE_PROPERTY, _MAX_SHELL, shell))
    return None
