"""Database plumbing shared by every context: the engine, transactions, integrity errors.

SQLite and PostgreSQL differ in how a read-modify-write must be protected (pitfalls.md): PostgreSQL takes row
locks, SQLite needs an IMMEDIATE transaction so that the write lock is taken at the start. ``transaction()``
hides that difference; every command runs in exactly one of them.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from marketplace.config import is_postgres_url

log = structlog.get_logger(__name__)

#: How long closing the pool waits for connections still checked out before it cuts them.
POOL_CLOSE_SECONDS = 5.0

INTEGRITY_ERRORS: tuple[type[BaseException], ...] = (
    sqlite3.IntegrityError,
    asyncpg.exceptions.IntegrityConstraintViolationError,
)


def engine_from_url(url: str) -> Engine[Any]:
    """Build the Piccolo engine that ``url`` names (``sqlite:///path`` or ``postgresql://…``)."""
    if is_postgres_url(url):
        return PostgresEngine(config={"dsn": url})
    if not url.startswith("sqlite:///"):
        raise ValueError(f"DATABASE_URL must start with sqlite:/// or postgresql://, not {url.split(':')[0]!r}")
    # sqlite:///var/db.sqlite is relative, sqlite:////srv/db.sqlite absolute.
    path = Path(url.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    # A generous busy timeout: writers queue behind each other instead of failing at once.
    return SQLiteEngine(path=str(path), timeout=30)


def engine() -> Engine[Any]:
    """The engine configured in ``piccolo_conf``."""
    found = engine_finder()
    if found is None:
        raise RuntimeError("piccolo_conf.py defines no engine")
    return found


def is_postgres() -> bool:
    """True when the configured engine is PostgreSQL."""
    return isinstance(engine(), PostgresEngine)


@asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """One write transaction that takes its lock at the start on SQLite (``BEGIN IMMEDIATE``).

    Nested calls join the outer transaction, as Piccolo's do.
    """
    db = engine()
    if db.current_transaction.get() is not None:
        yield
        return
    if isinstance(db, SQLiteEngine):
        async with db.transaction(transaction_type=TransactionType.immediate):
            yield
    else:
        async with db.transaction():
            yield


@asynccontextmanager
async def connection_pool(size: int) -> AsyncIterator[None]:
    """A PostgreSQL connection pool of at most ``size`` while the block runs (nothing on SQLite or for 0).

    The pool belongs to the engine, which every app of a process shares: a second app started while one runs
    (as tests do) uses the first one's pool and leaves it open.

    Closing waits for checked-out connections at most ``POOL_CLOSE_SECONDS``, then terminates the pool. A task
    cancelled inside the driver can leave its connection checked out for ever (asyncpg issue 547), and asyncpg's
    graceful close would then wait for it for ever: a shutdown must end all the same.
    """
    db = engine()
    if not isinstance(db, PostgresEngine) or size <= 0 or db.pool is not None:
        yield  # SQLite, no pool wanted, or an app already running in this process opened it and closes it
        return
    await db.start_connection_pool(min_size=1, max_size=size)
    pool: asyncpg.Pool = db.pool
    try:
        yield
    finally:
        db.pool = None
        try:
            await asyncio.wait_for(pool.close(), POOL_CLOSE_SECONDS)
        except TimeoutError:
            log.warning("database_pool_close_timeout", seconds=POOL_CLOSE_SECONDS)
            pool.terminate()


async def prepare_database() -> None:
    """Per-engine settings that persist in the database (WAL mode for SQLite)."""
    db = engine()
    if isinstance(db, SQLiteEngine):
        await db.run_ddl("PRAGMA journal_mode=WAL")


def is_integrity_error(exc: BaseException) -> bool:
    """True for a unique, foreign-key or check violation of either driver."""
    return isinstance(exc, INTEGRITY_ERRORS)


def as_uuid(value: Any) -> UUID:
    """A UUID column's value as a ``UUID`` (SQLite rows may hand back text)."""
    return value if isinstance(value, UUID) else UUID(str(value))
