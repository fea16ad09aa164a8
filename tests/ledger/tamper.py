"""Changing journal rows behind the ledger's back, as an attacker with direct database access would."""

from __future__ import annotations

from piccolo.engine.postgres import PostgresEngine

from ledger.db import engine


async def tamper(table: str, sql: str) -> None:
    """Run ``sql`` (an UPDATE or DELETE on ``table``) with the append-only triggers out of the way."""
    db = engine()
    async with db.transaction():
        if isinstance(db, PostgresEngine):
            # Only a superuser can do this; the application's role cannot (that is what the triggers are for).
            await db.run_ddl("SET LOCAL session_replication_role = replica")
        else:
            # Each SQLite test runs on its own copy of the database: dropping the triggers there is harmless.
            await db.run_ddl(f"DROP TRIGGER {table}_no_update")
            await db.run_ddl(f"DROP TRIGGER {table}_no_delete")
        await db.run_ddl(sql)
