"""A throwaway PostgreSQL database for a benchmark: created fresh, dropped afterwards."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@asynccontextmanager
async def throwaway_database(name: str) -> AsyncIterator[str | None]:
    """Yield the URL of a fresh database ``name``, or None when PostgreSQL does not answer."""
    try:
        connection = await asyncpg.connect(POSTGRES_URL, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        yield None
        return
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await connection.execute(f"CREATE DATABASE {name}")
    finally:
        await connection.close()
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        connection = await asyncpg.connect(POSTGRES_URL, timeout=3)
        try:
            await connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await connection.close()
