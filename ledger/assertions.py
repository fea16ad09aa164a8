"""Balance assertions recorded from outside the period close: a balance checked against the journal, kept, and
written into the export so that Beancount proves it again (ledger.md: assertions hold at the start of their date).

The reconciliation records one per bank statement whose closing balance the journal agrees with. An assertion
that does not hold is never recorded: the caller gets the difference instead, and the export stays valid.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger import rules
from ledger.accounts import get_account
from ledger.balances import balances
from ledger.db import JOURNAL_LOCK, lock, transaction
from ledger.errors import InvalidEntry
from ledger.journal import as_uuid
from ledger.render import balance_text
from ledger.tables import Period as PeriodRow
from ledger.tables import RecordedAssertion as AssertionRow


@dataclass(frozen=True, slots=True)
class RecordedBalance:
    """A recorded assertion: ``amount`` is the balance of ``account`` at the end of ``as_of``."""

    id: uuid.UUID
    account: str
    currency: str
    as_of: dt.date
    amount: Decimal
    source: str
    actor: str
    created_at: dt.datetime

    @property
    def date(self) -> dt.date:
        """The date of the Beancount ``balance`` directive: the day after ``as_of``."""
        return self.as_of + dt.timedelta(days=1)

    def text(self) -> str:
        """The Beancount ``balance`` directive."""
        return balance_text(self.date, self.account, int(self.amount.scaleb(2)), self.currency)


@dataclass(frozen=True, slots=True)
class AssertionCheck:
    """The outcome of ``assert_balance``: what was asserted, what the journal holds, and whether it was recorded."""

    account: str
    currency: str
    as_of: dt.date
    expected: Decimal
    found: Decimal
    recorded: bool
    reason: str | None = None

    @property
    def difference(self) -> Decimal:
        """``expected`` − ``found``: zero when the journal agrees."""
        return self.expected - self.found


def _recorded(row: dict[str, Any]) -> RecordedBalance:
    return RecordedBalance(
        id=as_uuid(row["id"]),
        account=str(row["account"]),
        currency=str(row["currency"]),
        as_of=row["date"] - dt.timedelta(days=1),
        amount=rules.decimal_cents(int(row["amount_cents"])),
        source=str(row["source"]),
        actor=str(row["actor"]),
        created_at=row["created_at"],
    )


async def assert_balance(
    account: str, amount: Decimal, *, as_of: dt.date, source: str, actor: str, currency: str = "EUR"
) -> AssertionCheck:
    """Record that ``account`` holds ``amount`` at the end of ``as_of``, if the journal agrees; idempotent.

    Nothing is recorded (``recorded=False`` with the ``reason``) when the journal holds another balance, the
    account is not open on the assertion's date, ``as_of`` falls into a closed period (its file is frozen), or
    another amount is already asserted for that day. Joins the caller's transaction if there is one.
    """
    rules.account_name(account)
    rules.currency(currency)
    rules.date(as_of)
    # A zero balance is a valid assertion, unlike a posting of zero.
    cents = 0 if isinstance(amount, Decimal) and amount.is_zero() else rules.cents(amount)
    origin = rules.text(source, "source", limit=200)
    who = rules.text(actor, "actor", limit=254)
    if not origin or not who:
        raise InvalidEntry("source and actor must not be empty")
    day = as_of + dt.timedelta(days=1)
    expected = rules.decimal_cents(cents)
    async with transaction():
        # The journal lock: no entry can be booked between reading the balance and recording the assertion.
        await lock(JOURNAL_LOCK)
        found_balance = [b.amount for b in await balances(as_of=as_of, accounts=[account]) if b.currency == currency]
        found = found_balance[0] if found_balance else Decimal("0.00")

        def refused(reason: str) -> AssertionCheck:
            return AssertionCheck(account, currency, as_of, expected, found, recorded=False, reason=reason)

        known = await get_account(account)
        if known.currency != currency:
            return refused(f"{account} is kept in {known.currency}, not {currency}")
        if known.opened_on > day or (known.closed_on is not None and known.closed_on < day):
            return refused(f"{account} is not open on {day}")
        latest = await PeriodRow.select(PeriodRow.period).order_by(PeriodRow.period, ascending=False).first()
        if latest is not None and rules.period_of(as_of) <= str(latest["period"]):
            return refused(f"{as_of} falls into a closed period (closed up to {latest['period']})")
        existing = (
            await AssertionRow.select()
            .where((AssertionRow.account == account) & (AssertionRow.currency == currency) & (AssertionRow.date == day))
            .first()
        )
        if existing is not None:
            asserted = rules.decimal_cents(int(existing["amount_cents"]))
            if asserted == expected:
                return AssertionCheck(account, currency, as_of, expected, found, recorded=True)
            return refused(f"{asserted} {currency} is already asserted for the end of {as_of}")
        if found != expected:
            return refused(f"the journal holds {found} {currency}")
        await AssertionRow.insert(
            AssertionRow(
                id=uuid.uuid4(),
                date=day,
                account=account,
                amount_cents=cents,
                currency=currency,
                source=origin,
                actor=who,
                created_at=dt.datetime.now(dt.UTC),
            )
        )
        return AssertionCheck(account, currency, as_of, expected, found, recorded=True)


async def recorded_assertions(
    *, start: dt.date | None = None, end: dt.date | None = None, accounts: frozenset[str] | None = None
) -> list[RecordedBalance]:
    """Recorded assertions whose ``as_of`` lies in ``start``..``end`` (inclusive), by date, account, currency."""
    query = AssertionRow.select()
    if start is not None:
        query = query.where(AssertionRow.date > start)
    if end is not None:
        query = query.where(AssertionRow.date <= end + dt.timedelta(days=1))
    rows = await query.order_by(AssertionRow.date).order_by(AssertionRow.account).order_by(AssertionRow.currency)
    return [_recorded(row) for row in rows if accounts is None or row["account"] in accounts]


async def recorded_by_period(*, accounts: frozenset[str] | None = None) -> dict[str, list[RecordedBalance]]:
    """Every recorded assertion grouped by the period of its ``as_of``: the period file it is written into."""
    grouped: dict[str, list[RecordedBalance]] = defaultdict(list)
    for assertion in await recorded_assertions(accounts=accounts):
        grouped[rules.period_of(assertion.as_of)].append(assertion)
    return dict(grouped)
