"""post_many: several entries under one lock and one Beancount load, all or none, chained like single posts."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

import ledger
from ledger import Leg, NewEntry
from ledger.check import check_entries
from ledger.models import Account, Entry, Posting
from ledger.tables import Entry as EntryRow
from tests.ledger.builders import NOV_30, OPENED, open_cooperative, settlement


def _settlement(number: int, consumer: str = "HZD", amount: str = "119.00", **changes: object) -> NewEntry:
    """A settlement entry as the settlement run books it; ``changes`` replace single fields."""
    fields: dict[str, object] = {
        "date": NOV_30,
        "narration": f"Leistungsverrechnung 2026-11 an {consumer}",
        "payee": "KDZ-MZ",
        "postings": [
            Leg(f"Assets:Receivable:{consumer}", Decimal(amount)),
            Leg("Liabilities:Payable:KDZ-MZ", -Decimal(amount) + Decimal("1.00")),
            Leg(ledger.FEES, Decimal("-1.00")),
        ],
        "idempotency_key": f"settlement:S-2026-{number:06d}",
        "actor": "system:settlement",
        "tags": ("settlement",),
        "links": (f"S-2026-{number:06d}",),
        "metadata": {"settlement": f"S-2026-{number:06d}", "period": "2026-11"},
    }
    fields.update(changes)
    return NewEntry(**fields)  # type: ignore[arg-type]


async def _count() -> int:
    return await EntryRow.count()


async def test_post_many_books_each_entry_balanced_with_sequential_numbers() -> None:
    await open_cooperative()
    entries = await ledger.post_many([_settlement(1), _settlement(2, amount="50.00")])
    assert [entry.number for entry in entries] == [1, 2]
    assert entries[1].postings == (
        ledger.Posting("Assets:Receivable:HZD", Decimal("50.00"), "EUR"),
        ledger.Posting("Liabilities:Payable:KDZ-MZ", Decimal("-49.00"), "EUR"),
        ledger.Posting(ledger.FEES, Decimal("-1.00"), "EUR"),
    )
    assert [await ledger.get_entry(entry.id) for entry in entries] == entries
    balances = {b.account: b.amount for b in await ledger.balances()}
    assert balances["Assets:Receivable:HZD"] == Decimal("169.00")


async def test_post_many_continues_the_hash_chain_of_single_posts() -> None:
    await open_cooperative()
    before = await settlement(number="S-2026-000099")
    first, second = await ledger.post_many([_settlement(1), _settlement(2)])
    after = await settlement(number="S-2026-000100")
    assert (first.prev_hash, second.prev_hash, after.prev_hash) == (before.hash, first.hash, second.hash)
    assert [before.number, first.number, second.number, after.number] == [1, 2, 3, 4]
    report = await ledger.verify()
    assert report.ok, report.first_break
    assert report.entries_checked == 4


async def test_post_many_refuses_the_whole_batch_for_one_unbalanced_entry_and_names_it() -> None:
    await open_cooperative()
    unbalanced = _settlement(
        2, postings=[Leg("Assets:Receivable:HZD", Decimal("10.00")), Leg(ledger.FEES, Decimal("-1.00"))]
    )
    with pytest.raises(ledger.UnbalancedEntry, match=r"^entry 2: the postings do not balance"):
        await ledger.post_many([_settlement(1), unbalanced, _settlement(3)])
    assert await _count() == 0


async def test_post_many_refuses_the_whole_batch_for_an_entry_on_a_closed_account_and_names_it() -> None:
    await open_cooperative("HZD", "KDZ-MZ", "GU-FFM")
    for name in ledger.member_accounts("GU-FFM"):
        await ledger.close_account(name, closed_on=dt.date(2026, 11, 15))
    with pytest.raises(ledger.AccountClosed, match=r"^entry 3: account Assets:Receivable:GU-FFM was closed"):
        await ledger.post_many([_settlement(1), _settlement(2), _settlement(3, consumer="GU-FFM")])
    assert await _count() == 0


async def test_post_many_refuses_the_whole_batch_for_an_entry_in_a_closed_period() -> None:
    await open_cooperative()
    await ledger.close_period("2026-11", actor="user:carol")
    december = _settlement(1, date=dt.date(2026, 12, 1))
    with pytest.raises(ledger.PeriodClosed, match=r"^entry 2: 2026-11-30 falls into a closed period"):
        await ledger.post_many([december, _settlement(2)])
    assert await _count() == 0


async def test_post_many_replayed_returns_the_same_entries_and_books_nothing_new() -> None:
    await open_cooperative()
    batch = [_settlement(1), _settlement(2)]
    first = await ledger.post_many(batch)
    again = await ledger.post_many(batch)
    assert again == first
    assert await _count() == 2


async def test_post_many_books_only_the_new_entries_of_a_partly_booked_batch() -> None:
    await open_cooperative()
    (booked,) = await ledger.post_many([_settlement(1)])
    entries = await ledger.post_many([_settlement(1), _settlement(2)])
    assert entries[0] == booked
    assert entries[1].number == 2 and entries[1].prev_hash == booked.hash
    assert (await ledger.verify()).ok


async def test_post_many_refuses_a_key_booked_with_different_content_and_books_nothing() -> None:
    await open_cooperative()
    await ledger.post_many([_settlement(1)])
    with pytest.raises(ledger.IdempotencyConflict, match=r"^entry 2: idempotency key 'settlement:S-2026-000001'"):
        await ledger.post_many([_settlement(2), _settlement(1, amount="5.00")])
    assert await _count() == 1


async def test_post_many_books_a_key_repeated_in_the_batch_once() -> None:
    await open_cooperative()
    first, second = await ledger.post_many([_settlement(1), _settlement(1)])
    assert first == second
    assert await _count() == 1


async def test_post_many_refuses_a_key_repeated_in_the_batch_with_different_content() -> None:
    await open_cooperative()
    with pytest.raises(ledger.IdempotencyConflict, match="earlier in the batch"):
        await ledger.post_many([_settlement(1), _settlement(1, amount="5.00")])
    assert await _count() == 0


async def test_post_many_of_nothing_books_nothing() -> None:
    await open_cooperative()
    assert await ledger.post_many([]) == []


async def test_post_many_moves_an_open_back_to_the_earliest_entry_on_the_account() -> None:
    await open_cooperative(opened_on=dt.date(2026, 11, 20))
    await ledger.post_many([_settlement(1), _settlement(2, date=dt.date(2026, 11, 10))])
    account = await ledger.get_account("Assets:Receivable:HZD")
    assert account.opened_on == dt.date(2026, 11, 10)


def _entry(key: str, account: str) -> Entry:
    return Entry(
        id=uuid.uuid4(),
        number=1,
        date=NOV_30,
        payee=None,
        narration="Zahlung",
        tags=(),
        links=(),
        metadata={},
        idempotency_key=key,
        actor="system:bank",
        created_at=dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC),
        reverses=None,
        prev_hash="",
        hash="",
        postings=(Posting("Assets:Bank:Clearing", Decimal("1.00"), "EUR"), Posting(account, Decimal("-1.00"), "EUR")),
    )


def test_check_entries_names_the_entry_that_beancount_refuses() -> None:
    bank = Account("Assets:Bank:Clearing", "EUR", OPENED, None)
    closed = Account("Assets:Receivable:HZD", "EUR", OPENED, dt.date(2026, 11, 15))
    good, bad = _entry("payment-1", "Assets:Bank:Clearing"), _entry("payment-2", "Assets:Receivable:HZD")
    with pytest.raises(ledger.InvalidEntry, match=r"^Beancount refuses entry 2 \(\"payment-2\"\)"):
        check_entries([good, bad], [bank, closed])


def test_check_entries_returns_the_text_of_each_entry_in_order() -> None:
    bank = Account("Assets:Bank:Clearing", "EUR", OPENED, None)
    hzd = Account("Assets:Receivable:HZD", "EUR", OPENED, None)
    entries = [_entry("payment-1", "Assets:Receivable:HZD"), _entry("payment-2", "Assets:Receivable:HZD")]
    texts = check_entries(entries, [bank, hzd])
    assert [text.count("payment-") for text in texts] == [1, 1]
    assert 'idempotency-key: "payment-2"' in texts[1]
