"""Start-up shim for every OpenStack service process of ``tools/cloud``.

Two jobs, done before the service reads its configuration:

* argv: the services parse ``sys.argv`` with oslo.config when they start,
  so a WSGI server's own command line (``gunicorn --bind ...``) would
  crash them. The entry point replaces ``sys.argv`` by the service's own
  (``PYDOCK_CLOUD_ARGV``: program name, ``--config-file``, ...).
* SQLite under concurrency: plain SQLite answers ``database is locked``
  as soon as two requests overlap. Every connection gets WAL journal mode
  and a busy timeout, and every transaction starts with
  ``BEGIN IMMEDIATE`` (writers queue on the busy timeout instead of
  failing when a read transaction later wants to write). Connections are
  pooled (``tools/lib/sqlite_pool.py``): with oslo.db's NullPool every
  transaction opened a connection of its own, and closing the last one
  checkpointed the WAL (the conductor's time per boot, sampled with
  py-spy). Other databases are left alone.

WSGI (gunicorn): ``boot:application`` with ``PYDOCK_CLOUD_APP`` naming the
service's WSGI module (``nova.wsgi.osapi_compute``, ...).
Daemons: ``python boot.py package.module:function PROG ARGS...``.
"""
import importlib
import os
import shlex
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'lib'))
import sqlite_pool  # noqa: E402

BUSY_TIMEOUT_MS = int(os.environ.get('PYDOCK_CLOUD_SQLITE_BUSY_MS', '60000'))
_installed = False


def install_sqlite_hook():
    """WAL, busy timeout and BEGIN IMMEDIATE for every SQLite engine."""
    global _installed  # noqa: PLW0603 - once per process
    if _installed:
        return
    _installed = True
    # Imported here, after the service chose its concurrency backend.
    import sqlite3  # noqa: PLC0415

    from sqlalchemy import event  # noqa: PLC0415
    from sqlalchemy.engine import Engine  # noqa: PLC0415

    @event.listens_for(Engine, 'connect')
    def _on_connect(dbapi_connection, connection_record):
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        # Let SQLAlchemy's "begin" event below open transactions, not
        # pysqlite (which would open a deferred one, too late to lock).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute('PRAGMA busy_timeout = %d' % BUSY_TIMEOUT_MS)
            cursor.execute('PRAGMA journal_mode = WAL')
            cursor.execute('PRAGMA synchronous = NORMAL')
        finally:
            cursor.close()

    # oslo.db emits its own plain BEGIN unless conn.info says a
    # transaction is open; class-level listeners run before its
    # engine-level ones, so this one wins and oslo.db's stands aside.
    @event.listens_for(Engine, 'begin')
    def _on_begin(conn):
        if (conn.dialect.name == 'sqlite'
                and 'in_transaction' not in conn.info):
            conn.exec_driver_sql('BEGIN IMMEDIATE')
            conn.info['in_transaction'] = True

    @event.listens_for(Engine, 'commit')
    @event.listens_for(Engine, 'rollback')
    def _on_end(conn):
        conn.info.pop('in_transaction', None)

    sqlite_pool.install()


def single_process_nova():
    """nova-conductor/-scheduler in one process instead of master+worker.

    With ``workers = 1`` Nova still forks a worker under a master process
    (about 120 MB each); nova-compute already runs unforked
    (``no_fork=True``). One node needs no more than one process each.
    """
    from nova import service  # noqa: PLC0415 - nova-* daemons only

    serve = service.serve

    def serve_in_process(server, workers=None, no_fork=False):
        return serve(server, workers=1, no_fork=True)
    service.serve = serve_in_process


def _set_argv(argv):
    sys.argv[:] = argv


if __name__ == '__main__':
    target, argv = sys.argv[1], sys.argv[2:]
    _set_argv(argv)
    module_name, func_name = target.split(':')
    # Import first: a service may choose its concurrency backend (and
    # monkey patch) at import; engines are only created inside main().
    module = importlib.import_module(module_name)
    install_sqlite_hook()
    if os.environ.get('PYDOCK_CLOUD_NO_FORK'):
        single_process_nova()
    sys.exit(getattr(module, func_name)())
elif os.environ.get('PYDOCK_CLOUD_APP'):
    _set_argv(shlex.split(os.environ['PYDOCK_CLOUD_ARGV']))
    install_sqlite_hook()
    application = importlib.import_module(
        os.environ['PYDOCK_CLOUD_APP']).application
