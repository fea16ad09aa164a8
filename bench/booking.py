"""Booking under load on PostgreSQL: submit + accept, against the minimal Litestar endpoint in the same run.

The exchange is served as ``make run`` serves it (one uvicorn process), on a throwaway PostgreSQL database
``bench_booking``. One booking is two requests: a buyer submits a request for an offer without a capacity limit,
the provider accepts it (a transaction with the offer lock, the reference counter, the agreement, audit and
outbox rows). Throughput is bookings per second; the target is ≥ 0.1 × the minimal endpoint's requests per
second, with no error.

Run alone with ``python -m bench.booking``; ``make bench`` runs it with the others.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from datetime import timedelta

import httpx

from bench.postgres import POSTGRES_URL, throwaway_database
from bench.run import BIN, CONCURRENCY, ROOT, _free_port, _load, _serve, _wait_until_up
from marketplace.clock import today

BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", "600"))
BENCH_DATABASE = "bench_booking"
TARGET = 0.1


def _token(env: dict[str, str], member: str, roles: str) -> str:
    created = subprocess.run(
        [str(BIN / "marketplace"), "token", "create", "--member", member, "--roles", roles, "--name", "bench"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return created.stdout.strip().splitlines()[-1]


async def _offer(client: httpx.AsyncClient, base: str, provider: dict[str, str]) -> str:
    created = await client.post(
        f"{base}/api/v1/offers",
        headers=provider,
        json={
            "title": "Bench: virtuelle Server",
            "description": "Lasttest ohne Kapazitätsgrenze.",
            "category": "hosting",
            "unit": "VM-Monat",
            "unit_price": "40.00",
            "pricing": "recurring",
            "tax_treatment": "exempt_public_cooperation",
        },
    )
    created.raise_for_status()
    offer_id = str(created.json()["id"])
    (await client.post(f"{base}/api/v1/offers/{offer_id}/publish", headers=provider)).raise_for_status()
    return offer_id


async def _bookings(base: str, buyer: dict[str, str], provider: dict[str, str]) -> tuple[float, float, float, int]:
    """Bookings per second, p50 and p99 of one booking in ms, and the number of errors."""
    start = (today().replace(day=1) + timedelta(days=40)).replace(day=1).isoformat()
    latencies: list[float] = []
    errors = 0
    remaining = BOOKINGS
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=CONCURRENCY), timeout=60) as client:
        offer_id = await _offer(client, base, provider)

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                began = time.perf_counter()
                submitted = await client.post(
                    f"{base}/api/v1/requests",
                    headers=buyer,
                    json={"offer_id": offer_id, "quantity": 1, "start_date": start},
                )
                if submitted.status_code != 201:
                    errors += 1
                    continue
                accepted = await client.post(
                    f"{base}/api/v1/requests/{submitted.json()['id']}/accept", headers=provider
                )
                if accepted.status_code != 201:
                    errors += 1
                latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0
    median = statistics.median(latencies) if latencies else 0.0
    return len(latencies) / elapsed, median * 1000, p99 * 1000, errors


async def run_booking() -> None:
    """Measure and print the booking figures."""
    async with throwaway_database(BENCH_DATABASE) as database_url:
        if database_url is None:
            print(f"\nPostgreSQL at {POSTGRES_URL} does not answer: booking benchmark SKIPPED")
            return
        with tempfile.TemporaryDirectory(prefix="marketplace-bench-booking-") as folder:
            env = {
                **os.environ,
                "MARKETPLACE_VAR_DIR": folder,
                "DATABASE_URL": database_url,
                "RATE_LIMIT_PER_MINUTE": "100000000",
                "LOG_LEVEL": "WARNING",
            }
            env.pop("REDIS_URL", None)
            subprocess.run([str(BIN / "marketplace"), "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
            subprocess.run(
                [str(BIN / "marketplace"), "demo", "--no-tokens"], cwd=ROOT, env=env, check=True, capture_output=True
            )
            buyer = {"Authorization": f"Bearer {_token(env, 'HZD', 'buyer')}"}
            provider = {"Authorization": f"Bearer {_token(env, 'KDZ-MZ', 'provider')}"}
            base_port, app_port = _free_port(), _free_port()
            servers = [
                _serve("bench.minimal_app:app", base_port, env, factory=False),
                _serve("marketplace.app:create_app", app_port, env, factory=True),
            ]
            try:
                await _wait_until_up(f"http://127.0.0.1:{base_port}/ping")
                await _wait_until_up(f"http://127.0.0.1:{app_port}/health")
                baseline = await _load(f"http://127.0.0.1:{base_port}/ping", {})
                rate, p50, p99, errors = await _bookings(f"http://127.0.0.1:{app_port}", buyer, provider)
            finally:
                for server in servers:
                    server.terminate()
                    server.wait(timeout=10)
    print(f"\nBooking on PostgreSQL: {BOOKINGS} bookings (submit + accept), {CONCURRENCY} concurrent clients")
    print(f"{'what':<44} {'per s':>9} {'p50 ms':>8} {'p99 ms':>8} {'× baseline':>11}")
    name = "baseline: minimal Litestar endpoint (req/s)"
    print(f"{name:<44} {baseline[0]:>9.0f} {baseline[1]:>8.1f} {baseline[2]:>8.1f} {1:>11.2f}")
    print(
        f"{'bookings (submit + accept)':<44} {rate:>9.0f} {p50:>8.1f} {p99:>8.1f} {rate / baseline[0]:>11.2f}"
        f"  (target ≥ {TARGET}, errors: {errors})"
    )


if __name__ == "__main__":
    asyncio.run(run_booking())
