"""Do PostgreSQL and Redis answer? ``python -m tests.service_check DATABASE_URL REDIS_URL``.

Exit 0 when both answer; otherwise say which does not, and exit 1. ``make test`` uses it to decide whether to run
the suite a second time on PostgreSQL with Redis.
"""

from __future__ import annotations

import asyncio
import sys

import asyncpg
import redis.asyncio as redis


async def _postgres(url: str) -> str | None:
    try:
        connection = await asyncpg.connect(url, timeout=3)
        await connection.close()
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL at {url.split('@')[-1]} does not answer ({type(exc).__name__}: {exc})"
    return None


async def _redis(url: str) -> str | None:
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        await client.ping()
    except (OSError, redis.RedisError) as exc:
        return f"Redis at {url} does not answer ({type(exc).__name__})"
    finally:
        await client.aclose()
    return None


async def _main(database_url: str, redis_url: str) -> int:
    problems = [p for p in await asyncio.gather(_postgres(database_url), _redis(redis_url)) if p]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_main(sys.argv[1], sys.argv[2])))
