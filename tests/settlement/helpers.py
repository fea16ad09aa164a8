"""Builders for settlement tests: members, offers and agreements (recorded by the coop_admin, so they may start
in the past), usage reports, and runs through the API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import httpx
from redis.asyncio import Redis
from saq import Worker

from marketplace.auth import Actor
from marketplace.booking.tables import Agreement
from marketplace.settlement import jobs, services
from tests.booking.helpers import published_offer
from tests.builders import bearer, member, settings, token
from tests.conftest import TEST_REDIS_URL

LEITWEG_HZD = "04011000-1234512345-06"
RUNNER = Actor(label="tests:settlement")


class Killed(BaseException):
    """The process dies at this point: like a signal, nothing in the run may catch it (it is no ``Exception``)."""


class Exchange:
    """KOPIT, HZD (consumer, with a Leitweg-ID), KDZ-MZ and EKOM21 (providers), with tokens."""

    admin: str
    accountant: str
    kdz_provider: str
    ekom_provider: str
    kdz_usage: str

    @classmethod
    async def make(cls) -> Exchange:
        exchange = cls()
        await member("KOPIT", iban="DE02120300000000202051")
        await member("HZD", leitweg_id=LEITWEG_HZD, contact_email="rechnung@hzd.example")
        await member("KDZ-MZ")
        await member("EKOM21")
        await member("GU-FFM")
        exchange.admin = await token("KOPIT", "coop_admin")
        exchange.accountant = await token("KOPIT", "coop_accountant")
        exchange.kdz_provider = await token("KDZ-MZ", "provider")
        exchange.ekom_provider = await token("EKOM21", "provider")
        return exchange

    def provider_token(self, code: str) -> str:
        return {"KDZ-MZ": self.kdz_provider, "EKOM21": self.ekom_provider}[code]


async def offer(client: httpx.AsyncClient, exchange: Exchange, provider: str = "KDZ-MZ", **terms: Any) -> str:
    """A published offer of ``provider`` without capacity limit and minimum term."""
    values: dict[str, Any] = {"capacity": None, "min_term_months": 0}
    values.update(terms)
    return await published_offer(client, exchange.provider_token(provider), **values)


async def agreement(
    client: httpx.AsyncClient,
    exchange: Exchange,
    offer_id: str,
    *,
    provider: str = "KDZ-MZ",
    consumer: str = "HZD",
    quantity: int = 1,
    start: str,
    end: str | None = None,
) -> dict[str, Any]:
    """An agreement recorded by the coop_admin (its start may lie in the past)."""
    body: dict[str, Any] = {
        "offer_id": offer_id,
        "provider": provider,
        "consumer": consumer,
        "quantity": quantity,
        "start_date": start,
    }
    if end is not None:
        body["end_date"] = end
    response = await client.post("/api/v1/agreements", headers=bearer(exchange.admin), json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def usage(
    client: httpx.AsyncClient,
    exchange: Exchange,
    agreement_id: str,
    period: str,
    quantity: str,
    provider: str = "KDZ-MZ",
) -> httpx.Response:
    return await client.post(
        f"/api/v1/agreements/{agreement_id}/usage",
        headers=bearer(exchange.provider_token(provider)),
        json={"period": period, "quantity": quantity},
    )


@asynccontextmanager
async def settlement_worker(concurrency: int = 1, **overrides: Any) -> AsyncIterator[Worker[Any]]:
    """An SAQ settlement worker in this event loop, on this run's Redis: what ``marketplace worker`` runs."""
    config = settings(**overrides)
    assert config.redis_url, "a worker needs Redis"
    queue = jobs.SettlementQueue(Redis.from_url(config.redis_url), name=config.settlement_queue)
    worker = jobs.build_worker(config, queue, concurrency=concurrency)
    worker.SIGNALS = []  # the test runner keeps its own signal handlers
    await queue.connect()
    task = asyncio.create_task(worker.start())
    try:
        yield worker
    finally:
        await worker.stop()
        await task
        await queue.disconnect()


async def wait_for_run(
    client: httpx.AsyncClient, token_value: str, run_id: str, *, within: float = 20.0, execute: bool = True
) -> dict[str, Any]:
    """Poll the run until it is ``done`` or ``failed`` (fail the test after ``within`` seconds); its last state.

    With Redis in this test run, the app queued the run: unless ``execute`` is False (a test that brings its
    own worker), it is claimed and executed here, as a worker's job does. A run the app executes itself is
    already claimed.
    """
    deadline = time.monotonic() + within
    if TEST_REDIS_URL and execute:
        await jobs.run_here(UUID(run_id), RUNNER, jobs.Timing())
    while True:
        response = await client.get(f"/api/v1/settlement-runs/{run_id}", headers=bearer(token_value))
        assert response.status_code == 200, response.text
        body = dict(response.json())
        if body["status"] in ("done", "failed"):
            return body
        assert time.monotonic() < deadline, f"run {run_id} still {body['status']} after {within} s"
        await asyncio.sleep(0.05)


async def start(client: httpx.AsyncClient, exchange: Exchange, period: str, **headers: str) -> httpx.Response:
    """Ask for a run through the API (the answer, 202 with the run, or a problem)."""
    return await client.post(
        "/api/v1/settlement-runs", headers={**bearer(exchange.accountant), **headers}, json={"period": period}
    )


async def run(client: httpx.AsyncClient, exchange: Exchange, period: str, **headers: str) -> dict[str, Any]:
    """Start a run through the API (202) and wait until it has finished; the finished run."""
    response = await start(client, exchange, period, **headers)
    assert response.status_code == 202, response.text
    return await wait_for_run(client, exchange.accountant, response.json()["id"])


async def run_in_process(period: str) -> Any:
    """Run the service function directly (as the CLI does)."""
    result, _ = await services.run_period(period, RUNNER)
    return result


async def agreements_count() -> int:
    return int(await Agreement.count())
