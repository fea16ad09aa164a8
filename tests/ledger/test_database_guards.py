"""The database itself refuses unbalanced entries and any change to the journal, whatever the code does."""

from __future__ import annotations

import uuid

import pytest

import ledger
from ledger.db import engine, transaction
from tests.ledger.builders import open_cooperative, settlement

ENTRY_COLUMNS = (
    "id, number, date, payee, narration, tags, links, metadata, idempotency_key, actor, created_at, prev_hash, hash"
)


def _entry_sql(entry_id: uuid.UUID, number: int) -> str:
    return (
        f"INSERT INTO ledger_entries ({ENTRY_COLUMNS}) VALUES "
        f"('{entry_id}', {number}, '2026-11-30', NULL, 'x', '', '', "
        f"'{{}}', 'raw-{entry_id}', 'raw', '2026-11-30T00:00:00+00:00', '{'a' * 64}', '{'b' * 64}')"
    )


def _posting_sql(entry_id: uuid.UUID, line: int, account: str, cents: int) -> str:
    return (
        "INSERT INTO ledger_postings (id, entry, line, account, amount_cents, currency) VALUES "
        f"('{uuid.uuid4()}', '{entry_id}', {line}, '{account}', {cents}, 'EUR')"
    )


async def _raw_entry(*postings: tuple[str, int]) -> None:
    entry_id = uuid.uuid4()
    async with transaction():
        for line, (account, cents) in enumerate(postings):
            await engine().run_ddl(_posting_sql(entry_id, line, account, cents))
        await engine().run_ddl(_entry_sql(entry_id, 99))


async def test_database_refuses_an_unbalanced_entry_inserted_with_sql() -> None:
    await open_cooperative()
    with pytest.raises(Exception, match="does not balance"):
        await _raw_entry(("Assets:Bank:Clearing", 10000), ("Assets:Receivable:HZD", -9000))
    assert await ledger.balances() == []


async def test_database_refuses_an_entry_with_one_posting() -> None:
    await open_cooperative()
    with pytest.raises(Exception, match=r"fewer than two postings|does not balance"):
        await _raw_entry(("Assets:Bank:Clearing", 10000))


async def test_database_accepts_a_balanced_entry_inserted_with_sql() -> None:
    await open_cooperative()
    await _raw_entry(("Assets:Bank:Clearing", 10000), ("Assets:Receivable:HZD", -10000))
    assert len(await ledger.balances()) == 2


async def test_database_refuses_a_posting_added_to_a_committed_entry() -> None:
    await open_cooperative()
    entry = await settlement()
    with pytest.raises(Exception, match="sealed"):
        await engine().run_ddl(_posting_sql(entry.id, 5, "Assets:Bank:Clearing", 100))


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_entries SET narration = 'changed'",
        "DELETE FROM ledger_entries",
        "UPDATE ledger_postings SET amount_cents = amount_cents * 2",
        "DELETE FROM ledger_postings",
    ],
)
async def test_database_refuses_to_update_or_delete_the_journal(sql: str) -> None:
    await open_cooperative()
    await settlement()
    with pytest.raises(Exception, match="append-only"):
        await engine().run_ddl(sql)


async def test_database_refuses_to_change_a_closed_period() -> None:
    await open_cooperative()
    await settlement()
    await ledger.close_period("2026-11", actor="user:carol")
    with pytest.raises(Exception, match="append-only"):
        await engine().run_ddl("UPDATE ledger_periods SET file_sha256 = '" + "0" * 64 + "'")
    with pytest.raises(Exception, match="append-only"):
        await engine().run_ddl("DELETE FROM ledger_balance_assertions")
