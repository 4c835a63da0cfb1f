"""Pooled connections for SQLite file databases under oslo.db.

oslo.db gives SQLite file databases a NullPool: every transaction opens a
connection of its own (and loads the schema again), and closing the last
one checkpoints the WAL. Both the cloud's services (``tools/cloud.d/
boot.py``) and Nova's test harness (``tests/nova/fixtures.py``) pool them
instead, with a QueuePool: SQLAlchemy's own choice for SQLite files.
Other databases are left alone. Importing this module imports nothing
else: a service chooses its concurrency backend (and monkey patches)
before it imports oslo.db.
"""


def pooled(init_connection_args, **pool_args):
    """``init_connection_args`` (oslo.db's ``_init_connection_args``) with
    a QueuePool for SQLite files; ``pool_args`` (``pool_size``,
    ``max_overflow``) size it, SQLAlchemy's defaults otherwise."""
    from sqlalchemy import pool  # noqa: PLC0415 - see the module doc

    def init_pooled(url, engine_args, kw):
        init_connection_args(url, engine_args, kw)
        if (url.get_backend_name() == 'sqlite'
                and engine_args.get('poolclass') is pool.NullPool):
            engine_args['poolclass'] = pool.QueuePool
            engine_args.update(pool_args)
            engine_args['connect_args']['check_same_thread'] = False
    return init_pooled


def install(**pool_args):
    """Pool every SQLite file database this process opens from now on."""
    from oslo_db.sqlalchemy import engines  # noqa: PLC0415

    engines._init_connection_args = pooled(engines._init_connection_args,
                                           **pool_args)
