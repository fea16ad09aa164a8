"""Verification: recompute the hash chain and the closed periods' file hashes, and name the first break."""

from __future__ import annotations

from ledger.journal import entries_from_rows
from ledger.models import VerifyReport
from ledger.periods import closed_periods, period_sha256
from ledger.render import GENESIS_HASH, chain_hash, entry_text
from ledger.tables import Entry as EntryRow

BATCH_SIZE = 1000


async def verify(*, batch_size: int = BATCH_SIZE) -> VerifyReport:
    """Walk the journal in number order and every closed period; report the first difference found.

    An entry breaks the chain if its number is not the next one, its ``prev_hash`` is not its predecessor's
    hash, its postings do not balance, or its hash is not sha256(previous hash + its canonical text). A closed
    period breaks if its file, rendered again from the journal, no longer has the sha256 stored at closing.
    """
    expected_prev = GENESIS_HASH
    expected_number = 1
    checked = 0
    while True:
        rows = (
            await EntryRow.select()
            .where(EntryRow.number >= expected_number)
            .order_by(EntryRow.number)
            .limit(batch_size)
        )
        if not rows:
            break
        for entry in await entries_from_rows(rows):
            problem = None
            if entry.number != expected_number:
                problem = f"entry number {expected_number} is missing (next is {entry.number})"
            elif entry.prev_hash != expected_prev:
                problem = f"entry {entry.number} does not point at the hash of entry {entry.number - 1}"
            elif any(
                sum(p.cents for p in entry.postings if p.currency == c) for c in {p.currency for p in entry.postings}
            ):
                problem = f"entry {entry.number} does not balance"
            elif chain_hash(expected_prev, entry_text(entry)) != entry.hash:
                problem = f"entry {entry.number} has been altered: its hash does not match its content"
            if problem is not None:
                return VerifyReport(False, checked, 0, first_break=problem, entry_id=entry.id)
            checked += 1
            expected_prev = entry.hash
            expected_number += 1
    periods = 0
    for period in await closed_periods():
        sha256, count = await period_sha256(period.period, period.assertions)
        if count != period.entry_count or sha256 != period.file_sha256:
            return VerifyReport(
                False,
                checked,
                periods,
                first_break=f"closed period {period.period} no longer matches its frozen file",
                period=period.period,
            )
        periods += 1
    return VerifyReport(True, checked, periods)
