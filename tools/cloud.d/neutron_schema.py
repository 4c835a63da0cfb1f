"""Create Neutron's schema on SQLite, where its migrations cannot run.

Neutron's alembic migrations ALTER constraints, which SQLite does not
support; Neutron's own tests create the schema from the models instead.
This does the same (every model of ``neutron.db.migration.models.head``),
then tools/cloud stamps the alembic heads with ``neutron-db-manage stamp
heads`` so that later upgrades start from the right revision.

    python neutron_schema.py DATABASE_URL
"""
import sys

from neutron.db.migration.models import head
import sqlalchemy


def main():
    engine = sqlalchemy.create_engine(sys.argv[1])
    head.get_metadata().create_all(engine)
    engine.dispose()


if __name__ == '__main__':
    main()
