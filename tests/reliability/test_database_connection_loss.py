"""PostgreSQL connections terminated under the app (``pg_terminate_backend``, a restart, a failover).

A request that loses its connection answers 503 (a read outside a transaction is tried once more instead),
never 500, and the pool gets every connection back. The answer is checked on every engine, the rest on
PostgreSQL only: about 5 seconds in all (the load test terminates the app's connections six times within two
seconds while eight clients send requests).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
import structlog.testing
from litestar import get

from marketplace.app import create_app
from marketplace.db import connection_pool, engine, is_connection_lost, transaction
from marketplace.members.tables import Member
from tests.booking.helpers import Parties, published_offer
from tests.builders import bearer, running_app, settings, token
from tests.conftest import TEST_DATABASE_URL
from tests.live_server import live_server

POOL_SIZE = 4
CLIENTS = 8
TERMINATIONS = 6

#: The app's connections: all but the terminating one (each test has a database of its own under xdist).
TERMINATE_OTHERS = """
    SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
"""


@asynccontextmanager
async def _terminator() -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(TEST_DATABASE_URL)
    try:
        yield connection
    finally:
        await connection.close()


async def _terminate(terminator: asyncpg.Connection, pid: int) -> None:
    """Terminate the backend ``pid`` and wait until it is gone."""
    await terminator.execute("SELECT pg_terminate_backend($1)", pid)
    while await terminator.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):  # noqa: ASYNC110
        await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.exceptions.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
        asyncpg.exceptions.InterfaceError("cannot call Connection.fetch(): connection is closed"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        ConnectionRefusedError(111, "Connect call failed"),
    ],
    ids=["closed-mid-operation", "protocol-state", "closed", "terminated", "refused"],
)
async def test_a_lost_database_connection_answers_503_and_asks_to_try_again(error: Exception) -> None:
    @get("/api/v1/lost", sync_to_thread=False)
    def lost() -> None:
        raise error

    app = create_app(settings())
    app.register(lost)
    value = await token("HZD", "buyer")
    async with running_app(app) as client:
        response = await client.get("/api/v1/lost", headers=bearer(value))
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"] == "https://kopit.example/problems/database-unavailable"
    assert response.json()["detail"] == "The database connection was lost; try again."
    assert "state 12" not in response.text


@pytest.mark.postgres
async def test_a_task_whose_transaction_lost_its_connection_goes_on_with_a_new_one() -> None:
    async with connection_pool(1), _terminator() as terminator:
        with pytest.raises(Exception) as lost:  # noqa: PT011, PT012 - the driver's error, wherever it comes from
            async with transaction():
                rows = await engine().run_ddl("SELECT pg_backend_pid() AS pid")
                await _terminate(terminator, rows[0]["pid"])
                await Member.count()
        # The same task (a background job's loop, say) and a pool of one: the dead connection went back.
        async with transaction():
            in_a_transaction = await Member.count()
        from_another_task = await asyncio.wait_for(asyncio.create_task(Member.count().run()), 5)
    assert is_connection_lost(lost.value)
    assert (in_a_transaction, from_another_task) == (0, 0)


@pytest.mark.postgres
async def test_a_read_outside_a_transaction_that_lost_its_connection_is_tried_again() -> None:
    async with connection_pool(1), _terminator() as terminator:
        with structlog.testing.capture_logs() as logs:
            read = asyncio.create_task(engine().run_ddl("SELECT pg_sleep(0.3), 1 AS answer"))
            pid = None
            while pid is None:
                pid = await terminator.fetchval(
                    "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(0.3)%' AND state = 'active'"
                )
            await _terminate(terminator, pid)
            rows = await asyncio.wait_for(read, 5)
    assert [row["answer"] for row in rows] == [1]
    assert [(entry["event"], entry["stage"]) for entry in logs] == [("database_connection_lost", "read")]


@pytest.mark.postgres
async def test_terminated_connections_under_load_answer_503_at_worst_and_the_pool_recovers() -> None:
    parties = await Parties.make()
    app = create_app(settings(redis_url=None, database_pool_size=POOL_SIZE))
    statuses: collections.Counter[int] = collections.Counter()
    stop = asyncio.Event()
    async with live_server(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        offer_id = await published_offer(client, parties.provider)
        request = {"offer_id": offer_id, "quantity": 1, "start_date": "2099-01-01"}

        async def load(reads: bool) -> None:
            while not stop.is_set():
                if reads:
                    answer = await client.get("/api/v1/offers", headers=bearer(parties.buyer))
                else:
                    answer = await client.post("/api/v1/requests", headers=bearer(parties.buyer), json=request)
                statuses[answer.status_code] += 1

        with structlog.testing.capture_logs() as logs:
            clients = [asyncio.create_task(load(reads=n % 2 == 0)) for n in range(CLIENTS)]
            async with _terminator() as terminator:
                terminated = 0
                for _ in range(TERMINATIONS):
                    await asyncio.sleep(0.3)
                    terminated += await terminator.fetchval(TERMINATE_OTHERS)
            stop.set()
            await asyncio.gather(*clients)
        # Twice as many requests at once as the pool has connections: each of them must be back in it.
        after = await asyncio.gather(
            *(client.get("/api/v1/offers", headers=bearer(parties.buyer)) for _ in range(2 * POOL_SIZE))
        )
    lost: list[dict[str, Any]] = [entry for entry in logs if entry["event"] == "database_connection_lost"]
    assert terminated > 0 and lost, "the terminations met no request"
    assert {status for status in statuses if status >= 500} <= {503}
    assert statuses[200] and statuses[201]
    assert [answer.status_code for answer in after] == [200] * (2 * POOL_SIZE)
    assert not [entry for entry in logs if entry["event"] == "unexpected_error"]
