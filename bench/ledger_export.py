"""``make bench``, second part: exporting the ledger against Beancount's own printer, at two journal sizes.

A journal of BENCH_LEDGER_ENTRIES entries (default 100,000) is built in a temporary SQLite database: rows are
bulk-inserted in batches, each entry rendered with the ledger's own canonical text and chained with its own
hash function (so ``verify()`` accepts the chain), skipping only the per-entry Beancount check of ``post()``.
At a quarter of the size and at the full size, separate processes then time:

- ``ledger.export``: read the journal in batches, render, write ``main.beancount`` and the period files, load
  them with Beancount's loader (the check) and rename them into place;
- the check alone (``beancount.loader`` on the exported ``main.beancount``), to show its share;
- Beancount's ``printer.print_entries`` on the same entries (loaded from the export beforehand, not timed).

Each process reports its peak resident memory (``ru_maxrss``), so that the figures show whether memory grows
with the number of entries. The targets are a ratio export / print_entries ≤ 1.0 and a peak ≤ 200 MB that does
not grow; the output says plainly whether they are met.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.child import run_child

ROOT = Path(__file__).resolve().parent.parent
ENTRIES = int(os.environ.get("BENCH_LEDGER_ENTRIES", "100000"))
MEMBERS = [f"MEMBER-{n:02d}" for n in range(1, 21)]
FIRST_DAY = dt.date(2024, 1, 1)
PER_DAY = 150
BATCH = 1000
TARGET_RATIO = 1.0
TARGET_MB = 200.0


def _peak_mb() -> float:
    # Linux reports kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the child processes (each imports the ledger with DATABASE_URL already set) ------------------------


async def _setup(total: int) -> dict[str, Any]:
    """Migrate (first time), open the accounts, and append entries until the journal holds ``total``."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    import ledger
    from ledger import rules
    from ledger.db import engine
    from ledger.models import Entry, Posting
    from ledger.render import GENESIS_HASH, chain_hash, entry_text
    from ledger.stream import last_number
    from ledger.tables import Entry as EntryRow
    from ledger.tables import Posting as PostingRow

    started = time.perf_counter()
    result = await run_forwards(app_name="all")
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")
    await ledger.open_standard_accounts(opened_on=FIRST_DAY)
    for code in MEMBERS:
        await ledger.open_member_accounts(code, opened_on=FIRST_DAY)
    number = await last_number()
    prev = GENESIS_HASH
    if number:
        row = await EntryRow.select(EntryRow.hash).where(EntryRow.number == number).first()
        assert row is not None
        prev = str(row["hash"])
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    db = engine()
    while number < total:
        entries: list[Entry] = []
        for n in range(number + 1, min(total, number + BATCH) + 1):
            day = FIRST_DAY + dt.timedelta(days=(n - 1) // PER_DAY)
            cents = 100 + (n * 7919) % 250_000
            amount = rules.decimal_cents(cents)
            consumer, provider = MEMBERS[n % len(MEMBERS)], MEMBERS[(n * 7 + 3) % len(MEMBERS)]
            link = f"S-{day.year}-{n:06d}"
            if n % 5:
                postings = (
                    Posting(ledger.receivable(consumer), amount, "EUR"),
                    Posting(ledger.payable(provider), -amount, "EUR"),
                )
                payee, narration, tags = provider, f"Leistungsverrechnung {day:%Y-%m} an {consumer}", ("settlement",)
                metadata = {"period": f"{day:%Y-%m}", "settlement": link}
            else:
                postings = (
                    Posting(ledger.CLEARING, amount, "EUR"),
                    Posting(ledger.receivable(consumer), -amount, "EUR"),
                )
                payee, narration, tags, metadata = None, f"Zahlung {consumer}", (), {}
            draft = Entry(
                id=uuid.UUID(int=n),
                number=n,
                date=day,
                payee=payee,
                narration=narration,
                tags=tags,
                links=(link,),
                metadata=metadata,
                idempotency_key=f"bench:{n}",
                actor="bench",
                created_at=base + dt.timedelta(seconds=n, microseconds=n % 1000),
                reverses=None,
                prev_hash=prev,
                hash="",
                postings=postings,
            )
            prev = chain_hash(prev, entry_text(draft))
            entries.append(replace(draft, hash=prev))
        async with db.transaction():
            await PostingRow.insert(
                *(
                    PostingRow(
                        id=uuid.uuid4(),
                        entry=e.id,
                        line=line,
                        account=p.account,
                        amount_cents=p.cents,
                        currency=p.currency,
                    )
                    for e in entries
                    for line, p in enumerate(e.postings)
                )
            )
            await EntryRow.insert(
                *(
                    EntryRow(
                        id=e.id,
                        number=e.number,
                        date=e.date,
                        payee=e.payee,
                        narration=e.narration,
                        tags=" ".join(e.tags),
                        links=" ".join(e.links),
                        metadata=json.dumps(e.metadata, sort_keys=True, ensure_ascii=False),
                        idempotency_key=e.idempotency_key,
                        actor=e.actor,
                        created_at=e.created_at,
                        reverses=None,
                        prev_hash=e.prev_hash,
                        hash=e.hash,
                    )
                    for e in entries
                )
            )
        number = entries[-1].number
    built = time.perf_counter() - started
    started = time.perf_counter()
    report = await ledger.verify()
    return {
        "entries": number,
        "seconds": built,
        "verify_ok": report.ok,
        "verify_seconds": time.perf_counter() - started,
        "peak_mb": _peak_mb(),
    }


async def _export(directory: str) -> dict[str, Any]:
    import ledger

    started = time.perf_counter()
    result = await ledger.export(directory)
    return {"entries": result.entries, "seconds": time.perf_counter() - started, "peak_mb": _peak_mb()}


async def _render(directory: str) -> dict[str, Any]:
    """What the export does without Beancount's check: read in batches, render, write one file."""
    from ledger.render import entry_text
    from ledger.stream import entries

    started = time.perf_counter()
    count = 0
    with (Path(directory) / "rendered.beancount").open("w", encoding="utf-8") as handle:
        async for batch in entries():
            handle.write("".join(entry_text(entry) + "\n" for entry in batch))
            count += len(batch)
    return {"entries": count, "seconds": time.perf_counter() - started, "peak_mb": _peak_mb()}


def _check(directory: str) -> dict[str, Any]:
    from beancount import loader

    started = time.perf_counter()
    entries, errors, _ = loader.load_file(str(Path(directory) / "main.beancount"))
    if errors:
        raise RuntimeError(f"Beancount refuses the export: {errors[:3]}")
    return {"directives": len(entries), "seconds": time.perf_counter() - started, "peak_mb": _peak_mb()}


def _print(directory: str) -> dict[str, Any]:
    from beancount import loader
    from beancount.parser import printer

    entries, errors, _ = loader.load_file(str(Path(directory) / "main.beancount"))
    if errors:
        raise RuntimeError(f"Beancount refuses the export: {errors[:3]}")
    target = Path(directory) / "printed.beancount"
    started = time.perf_counter()
    with target.open("w", encoding="utf-8") as handle:
        printer.print_entries(entries, file=handle)
    return {"directives": len(entries), "seconds": time.perf_counter() - started, "peak_mb": _peak_mb()}


def child(mode: str, argument: str) -> None:
    """Run one measurement in this process and print its figures as JSON on the last line."""
    if mode == "setup":
        figures = asyncio.run(_setup(int(argument)))
    elif mode == "export":
        figures = asyncio.run(_export(argument))
    elif mode == "render":
        figures = asyncio.run(_render(argument))
    elif mode == "check":
        figures = _check(argument)
    elif mode == "print":
        figures = _print(argument)
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(figures))


