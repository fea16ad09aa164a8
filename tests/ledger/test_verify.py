"""Verify: the hash chain and the closed periods' hashes reveal changes behind the ledger's back."""

from __future__ import annotations

import asyncio
import datetime as dt

import ledger
from ledger.render import chain_hash, entry_text
from tests.ledger.builders import NOV_30, open_cooperative, payment, settlement
from tests.ledger.tamper import tamper


async def _journal() -> list[ledger.Entry]:
    await open_cooperative()
    return [
        await settlement(number="S-2026-000001"),
        await settlement(number="S-2026-000002", amount="20.00"),
        await payment(date=NOV_30, link="S-2026-000001"),
    ]


async def test_each_entry_hashes_the_previous_hash_and_its_text() -> None:
    first, second, _ = await _journal()
    assert first.prev_hash == "0" * 64
    assert second.prev_hash == first.hash
    assert second.hash == chain_hash(first.hash, entry_text(second))


async def test_verify_accepts_an_untouched_journal() -> None:
    await _journal()
    await ledger.close_period("2026-11", actor="user:carol")
    report = await ledger.verify()
    assert report.ok, report.first_break
    assert (report.entries_checked, report.periods_checked) == (3, 1)


async def test_verify_names_the_entry_whose_amount_was_altered() -> None:
    _, second, _ = await _journal()
    await tamper(
        "ledger_postings",
        f"UPDATE ledger_postings SET amount_cents = -amount_cents WHERE entry = '{second.id}'",
    )
    report = await ledger.verify()
    assert not report.ok
    assert report.entry_id == second.id
    assert report.first_break == "entry 2 has been altered: its hash does not match its content"


async def test_verify_names_the_entry_whose_narration_was_altered() -> None:
    first, _, _ = await _journal()
    await tamper("ledger_entries", f"UPDATE ledger_entries SET narration = 'harmless' WHERE id = '{first.id}'")
    report = await ledger.verify()
    assert (report.ok, report.entry_id) == (False, first.id)


async def test_verify_finds_a_deleted_entry() -> None:
    _, second, third = await _journal()
    await tamper("ledger_postings", f"DELETE FROM ledger_postings WHERE entry = '{second.id}'")
    await tamper("ledger_entries", f"DELETE FROM ledger_entries WHERE id = '{second.id}'")
    report = await ledger.verify()
    assert (report.ok, report.entry_id) == (False, third.id)
    assert report.first_break == "entry number 2 is missing (next is 3)"


async def test_verify_finds_a_changed_balance_assertion_of_a_closed_period() -> None:
    await _journal()
    await ledger.close_period("2026-11", actor="user:carol")
    await tamper("ledger_balance_assertions", "UPDATE ledger_balance_assertions SET amount_cents = amount_cents + 1")
    report = await ledger.verify()
    assert (report.ok, report.period) == (False, "2026-11")


async def test_verify_finds_an_entry_moved_out_of_a_closed_period_with_its_chain_rebuilt() -> None:
    # Whoever rewrites a row and all following hashes still cannot match the frozen period files.
    entries = await _journal()
    await ledger.close_period("2026-11", actor="user:carol")
    last = entries[-1]
    moved = ledger.Entry(**{**{f: getattr(last, f) for f in last.__slots__}, "date": dt.date(2026, 12, 1)})
    new_hash = chain_hash(last.prev_hash, entry_text(moved))
    await tamper(
        "ledger_entries",
        f"UPDATE ledger_entries SET date = '2026-12-01', hash = '{new_hash}' WHERE id = '{last.id}'",
    )
    report = await ledger.verify()
    assert (report.ok, report.period) == (False, "2026-11")


async def test_concurrent_posts_form_one_unbroken_chain() -> None:
    await open_cooperative()
    await asyncio.gather(*(settlement(number=f"S-2026-{n:06d}") for n in range(1, 9)))
    report = await ledger.verify()
    assert report.ok, report.first_break
    assert report.entries_checked == 8
