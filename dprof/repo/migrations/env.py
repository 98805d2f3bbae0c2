"""Alembic environment for dprof: migrate the connection handed over by
``dprof.repo.migrate`` inside the transaction it already holds (and its lock)."""
from alembic import context

from dprof.repo.migrate import VERSION_TABLE

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("dprof migrations run through dprof.repo.migrate.upgrade(connection), "
                       "not from the alembic command line")

context.configure(connection=connection, target_metadata=None, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
