"""What the reconciliation API reads and writes: money as decimal strings with two places, dates ``YYYY-MM-DD``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from litestar.datastructures import UploadFile

from marketplace.settlement.schemas import Money
from marketplace.text import END

SettlementNumber = Annotated[str, msgspec.Meta(pattern=r"^S-\d{4}-\d{6}" + END, examples=["S-2026-000042"])]
PaymentStatus = Literal["open", "partially_paid", "paid"]
Bucket = Literal["0-30", "31-60", "61-90", "over_90"]


@dataclass
class StatementUpload:
    """A bank statement file: camt.053 XML (.001.02 or .001.08) or the CSV format of docs/reconciliation.md."""

    file: UploadFile


class AssignCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Assign the unallocated money of a bank line to a settlement by hand."""

    settlement: SettlementNumber
    amount: Annotated[
        Money | None, msgspec.Meta(description="Default: as much as the line and the settlement allow.")
    ] = None


class Allocation(msgspec.Struct, kw_only=True):
    """Money of a bank line allocated to one side of a settlement and booked."""

    settlement: str
    side: Literal["consumer", "provider"]
    method: Literal["reference", "amount_and_iban", "manual"]
    amount: Money
    ledger_entry_id: UUID
    settlement_status: PaymentStatus


class BankLine(msgspec.Struct, kw_only=True):
    """One booked entry of a statement; positive money received, negative money paid out."""

    id: UUID
    bank_reference: str
    booking_date: date
    value_date: date | None
    amount: Money
    currency: str = "EUR"
    counterparty_iban: str | None
    counterparty_name: str | None
    remittance: str
    end_to_end_id: str | None
    status: Literal["matched", "partially_matched", "unmatched"]
    unallocated: Money
    allocations: list[Allocation]
    ledger_entry_id: UUID | None


class BankStatement(msgspec.Struct, kw_only=True):
    """An imported statement with its balances; ``balance_difference`` is non-zero when they disagree.

    The opening balance holds at the start of ``opening_date``, the closing balance at the end of ``closing_date``.
    """

    id: UUID
    account_iban: str
    reference: str
    format: Literal["camt.053", "csv"]
    statement_date: date | None
    opening_date: date | None
    closing_date: date | None
    opening_balance: Money | None
    closing_balance: Money | None
    entries_total: Money
    entries: int
    balance_ok: bool | None
    balance_difference: Money | None
    imported_by: str
    imported_at: datetime


class ImportResult(msgspec.Struct, kw_only=True):
    """What an import did: the statements, the lines new in this import, and how many were already known."""

    statements: list[BankStatement]
    lines: list[BankLine]
    imported: int
    duplicates: int
    matched: int
    unmatched: int
    balance_differences: list[str]


class StatementWithLines(msgspec.Struct, kw_only=True):
    """A statement and its lines that still hold unallocated money."""

    statement: BankStatement
    unmatched_lines: list[BankLine]


class StatementPage(msgspec.Struct, kw_only=True):
    """One page of statements, newest first."""

    items: list[StatementWithLines]
    next_cursor: str | None


class OpenItem(msgspec.Struct, kw_only=True):
    """A settlement side not yet fully paid (receivable) or paid out (payable)."""

    settlement: str
    period: str
    kind: Literal["receivable", "payable"]
    member: str
    counterparty: str
    due_date: date
    age_days: int
    bucket: Bucket
    amount: Money
    paid: Money
    open: Money
    status: PaymentStatus


class BucketTotals(msgspec.Struct, kw_only=True):
    """Open amounts by age in days."""

    d0_30: Money = msgspec.field(name="0-30")
    d31_60: Money = msgspec.field(name="31-60")
    d61_90: Money = msgspec.field(name="61-90")
    over_90: Money
    total: Money


class OpenItems(msgspec.Struct, kw_only=True):
    """Open receivables and payables as of a day, with age buckets."""

    as_of: date
    member: str | None
    items: list[OpenItem]
    receivables: BucketTotals
    payables: BucketTotals
    currency: str = "EUR"


class PaymentOfSide(msgspec.Struct, kw_only=True):
    """One amount put on a side of a settlement: a bank line's allocation, or a share of a netting offset."""

    side: Literal["consumer", "provider"]
    amount: Money
    source: Literal["bank_line", "netting"]
    day: Annotated[date, msgspec.Meta(description="The bank line's booking day, or the netting's as-of day.")]
    reference: Annotated[str, msgspec.Meta(description="The bank reference, or the netting run's id.")]
    ledger_entry_id: UUID


class SettlementPayments(msgspec.Struct, kw_only=True):
    """What the consumer has paid on a settlement and what was paid out to its provider, and where from."""

    settlement: str
    consumer: str
    provider: str
    due: Annotated[Money, msgspec.Meta(description="What the consumer owes: the settlement's gross.")]
    paid: Money
    payment_status: PaymentStatus
    payout_due: Annotated[Money, msgspec.Meta(description="What is paid out to the provider: gross less the fee.")]
    paid_out: Money
    payout_status: PaymentStatus
    payments: list[PaymentOfSide]
    currency: str = "EUR"
