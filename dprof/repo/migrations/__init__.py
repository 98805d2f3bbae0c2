"""Alembic migrations of the dprof schema, run programmatically by ``dprof.repo.migrate``
(no alembic.ini is needed). Released revisions are frozen: change the schema by adding
a revision, never by editing one."""
