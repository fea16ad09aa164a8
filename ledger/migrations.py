"""Hand-written DDL migrations that run the same schema on SQLite and PostgreSQL.

Piccolo can neither generate migrations on SQLite nor create composite constraints there (pitfalls.md);
triggers differ per engine anyway. The ledger keeps its own copy of this helper because it must not import the
application.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.postgres import PostgresEngine

from ledger.db import engine


def ddl_migration(
    *,
    migration_id: str,
    app_name: str,
    description: str,
    statements: Sequence[str],
    postgres: Sequence[str] = (),
    sqlite: Sequence[str] = (),
) -> Callable[[], Awaitable[MigrationManager]]:
    """A Piccolo ``forwards`` function that runs ``statements`` and then the engine's own extra statements."""

    async def run() -> None:
        db = engine()
        extra = postgres if isinstance(db, PostgresEngine) else sqlite
        for statement in (*statements, *extra):
            await db.run_ddl(statement)

    async def forwards() -> MigrationManager:
        manager = MigrationManager(migration_id=migration_id, app_name=app_name, description=description)
        manager.add_raw(run)
        return manager

    return forwards
