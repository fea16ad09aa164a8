"""Database plumbing of the ledger: the engine, write transactions that join the caller's, advisory locks.

The ledger is a library: it finds the engine through ``piccolo_conf`` like any Piccolo app and never imports
the application. Callers may book inside their own transaction; every function here joins it instead of
nesting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

# Keys of PostgreSQL advisory locks ("ledg" + a number), constant so that every process agrees on them.
JOURNAL_LOCK = 0x6C656467_00000001
EXPORT_LOCK = 0x6C656467_00000002


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
    """A write transaction, or the caller's one if a transaction is already open.

    On SQLite it is ``BEGIN IMMEDIATE`` so that the write lock is taken before the first read (pitfalls.md).
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


async def lock(key: int) -> None:
    """Hold the advisory lock ``key`` until the current transaction ends (PostgreSQL only).

    SQLite needs none: an IMMEDIATE transaction already serialises writers.
    """
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.run_ddl(f"SELECT pg_advisory_xact_lock({int(key)})")
