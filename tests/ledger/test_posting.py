"""Posting: balanced, exact to the cent, validated by Beancount before commit, idempotent, reversible."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

import ledger
from ledger import Leg
from ledger.db import transaction
from tests.ledger.builders import NOV_30, open_cooperative, settlement


async def _post(**overrides: Any) -> ledger.Entry:
    """A valid payment posting; ``overrides`` replace single arguments."""
    arguments: dict[str, Any] = {
        "date": NOV_30,
        "narration": "Zahlung HZD",
        "postings": [
            Leg("Assets:Bank:Clearing", Decimal("100.00")),
            Leg("Assets:Receivable:HZD", Decimal("-100.00")),
        ],
        "idempotency_key": "payment-1",
        "actor": "user:alice",
    }
    arguments.update(overrides)
    return await ledger.post(**arguments)


async def test_post_books_a_settlement_with_sequential_numbers() -> None:
    await open_cooperative()
    first = await settlement()
    second = await settlement(amount="10.00")
    assert (first.number, second.number) == (1, 2)
    assert first.postings == (
        ledger.Posting("Assets:Receivable:HZD", Decimal("1190.00"), "EUR"),
        ledger.Posting("Liabilities:Payable:KDZ-MZ", Decimal("-1190.00"), "EUR"),
    )
    assert await ledger.get_entry(first.id) == first


async def test_post_keeps_every_field_of_the_entry() -> None:
    await open_cooperative()
    entry = await settlement(number="S-2026-000007")
    stored = await ledger.get_entry(entry.id)
    assert stored.payee == "KDZ-MZ"
    assert stored.tags == ("settlement",)
    assert stored.links == ("S-2026-000007",)
    assert stored.metadata == {"period": "2026-11", "settlement": "S-2026-000007"}
    assert stored.actor == "system:settlement"
    assert stored.created_at == entry.created_at


async def test_post_refuses_unbalanced_entry() -> None:
    await open_cooperative()
    with pytest.raises(ledger.UnbalancedEntry, match=r"10\.00 EUR"):
        await _post(
            postings=[
                Leg("Assets:Bank:Clearing", Decimal("100.00")),
                Leg("Assets:Receivable:HZD", Decimal("-90")),
            ]
        )


async def test_post_refuses_more_than_two_decimal_places() -> None:
    await open_cooperative()
    with pytest.raises(ledger.InvalidEntry, match="two decimal places"):
        await _post(
            postings=[
                Leg("Assets:Bank:Clearing", Decimal("0.001")),
                Leg("Assets:Receivable:HZD", Decimal("-0.001")),
            ]
        )


async def test_post_refuses_float_amounts() -> None:
    await open_cooperative()
    with pytest.raises(ledger.InvalidEntry, match="must be a Decimal"):
        await _post(postings=[Leg("Assets:Bank:Clearing", 0.1), Leg("Assets:Receivable:HZD", -0.1)])  # type: ignore[arg-type]


async def test_post_refuses_a_single_posting() -> None:
    await open_cooperative()
    with pytest.raises(ledger.InvalidEntry, match="at least two postings"):
        await _post(postings=[Leg("Assets:Bank:Clearing", Decimal("1.00"))])


async def test_post_keeps_cents_exact() -> None:
    await open_cooperative()
    for number in range(3):
        await _post(
            idempotency_key=f"dime-{number}",
            postings=[
                Leg("Assets:Bank:Clearing", Decimal("0.10")),
                Leg("Assets:Receivable:HZD", Decimal("-0.10")),
            ],
        )
    assert await ledger.account_balance("Assets:Bank:Clearing") == Decimal("0.30")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tags", ["bad tag"], "tag 'bad tag'"),
        ("links", ["S 1"], "link 'S 1'"),
        ("metadata", {"Settlement": "S-1"}, "metadata key 'Settlement'"),
        ("metadata", {"amount": 5}, "metadata 'amount' must be a string"),
        ("metadata", {"entry-id": "x"}, "reserved"),
        ("narration", "two\nlines", "control characters"),
        ("date", dt.datetime(2026, 11, 30, tzinfo=dt.UTC), "datetime.date"),
    ],
)
async def test_post_refuses_what_beancount_would_refuse_with_a_clear_error(
    field: str, value: object, message: str
) -> None:
    await open_cooperative()
    with pytest.raises(ledger.InvalidEntry, match=message):
        await _post(**{field: value})


async def test_post_refuses_an_invalid_account_name() -> None:
    await open_cooperative()
    with pytest.raises(ledger.InvalidAccount, match="component 'hzd'"):
        await _post(
            postings=[
                Leg("Assets:Bank:Clearing", Decimal("1.00")),
                Leg("Assets:Receivable:hzd", Decimal("-1.00")),
            ]
        )


async def test_post_refuses_an_account_that_was_never_opened() -> None:
    await open_cooperative()
    with pytest.raises(ledger.UnknownAccount, match="Assets:Receivable:NEW"):
        await _post(
            postings=[
                Leg("Assets:Bank:Clearing", Decimal("1.00")),
                Leg("Assets:Receivable:NEW", Decimal("-1.00")),
            ]
        )


async def test_post_refuses_a_currency_the_account_is_not_kept_in() -> None:
    await open_cooperative()
    with pytest.raises(ledger.InvalidEntry, match="kept in EUR, not USD"):
        await _post(
            postings=[
                Leg("Assets:Bank:Clearing", Decimal("1.00"), "USD"),
                Leg("Assets:Receivable:HZD", Decimal("-1.00"), "USD"),
            ]
        )


async def test_post_keeps_quotes_and_backslashes_in_text() -> None:
    await open_cooperative()
    entry = await _post(payee='Stadt "Nord"', narration="Rechnung 12\\2026 über 100 €")
    assert (await ledger.get_entry(entry.id)).narration == "Rechnung 12\\2026 über 100 €"


async def test_post_with_the_same_key_and_content_returns_the_existing_entry() -> None:
    await open_cooperative()
    first = await _post()
    again = await _post()
    assert again == first
    assert len(await ledger.member_entries("HZD")) == 1


async def test_post_with_the_same_key_and_other_content_is_a_conflict() -> None:
    await open_cooperative()
    await _post()
    with pytest.raises(ledger.IdempotencyConflict) as raised:
        await _post(narration="Zahlung HZD, korrigiert")
    assert raised.value.http_status == 409


async def test_post_joins_the_callers_transaction() -> None:
    await open_cooperative()

    class Rollback(Exception):
        pass

    async def book_then_fail() -> None:
        async with transaction():
            await _post()
            raise Rollback

    with pytest.raises(Rollback):
        await book_then_fail()
    assert await ledger.get_entry_by_key("payment-1") is None


async def test_reverse_books_the_negated_postings_with_the_same_links() -> None:
    await open_cooperative()
    original = await settlement(number="S-2026-000042")
    reversal = await ledger.reverse(original.id, reason="Storno: doppelt abgerechnet", actor="user:bob", date=NOV_30)
    assert reversal.reverses == original.id
    assert reversal.links == original.links
    assert reversal.narration == "Storno: doppelt abgerechnet"
    assert [p.amount for p in reversal.postings] == [-p.amount for p in original.postings]
    assert await ledger.balances() == [
        ledger.Balance("Assets:Receivable:HZD", "EUR", Decimal("0.00")),
        ledger.Balance("Liabilities:Payable:KDZ-MZ", "EUR", Decimal("0.00")),
    ]


async def test_reverse_repeated_returns_the_same_reversal() -> None:
    await open_cooperative()
    original = await settlement()
    first = await ledger.reverse(original.id, reason="Storno", actor="user:bob", date=NOV_30)
    assert await ledger.reverse(original.id, reason="Storno", actor="user:bob", date=NOV_30) == first


async def test_reverse_refuses_an_entry_reversed_already() -> None:
    await open_cooperative()
    original = await settlement()
    await ledger.reverse(original.id, reason="Storno", actor="user:bob", date=NOV_30)
    with pytest.raises(ledger.AlreadyReversed):
        await ledger.reverse(original.id, reason="Storno", actor="user:bob", date=NOV_30, idempotency_key="other")


async def test_reverse_refuses_an_unknown_entry() -> None:
    import uuid

    with pytest.raises(ledger.EntryNotFound) as raised:
        await ledger.reverse(uuid.uuid4(), reason="Storno", actor="user:bob", date=NOV_30)
    assert raised.value.http_status == 404


def test_errors_carry_their_http_status() -> None:
    assert ledger.InvalidEntry("x").http_status == 422
    assert ledger.UnbalancedEntry("x").http_status == 422
    assert ledger.InvalidAccount("x").http_status == 422
    assert ledger.UnknownAccount("x").http_status == 422
    assert ledger.IdempotencyConflict("x").http_status == 409
    assert ledger.PeriodClosed("x").http_status == 409
    assert ledger.AccountClosed("x").http_status == 409
