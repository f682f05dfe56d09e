"""A number the database moves on every commit that changes what the pages show (issue 16)

PostgreSQL only (SQLite keeps no rendered pages). `data_version.n` grows by one in every
transaction that wrote any table but the bookkeeping ones (`UNCOUNTED`: the sender's lease, tick
runs, periodic jobs, login sessions), at its commit and in it: a statement-level trigger on each
table marks the transaction once (a row in `data_version_mark`), and a deferred constraint
trigger on that row moves `n` and deletes the mark just before the commit. The row lock on `n`
is held only for the commit itself, so long transactions (a plan's activation) do not hold up
the others. A reader that reads `n` before its other reads (duban/web/page_cache.py) knows what
it read is at least as new as `n`: pages rendered under one `n` are served again until it moves.
Every table gets the trigger, so no write path can forget it; tests/models/test_data_version.py
checks each table has it.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

UNCOUNTED = ("service_lease", "tick_run", "periodic_job", "web_session")
MARKED = "duban.data_version_marked"


def counted_tables(bind: sa.engine.Connection) -> list[str]:
    names = sa.inspect(bind).get_table_names()
    skip = {*UNCOUNTED, "alembic_version", "data_version", "data_version_mark"}
    return sorted(n for n in names if n not in skip)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("CREATE TABLE data_version (id integer PRIMARY KEY CHECK (id = 1), n bigint NOT NULL)")
    op.execute("INSERT INTO data_version VALUES (1, 0)")
    op.execute("CREATE TABLE data_version_mark (id bigserial PRIMARY KEY)")
    op.execute(
        f"""
        CREATE FUNCTION duban_mark_write() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF current_setting('{MARKED}', true) IS DISTINCT FROM 'on' THEN
                PERFORM set_config('{MARKED}', 'on', true);
                INSERT INTO data_version_mark DEFAULT VALUES;
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION duban_count_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE data_version SET n = n + 1 WHERE id = 1;
            DELETE FROM data_version_mark WHERE id = NEW.id;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER data_version_at_commit AFTER INSERT ON data_version_mark "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION duban_count_commit()"
    )
    for table in counted_tables(bind):
        op.execute(
            f"CREATE TRIGGER {table}_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION duban_mark_write()"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in counted_tables(bind):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_data_version ON {table}")
    op.execute("DROP TABLE data_version_mark")
    op.execute("DROP FUNCTION duban_count_commit()")
    op.execute("DROP FUNCTION duban_mark_write()")
    op.execute("DROP TABLE data_version")
