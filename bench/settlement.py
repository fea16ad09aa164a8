"""``make bench``, settlement part: one settlement run over many agreements on PostgreSQL, against a bare bulk
insert of the same number of rows in the same run.

A throwaway database (``settle_bench_<pid>``) is created on BENCH_POSTGRES_URL's server and dropped at the end.
Separate processes then:

- ``setup``: migrate, admit BENCH_SETTLEMENT_MEMBERS members through the service (ledger accounts and all),
  create one offer per provider and pricing model, and bulk-insert BENCH_SETTLEMENT_AGREEMENTS agreements
  (about BENCH_SETTLEMENT_PER_PAIR per provider/consumer pair; 80 % recurring, some partial months, 10 % one-off,
  10 % metered with usage reports, a few without) — not timed;
- ``run``: ``settlement.services.run_period`` in process, as ``marketplace settle`` does it — up to
  ``BATCH_PAIRS`` settlements per transaction, each with its number, lines, Beancount-checked ledger entry
  (one ``ledger.post_many`` per batch), audit event and outbox events;
- ``bulk``: a bare bulk insert of as many rows as agreements into a table shaped like ``settlement_lines``
  (asyncpg ``executemany`` in batches of 1,000, one transaction), the floor of writing one row per agreement.

Each process reports its peak resident memory (``ru_maxrss``). The targets of issue 6 (≤ 5 × the bulk insert,
≤ 300 MB) are printed with whether they are met.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import resource
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.child import run_child

ROOT = Path(__file__).resolve().parent.parent
AGREEMENTS = int(os.environ.get("BENCH_SETTLEMENT_AGREEMENTS", "10000"))
MEMBERS = int(os.environ.get("BENCH_SETTLEMENT_MEMBERS", "500"))
PER_PAIR = int(os.environ.get("BENCH_SETTLEMENT_PER_PAIR", "4"))
SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PERIOD = "2025-02"
TARGET_RATIO = 5.0
TARGET_MB = 300.0
BATCH = 1000


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _database_url(name: str) -> str:
    parts = urlsplit(SERVER)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


# --- the child processes --------------------------------------------------------------------------------


async def _setup() -> dict[str, Any]:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from marketplace.auth import Actor
    from marketplace.booking.tables import Agreement, UsageReport
    from marketplace.catalogue import services as catalogue
    from marketplace.catalogue.schemas import OfferCreate
    from marketplace.members import services as members
    from marketplace.members.schemas import MemberCreate

    started = time.perf_counter()
    result = await run_forwards(app_name="all")
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")
    actor = Actor(label="bench")
    await catalogue.ensure_default_categories()
    ids: list[uuid.UUID] = []
    for n in range(MEMBERS):
        code = "KOPIT" if n == 0 else f"M-{n:04d}"
        kind = "cooperative" if n == 0 else "municipality"
        created = await members.admit_member(
            MemberCreate(code=code, name=f"Mitglied {n}", kind=kind, state="DE-HE"), actor
        )
        ids.append(created.id)
    providers = ids[1 : max(2, MEMBERS // 10)]
    consumers = ids[1:]
    offers: dict[tuple[uuid.UUID, str], tuple[uuid.UUID, uuid.UUID]] = {}
    for provider in providers:
        for pricing, price in (("recurring", "40.00"), ("one_off", "150.00"), ("metered", "8.99")):
            offer = await catalogue.create_offer(
                OfferCreate(
                    title=f"Leistung {pricing}",
                    description="Benchmark",
                    category="hosting",
                    unit="Stück",
                    unit_price=Decimal(price),
                    pricing=pricing,
                    tax_treatment="vat_19" if pricing == "one_off" else "exempt_public_cooperation",
                ),
                provider,
                actor,
            )
            offers[provider, pricing] = (offer.id, offer.current_version.id)
    moment = dt.datetime.now(dt.UTC)
    pairs = max(1, AGREEMENTS // PER_PAIR)
    rows: list[Agreement] = []
    usage: list[UsageReport] = []
    for n in range(AGREEMENTS):
        pair = n % pairs
        provider = providers[pair % len(providers)]
        consumer = consumers[(pair // len(providers) + pair * 7) % len(consumers)]
        if consumer == provider:
            consumer = consumers[(consumers.index(consumer) + 1) % len(consumers)]
        kind = "one_off" if n % 10 == 1 else "metered" if n % 10 == 2 else "recurring"
        start = dt.date(2025, 2, 1 + n % 28) if n % 5 == 0 or kind == "one_off" else dt.date(2024, 6, 1)
        end = dt.date(2025, 2, 20) if n % 17 == 0 and start < dt.date(2025, 2, 20) else None
        offer_id, version_id = offers[provider, kind]
        agreement_id = uuid.uuid4()
        rows.append(
            Agreement(
                id=agreement_id,
                reference=f"AGR-2025-{n + 1:06d}",
                request=None,
                offer=offer_id,
                offer_version=version_id,
                provider=provider,
                consumer=consumer,
                quantity=1 + n % 3,
                start_date=start,
                end_date=end,
                status="active",
                imported=True,
                created_at=moment,
                version=1,
            )
        )
        if kind == "metered" and n % 50 != 2:
            usage.append(
                UsageReport(
                    id=uuid.uuid4(),
                    agreement=agreement_id,
                    period=PERIOD,
                    quantity_milli=12_500 + n,
                    reported_by=None,
                    reported_at=moment,
                    version=1,
                )
            )
    for index in range(0, len(rows), BATCH):
        await Agreement.insert(*rows[index : index + BATCH])
    for index in range(0, len(usage), BATCH):
        await UsageReport.insert(*usage[index : index + BATCH])
    return {"agreements": len(rows), "pairs": pairs, "seconds": time.perf_counter() - started}


async def _run() -> dict[str, Any]:
    from marketplace.auth import Actor
    from marketplace.db import engine
    from marketplace.settlement import services

    db = engine()
    await db.start_connection_pool(min_size=1, max_size=4)  # type: ignore[attr-defined]
    try:
        started = time.perf_counter()
        run, _ = await services.run_period(PERIOD, Actor(label="bench"))
        seconds = time.perf_counter() - started
    finally:
        await db.close_connection_pool()  # type: ignore[attr-defined]
    return {
        "seconds": seconds,
        "status": run.status,
        "charged": run.counts.charged,
        "settlements": run.counts.settlements,
        "missing": run.counts.missing_usage,
        "gross": run.totals.gross,
        "peak_mb": _peak_mb(),
    }


async def _bulk(url: str) -> dict[str, Any]:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "CREATE TABLE bench_lines (id UUID PRIMARY KEY, settlement UUID NOT NULL, line INTEGER NOT NULL, "
            "agreement UUID NOT NULL, period VARCHAR(7) NOT NULL, description TEXT NOT NULL, "
            "pricing VARCHAR(16) NOT NULL, quantity_milli BIGINT NOT NULL, unit VARCHAR(60) NOT NULL, "
            "unit_price_cents BIGINT NOT NULL, net_cents BIGINT NOT NULL, tax_cents BIGINT NOT NULL, "
            "gross_cents BIGINT NOT NULL, reversed BOOLEAN NOT NULL DEFAULT FALSE)"
        )
        started = time.perf_counter()
        statement = (
            "INSERT INTO bench_lines (id, settlement, line, agreement, period, description, pricing, quantity_milli, "
            "unit, unit_price_cents, net_cents, tax_cents, gross_cents) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        )
        async with connection.transaction():
            for index in range(0, AGREEMENTS, BATCH):
                await connection.executemany(
                    statement,
                    [
                        (
                            uuid.uuid4(),
                            uuid.uuid4(),
                            1,
                            uuid.uuid4(),
                            PERIOD,
                            "Leistung",
                            "recurring",
                            1000,
                            "Stück",
                            4000,
                            4000,
                            0,
                            4000,
                        )
                        for _ in range(index, min(AGREEMENTS, index + BATCH))
                    ],
                )
        seconds = time.perf_counter() - started
    finally:
        await connection.close()
    return {"rows": AGREEMENTS, "seconds": seconds, "peak_mb": _peak_mb()}


def child(mode: str, url: str) -> None:
    """One measurement in this process; its figures as JSON on the last line."""
    if mode == "setup":
        figures = asyncio.run(_setup())
    elif mode == "run":
        figures = asyncio.run(_run())
    elif mode == "bulk":
        figures = asyncio.run(_bulk(url))
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(figures))


# --- the parent -----------------------------------------------------------------------------------------


def _run_child(env: dict[str, str], mode: str, url: str) -> dict[str, Any]:
    return run_child("bench.settlement", env, mode, url)


async def _admin(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(SERVER)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def main() -> None:
    """Create the throwaway database, measure, drop it, print the figures."""
    name = f"settle_bench_{os.getpid()}"
    url = _database_url(name)
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except OSError as exc:
        print(f"\nSettlement benchmark SKIPPED: no PostgreSQL at {SERVER} ({exc})")
        return
    try:
        env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", "SETTLEMENT_FEE_PERCENT": "1"}
        env.pop("REDIS_URL", None)
        setup = _run_child(env, "setup", url)
        run = _run_child(env, "run", url)
        bulk = _run_child(env, "bulk", url)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    ratio = run["seconds"] / bulk["seconds"] if bulk["seconds"] else float("inf")
    print()
    print(
        f"Settlement run (PostgreSQL, in process, no Redis): {setup['agreements']} agreements among {MEMBERS} "
        f"members, {setup['pairs']} provider/consumer pairs (setup {setup['seconds']:.0f} s, not timed)"
    )
    print(f"{'measurement':<44} {'seconds':>8} {'rows/s':>9} {'peak MB':>8}")
    print(
        f"{'settlement run (' + str(run['settlements']) + ' settlements)':<44} {run['seconds']:>8.1f} "
        f"{run['charged'] / run['seconds']:>9.0f} {run['peak_mb']:>8.0f}"
    )
    print(
        f"{'bare bulk insert of as many rows':<44} {bulk['seconds']:>8.2f} "
        f"{bulk['rows'] / bulk['seconds']:>9.0f} {bulk['peak_mb']:>8.0f}"
    )
    print(
        f"status {run['status']}: {run['charged']} agreements charged, {run['missing']} without usage report, "
        f"gross {run['gross']} EUR"
    )
    print(
        f"target ≤ {TARGET_RATIO:.0f} × bulk insert: {'met' if ratio <= TARGET_RATIO else 'NOT met'} ({ratio:.1f} ×); "
        f"target peak ≤ {TARGET_MB:.0f} MB: {'met' if run['peak_mb'] <= TARGET_MB else 'NOT met'} "
        f"({run['peak_mb']:.0f} MB)"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3:
        child(sys.argv[1], sys.argv[2])
    else:
        main()
