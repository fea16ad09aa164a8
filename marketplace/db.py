"""Database plumbing shared by every context: the engine, transactions, integrity and connection errors.

SQLite and PostgreSQL differ in how a read-modify-write must be protected (pitfalls.md): PostgreSQL takes row
locks, SQLite needs an IMMEDIATE transaction so that the write lock is taken at the start. ``transaction()``
hides that difference; every command runs in exactly one of them.

On PostgreSQL a connection can be lost at any moment (``pg_terminate_backend``, a restart, a failover). The
engine here survives that: a lost connection leaves the pool instead of being handed out again, a transaction
that had not yet begun and a read outside a transaction are tried once more on a fresh connection, and
anything else fails with an error that ``is_connection_lost`` recognises (the API answers 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine as PiccoloPostgresEngine
from piccolo.engine.postgres import PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from marketplace.config import is_postgres_url

log = structlog.get_logger(__name__)

#: How long closing the pool waits for connections still checked out before it cuts them.
POOL_CLOSE_SECONDS = 5.0

INTEGRITY_ERRORS: tuple[type[BaseException], ...] = (
    sqlite3.IntegrityError,
    asyncpg.exceptions.IntegrityConstraintViolationError,
)
#: Errors that mean the connection to PostgreSQL is gone or was never made: class 08 (connection exception),
#: 57P01–57P03 (the server is shutting down or starting), too many connections, a refused or reset socket,
#: and asyncpg's protocol state errors, which a connection terminated by the server can raise on its next use
#: ("cannot switch to state 12; another operation (2) is in progress", asyncpg issue 1069).
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InternalClientError,
    ConnectionError,
)


#: asyncpg has no classes of its own for using a connection that is closed, or that its pool took back when
#: it closed (the engine never hands a pooled connection back while it still uses it).
_CLOSED_MESSAGES = ("connection is closed", "released back to the pool")


def is_connection_lost(exc: BaseException) -> bool:
    """True when ``exc`` says that the connection to PostgreSQL was lost (or could not be made)."""
    if isinstance(exc, CONNECTION_ERRORS):
        return True
    return isinstance(exc, asyncpg.exceptions.InterfaceError) and any(text in str(exc) for text in _CLOSED_MESSAGES)


def _is_gone(connection: Any) -> bool:
    try:
        return bool(connection.is_closed())
    except asyncpg.exceptions.InterfaceError:  # its pool took it back when it closed
        return True


def _discard(connection: Any) -> None:
    """Close a connection that may be broken at once, without a word to the server; the pool replaces it."""
    with contextlib.suppress(Exception):
        connection.terminate()


class _Transaction(PostgresTransaction):
    """Piccolo's transaction, made safe for connections that are lost on the way.

    Piccolo's own skips releasing the connection and resetting the current transaction when ``ROLLBACK`` or
    ``COMMIT`` fails, as they do on a terminated connection: the pool can lose that connection for good (requests
    then wait for a free one for ever), and the task (a background job's loop, say) keeps running its later
    queries on the dead one. Here the connection is always given back (closed if it may be broken), the current
    transaction always reset, and the error that caused the rollback is the one raised, not the rollback's.
    """

    async def __aenter__(self) -> PostgresTransaction:
        if self._parent is not None:
            return self._parent
        for attempt in (1, 2):
            self.connection = await self.get_connection()
            self.transaction = self.connection.transaction()
            try:
                await self.begin()
            except BaseException as exc:
                _discard(self.connection)
                await self._give_back()
                # Nothing was done yet: a connection the server had terminated while it idled in the pool is
                # simply replaced, once.
                if attempt == 1 and isinstance(exc, Exception) and is_connection_lost(exc):
                    log.warning("database_connection_lost", stage="begin", retry=True)
                    continue
                raise
            break
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type: Any, exception: BaseException | None, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception is not None:
                await self._roll_back_after(exception)
            elif not self._committed and not self._rolled_back:
                try:
                    await self.commit()
                except BaseException as failed:
                    # Lost during COMMIT, the transaction may or may not have been committed (the caller answers
                    # 503: try again); refused at COMMIT (a deferred check), it was rolled back.
                    if not isinstance(failed, Exception) or is_connection_lost(failed) or _is_gone(self.connection):
                        _discard(self.connection)
                    raise
        finally:
            self.engine.current_transaction.reset(self.context)
            await self._give_back()
        return exception is None

    async def _roll_back_after(self, exception: BaseException) -> None:
        if self._rolled_back:
            return
        if is_connection_lost(exception) or _is_gone(self.connection):
            _discard(self.connection)  # the server has rolled back what it had
            return
        try:
            await self.rollback()
        except BaseException as failed:  # a cancelled query, a connection lost meanwhile: the error stays
            log.warning("database_rollback_failed", error=type(failed).__name__, cause=type(exception).__name__)
            _discard(self.connection)

    async def _give_back(self) -> None:
        try:
            if self.engine.pool:
                await self.engine.pool.release(self.connection)
            else:
                await self.connection.close()
        except Exception as exc:  # asyncpg closes a connection it cannot reset; the pool opens another
            log.warning("database_connection_release_failed", error=type(exc).__name__)
            _discard(self.connection)


def _is_read(query: str) -> bool:
    return query.lstrip().upper().startswith("SELECT")


class PostgresEngine(PiccoloPostgresEngine):
    """Piccolo's PostgreSQL engine with transactions and pooled reads that survive a lost connection."""

    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        """A transaction that always returns its connection (see ``_Transaction``)."""
        return _Transaction(engine=self, allow_nested=allow_nested)

    async def _run_in_pool(self, query: str, args: Sequence[Any] | None = None) -> Any:
        try:
            return await super()._run_in_pool(query, args)
        except Exception as exc:
            # A read outside a transaction changes nothing: on a fresh connection it is tried once more.
            if not (is_connection_lost(exc) and _is_read(query)):
                raise
            log.warning("database_connection_lost", stage="read", retry=True)
        return await super()._run_in_pool(query, args)


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
