"""What the ledger API answers: money as decimal strings with two places, dates ``YYYY-MM-DD``, periods ``YYYY-MM``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

import msgspec

Money = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^-?\d+\.\d{2}$",
        description="An exact amount with two decimal places, e.g. 1234.50 (negative for credits).",
        examples=["1190.00"],
    ),
]
PeriodName = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-11"])]


class AccountBalance(msgspec.Struct, kw_only=True):
    """The balance of one account in one currency (Beancount's sign: liabilities are negative)."""

    account: str
    currency: str
    balance: Money


class MemberPosition(msgspec.Struct, kw_only=True):
    """A member's position: what it owes, what it is owed (both positive) and the difference it owes."""

    member: str
    currency: str
    receivable: Money
    payable: Money
    net: Money


class Balances(msgspec.Struct, kw_only=True):
    """Balances at the end of ``as_of`` (all dates if null), per account and per member."""

    as_of: dt.date | None
    member: str | None
    accounts: list[AccountBalance]
    members: list[MemberPosition]


class StatementLine(msgspec.Struct, kw_only=True):
    """One posting on the account with the balance after it."""

    date: dt.date
    entry_id: UUID
    number: int
    payee: str | None
    narration: str
    links: list[str]
    amount: Money
    balance: Money


class AccountStatement(msgspec.Struct, kw_only=True):
    """The postings of one account in the date range, with opening, running and closing balance."""

    account: str
    currency: str
    opening_balance: Money
    closing_balance: Money
    lines: list[StatementLine]


class Statement(msgspec.Struct, kw_only=True):
    """A statement (Kontoauszug): per account, the lines dated ``from``..``to`` (inclusive)."""

    member: str | None
    start: dt.date | None = msgspec.field(name="from")
    end: dt.date | None = msgspec.field(name="to")
    accounts: list[AccountStatement]


class Period(msgspec.Struct, kw_only=True):
    """A month of the ledger: open, or closed with its frozen file's sha256 and the balances asserted."""

    period: PeriodName
    state: Literal["open", "closed"]
    closed_at: dt.datetime | None = None
    closed_by: str | None = None
    entry_count: int | None = None
    file_sha256: str | None = None
    assertions: list[AccountBalance] = msgspec.field(default_factory=list)


class PeriodPage(msgspec.Struct):
    """One page of periods, oldest first."""

    items: list[Period]
    next_cursor: str | None


class VerifyResult(msgspec.Struct, kw_only=True):
    """What verification found: ``ok``, or the first break named (an entry or a closed period)."""

    ok: bool
    first_break: str | None
    entries_checked: int
    periods_checked: int
    entry_id: UUID | None = None
    period: str | None = None
