"""Values the ledger hands out. Database rows never leave the ledger; these frozen dataclasses do."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Leg:
    """A posting as the caller gives it: an account, a signed amount with at most two decimals, a currency."""

    account: str
    amount: Decimal
    currency: str = "EUR"


@dataclass(frozen=True, slots=True)
class Posting:
    """A stored posting. ``amount`` is exact: it is made from integer cents."""

    account: str
    amount: Decimal
    currency: str

    @property
    def cents(self) -> int:
        """The amount in cents."""
        return int(self.amount * 100)


@dataclass(frozen=True, slots=True)
class Entry:
    """A journal entry as stored: immutable, balanced, chained."""

    id: uuid.UUID
    number: int
    date: dt.date
    payee: str | None
    narration: str
    tags: tuple[str, ...]
    links: tuple[str, ...]
    metadata: dict[str, str]
    idempotency_key: str
    actor: str
    created_at: dt.datetime
    reverses: uuid.UUID | None
    prev_hash: str
    hash: str
    postings: tuple[Posting, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Account:
    """An account with its currency and the dates it is open."""

    name: str
    currency: str
    opened_on: dt.date
    closed_on: dt.date | None


@dataclass(frozen=True, slots=True)
class Balance:
    """The balance of one account in one currency."""

    account: str
    currency: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class MemberBalance:
    """A member's position: what it owes, what it is owed (both positive) and the difference it owes."""

    member: str
    receivable: Decimal
    payable: Decimal
    net: Decimal


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One posting on an account's statement with the balance after it."""

    date: dt.date
    entry_id: uuid.UUID
    number: int
    payee: str | None
    narration: str
    links: tuple[str, ...]
    amount: Decimal
    balance: Decimal


@dataclass(frozen=True, slots=True)
class Statement:
    """Postings of one account between two dates (inclusive) with the running balance."""

    account: str
    currency: str
    start: dt.date | None
    end: dt.date | None
    opening_balance: Decimal
    closing_balance: Decimal
    lines: tuple[StatementLine, ...]


@dataclass(frozen=True, slots=True)
class ClosedPeriod:
    """A closed month: its frozen file's sha256 and the balances asserted on the next month's first day."""

    period: str
    closed_at: dt.datetime
    closed_by: str
    entry_count: int
    file_sha256: str
    assertions: tuple[Balance, ...]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What ``verify()`` found: ``ok`` or the first break, named."""

    ok: bool
    entries_checked: int
    periods_checked: int
    first_break: str | None = None
    entry_id: uuid.UUID | None = None
    period: str | None = None
