"""Builders for ledger tests: one function per thing, sensible defaults, override what the test is about."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import ledger
from ledger import Entry, Leg

NOV_30 = dt.date(2026, 11, 30)
OPENED = dt.date(2026, 11, 1)


async def open_cooperative(*members: str, opened_on: dt.date = OPENED) -> None:
    """The standard accounts plus the accounts of ``members`` (HZD and KDZ-MZ by default)."""
    await ledger.open_standard_accounts(opened_on=opened_on)
    for code in members or ("HZD", "KDZ-MZ"):
        await ledger.open_member_accounts(code, opened_on=opened_on)


async def settlement(
    consumer: str = "HZD",
    provider: str = "KDZ-MZ",
    amount: str = "1190.00",
    *,
    date: dt.date = NOV_30,
    number: str = "S-2026-000042",
    key: str | None = None,
) -> Entry:
    """A settlement entry as ledger.md shows it: the consumer owes, the provider is owed."""
    return await ledger.post(
        date=date,
        payee=provider,
        narration=f"Leistungsverrechnung {date:%Y-%m} an {consumer}",
        postings=[
            Leg(f"Assets:Receivable:{consumer}", Decimal(amount)),
            Leg(f"Liabilities:Payable:{provider}", -Decimal(amount)),
        ],
        idempotency_key=key or f"settlement:{number}:{consumer}:{provider}:{amount}:{date}",
        actor="system:settlement",
        tags=["settlement"],
        links=[number],
        metadata={"settlement": number, "period": f"{date:%Y-%m}"},
    )


async def payment(consumer: str = "HZD", amount: str = "1190.00", *, date: dt.date, link: str) -> Entry:
    """Money received from ``consumer`` on the clearing account."""
    return await ledger.post(
        date=date,
        narration=f"Zahlung {consumer}",
        postings=[
            Leg("Assets:Bank:Clearing", Decimal(amount)),
            Leg(f"Assets:Receivable:{consumer}", -Decimal(amount)),
        ],
        idempotency_key=f"payment:{consumer}:{amount}:{date}:{link}",
        actor="system:bank",
        links=[link],
    )
