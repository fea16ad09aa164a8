"""Tables of the ledger. The DDL, with its checks, triggers and indexes, is in ``piccolo_migrations``.

Money is integer cents (SQLite would turn a Decimal into a float, pitfalls.md). Entries, postings, closed
periods and their balance assertions are append-only: the database refuses UPDATE and DELETE.
"""

from __future__ import annotations

from piccolo.columns import UUID, BigInt, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table


class Account(Table, tablename="ledger_accounts"):
    """An account, opened on a date with one currency, closed (never deleted) when no longer used."""

    id = UUID(primary_key=True)
    name = Varchar(length=200, unique=True, null=False)
    currency = Varchar(length=3, null=False)
    opened_on = Date(null=False)
    closed_on = Date(null=True, default=None)
    created_at = Timestamptz(null=False)


class Entry(Table, tablename="ledger_entries"):
    """A journal entry: immutable, balanced, chained to its predecessor by ``hash``."""

    id = UUID(primary_key=True)
    number = BigInt(unique=True, null=False)
    date = Date(null=False)
    payee = Varchar(length=200, null=True, default=None)
    narration = Text(null=False)
    # Space-separated, sorted: Beancount tags and links cannot contain spaces.
    tags = Text(null=False)
    links = Text(null=False)
    # A JSON object of strings with sorted keys.
    metadata = Text(null=False)
    idempotency_key = Varchar(length=200, unique=True, null=False)
    actor = Varchar(length=254, null=False)
    created_at = Timestamptz(null=False)
    reverses = UUID(null=True, default=None)
    prev_hash = Varchar(length=64, unique=True, null=False)
    hash = Varchar(length=64, unique=True, null=False)


class Posting(Table, tablename="ledger_postings"):
    """One leg of an entry. Inserted before its entry: inserting the entry seals it (see the migration)."""

    id = UUID(primary_key=True)
    entry = ForeignKey(Entry, null=False, on_delete=OnDelete.restrict)
    line = Integer(null=False)
    account = Varchar(length=200, null=False)
    amount_cents = BigInt(null=False)
    currency = Varchar(length=3, null=False)


class Period(Table, tablename="ledger_periods"):
    """A closed month. Open months have no row: a period is open until it is closed."""

    id = UUID(primary_key=True)
    period = Varchar(length=7, unique=True, null=False)
    closed_at = Timestamptz(null=False)
    closed_by = Varchar(length=254, null=False)
    entry_count = BigInt(null=False)
    file_sha256 = Varchar(length=64, null=False)


class BalanceAssertion(Table, tablename="ledger_balance_assertions"):
    """The balance of an account at the start of ``date`` (the first day after a closed period)."""

    id = UUID(primary_key=True)
    period = Varchar(length=7, null=False)
    date = Date(null=False)
    account = Varchar(length=200, null=False)
    amount_cents = BigInt(null=False)
    currency = Varchar(length=3, null=False)


class RecordedAssertion(Table, tablename="ledger_recorded_assertions"):
    """A balance checked against the journal and recorded, e.g. a bank statement's closing balance.

    Like a closing assertion it holds at the start of ``date``: the balance at the end of the day before.
    """

    id = UUID(primary_key=True)
    date = Date(null=False)
    account = Varchar(length=200, null=False)
    amount_cents = BigInt(null=False)
    currency = Varchar(length=3, null=False)
    source = Varchar(length=200, null=False)
    actor = Varchar(length=254, null=False)
    created_at = Timestamptz(null=False)
