"""The test harness: every test runs on a clean, migrated database.

The engine is chosen by ``TEST_DATABASE_URL`` (empty: a SQLite file in a temporary folder) and Redis by
``TEST_REDIS_URL`` (empty: no Redis). ``make test`` runs the suite once per engine. On SQLite each test gets a
copy of a migrated template file; on PostgreSQL the tables are truncated between tests. Under pytest-xdist every
worker process has its own PostgreSQL database (``test_gw0``, …) and Redis database, so workers never meet.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

pytest_plugins = ["tests.watchdog"]

_TMP = Path(tempfile.mkdtemp(prefix="marketplace-tests-"))
#: pytest-xdist's name for this worker process (gw0, gw1, …), empty when the suite runs in one process.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _worker_database(url: str) -> str:
    """This worker's own PostgreSQL database beside ``url``'s (``test`` → ``test_gw1``), created if missing."""
    if not url or not XDIST_WORKER:
        return url
    import asyncio

    import asyncpg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_{XDIST_WORKER}"

    async def create() -> None:
        connection = await asyncpg.connect(url)
        try:
            if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    return urlunsplit(parts._replace(path=f"/{name}"))


def _worker_redis(url: str) -> str:
    """This worker's own Redis database (the configured one for gw0, the ones below it for the others)."""
    if not url or not XDIST_WORKER:
        return url
    parts = urlsplit(url)
    number = (int(parts.path.lstrip("/") or 0) - int(XDIST_WORKER.removeprefix("gw"))) % 16
    return urlunsplit(parts._replace(path=f"/{number}"))


TEST_DATABASE_URL = _worker_database(os.environ.get("TEST_DATABASE_URL", ""))
TEST_REDIS_URL = _worker_redis(os.environ.get("TEST_REDIS_URL", ""))
_TEMPLATE = _TMP / "template.sqlite"

# The engine is built when piccolo_conf is first imported: choose it before anything imports it.
os.environ["DATABASE_URL"] = TEST_DATABASE_URL or f"sqlite:///{_TEMPLATE}"
os.environ["MARKETPLACE_VAR_DIR"] = str(_TMP / "var")
os.environ["BEANCOUNT_DISABLE_LOAD_CACHE"] = "1"
os.environ.pop("REDIS_URL", None)

from piccolo.apps.migrations.commands.forwards import run_forwards  # noqa: E402
from piccolo.engine.postgres import PostgresEngine  # noqa: E402
from piccolo.engine.sqlite import SQLiteEngine  # noqa: E402

from marketplace.db import engine  # noqa: E402

ON_POSTGRES = bool(TEST_DATABASE_URL)
_counter = itertools.count()
#: The browser of the end-to-end tests (``browser`` marker); on CI its absence fails them instead.
CHROMIUM = "/usr/bin/chromium"
#: Tables that the migrations fill (PostgreSQL only; SQLite copies the whole migrated file).
_SEEDED: list[str] = []


def pytest_report_header() -> list[str]:
    """Say which engine and which Redis this run uses."""
    database = "PostgreSQL " + TEST_DATABASE_URL if ON_POSTGRES else "SQLite (temporary files)"
    return [f"database: {database}", f"redis: {TEST_REDIS_URL or 'none'}"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip tests that need an engine or a service this run does not have."""
    for item in items:
        if "postgres" in item.keywords and not ON_POSTGRES:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (TEST_DATABASE_URL)"))
        if "redis" in item.keywords and not TEST_REDIS_URL:
            item.add_marker(pytest.mark.skip(reason="needs Redis (TEST_REDIS_URL)"))
        if "browser" in item.keywords and not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true":
            item.add_marker(pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium)"))


async def _app_tables(db: PostgresEngine) -> list[str]:
    rows = await db.run_ddl(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migration' ORDER BY tablename"
    )
    return [row["tablename"] for row in rows or []]


async def _migrate() -> None:
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.run_ddl("DROP SCHEMA IF EXISTS seed CASCADE")
        await db.run_ddl("DROP SCHEMA public CASCADE")
        await db.run_ddl("CREATE SCHEMA public")
    result = await run_forwards(app_name="all")
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")
    if isinstance(db, PostgresEngine):
        # Rows that migrations seed (categories, …) are kept aside and restored after every truncation,
        # so that a test starts from what a freshly migrated database holds, as on SQLite.
        await db.run_ddl("CREATE SCHEMA seed")
        for table in await _app_tables(db):
            rows = await db.run_ddl(f'SELECT count(*) AS n FROM public."{table}"')
            if rows[0]["n"]:
                await db.run_ddl(f'CREATE TABLE seed."{table}" AS SELECT * FROM public."{table}"')
                _SEEDED.append(table)


@pytest.fixture(scope="session", autouse=True)
async def migrated_database() -> AsyncIterator[None]:
    """Migrate once per session: into the SQLite template, or into a fresh PostgreSQL schema."""
    await _migrate()
    yield
    shutil.rmtree(_TMP, ignore_errors=True)


async def _truncate_postgres(db: PostgresEngine) -> None:
    tables = await _app_tables(db)
    if tables:
        await db.run_ddl("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
    for table in _SEEDED:
        await db.run_ddl(f'INSERT INTO public."{table}" SELECT * FROM seed."{table}"')


@pytest.fixture(autouse=True)
async def clean_database(migrated_database: None) -> AsyncIterator[None]:
    """Give the test a database with the schema and no rows."""
    db = engine()
    if isinstance(db, SQLiteEngine):
        path = _TMP / f"test-{next(_counter)}.sqlite"
        shutil.copyfile(_TEMPLATE, path)
        db.path = str(path)
        yield
        db.path = str(_TEMPLATE)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        assert isinstance(db, PostgresEngine)
        await _truncate_postgres(db)
        yield


@pytest.fixture(autouse=True)
def _redis_clean() -> Iterator[None]:
    """An empty Redis database for every test that has one."""
    if TEST_REDIS_URL:
        import redis

        client = redis.Redis.from_url(TEST_REDIS_URL)
        client.flushdb()
        client.close()
    yield