# --- the parent -----------------------------------------------------------------------------------------


def _run_child(env: dict[str, str], mode: str, argument: str) -> dict[str, Any]:
    return run_child("bench.ledger_export", env, mode, argument)


def main() -> None:
    """Build the journal in two steps and print export, check and print_entries figures for each size."""
    sizes = sorted({max(1, ENTRIES // 4), ENTRIES})
    rows: list[tuple[int, dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as folder:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite",
            "MARKETPLACE_VAR_DIR": folder,
            "BEANCOUNT_DISABLE_LOAD_CACHE": "1",
        }
        for size in sizes:
            setup = _run_child(env, "setup", str(size))
            directory = f"{folder}/export-{size}"
            export = _run_child(env, "export", directory)
            check = _run_child(env, "check", directory)
            render = _run_child(env, "render", directory)
            printed = _run_child(env, "print", directory)
            rows.append((size, setup, export, check, render, printed))
    print()
    print("Ledger export (SQLite, one process per measurement; peak = ru_maxrss of that process)")
    print("  export = ledger.export (read, render, write, Beancount check, rename); check = the loader alone;")
    print("  render = read + render + write without the check; print_entries = Beancount's printer, same entries")
    print(
        f"{'entries':>8} {'build s':>8} {'verify s':>9} {'export s':>9} {'check s':>8} {'render s':>9} "
        f"{'print s':>8} {'ratio':>6} {'export MB':>10} {'check MB':>9} {'render MB':>10} {'print MB':>9}"
    )
    for size, setup, export, check, render, printed in rows:
        ratio = export["seconds"] / printed["seconds"] if printed["seconds"] else float("inf")
        print(
            f"{size:>8} {setup['seconds']:>8.1f} {setup['verify_seconds']:>9.1f} {export['seconds']:>9.1f} "
            f"{check['seconds']:>8.1f} {render['seconds']:>9.1f} {printed['seconds']:>8.1f} {ratio:>6.2f} "
            f"{export['peak_mb']:>10.0f} {check['peak_mb']:>9.0f} {render['peak_mb']:>10.0f} {printed['peak_mb']:>9.0f}"
        )
        if not setup["verify_ok"] or export["entries"] != size:
            print(f"  WARNING: the {size}-entry journal did not verify or export completely")
    small, large = rows[0], rows[-1]
    ratio = large[2]["seconds"] / large[5]["seconds"] if large[5]["seconds"] else float("inf")
    peak = large[2]["peak_mb"]
    growth = large[2]["peak_mb"] - small[2]["peak_mb"]
    print(
        f"target ratio ≤ {TARGET_RATIO}: {'met' if ratio <= TARGET_RATIO else 'NOT met'} ({ratio:.2f}); "
        f"target peak ≤ {TARGET_MB:.0f} MB: {'met' if peak <= TARGET_MB else 'NOT met'} ({peak:.0f} MB); "
        f"peak grows by {growth:.0f} MB from {small[0]} to {large[0]} entries"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3:
        child(sys.argv[1], sys.argv[2])
    else:
        main()
