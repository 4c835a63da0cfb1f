"""The console log: a container's output, as Nova shows it and as the
engine keeps it.

The engine writes every line a container prints to a log file of its
own, and by default (the json-file driver with no ``log-opts``) nothing
bounds that file: a chatty server fills the engine's disk. The driver
has the engine rotate it at ``[pydock] console_log_file_mb``, keeping one
rotated file besides the current one, so a server's log costs at most
twice that on disk and its recent output is always there to read.
``openstack console log show`` (``get_console_output``) returns the most
recent ``[pydock] console_log_max_bytes`` of it.
"""

# One rotated file besides the current one: just after a rotation, the
# recent output is in both.
_KEPT_FILES = 2


def engine_log_config(conf):
    """The engine's logging of a new container, or None for its own.

    :param conf: the ``[pydock]`` option group.
    :returns: ``{'type': ..., 'config': {...}}`` for the engine, or None
        when ``console_log_file_mb`` is 0: the engine's configured log
        driver and options (daemon.json) then apply as they are.
    """
    if not conf.console_log_file_mb:
        return None
    return {'type': 'json-file',
            'config': {'max-size': '%dm' % conf.console_log_file_mb,
                       'max-file': str(_KEPT_FILES)}}


def recent_output(guest, conf):
    """The last ``console_log_max_bytes`` bytes ``guest`` printed."""
    limit = conf.console_log_max_bytes
    # Lines are at least one byte: this many lines always cover limit.
    return guest.logs(limit)[-limit:]
