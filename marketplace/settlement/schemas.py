"""What the settlement API reads and writes: money as decimal strings with two places, periods ``YYYY-MM``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from marketplace.periods import Period
from marketplace.text import multi_line

Money = Annotated[
    str,
    msgspec.Meta(pattern=r"^-?\d+\.\d{2}$", description="An exact amount with two decimal places.", examples=["81.43"]),
]
Reason = Annotated[str, multi_line(1000)]


class RunCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Settle a month that has ended."""

    period: Period


class ReverseCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Why a settlement is reversed (a corrected one is made by a new run)."""

    reason: Reason


class Totals(msgspec.Struct, kw_only=True):
    """Sums of rounded lines (the fee is the cooperative's share of the net)."""

    net: Money
    tax: Money
    gross: Money
    fee: Money
    currency: str = "EUR"


class Progress(msgspec.Struct, kw_only=True):
    """How far a run has come."""

    processed: int
    total: int
    percent: int


class RunCounts(msgspec.Struct, kw_only=True):
    """What a run found and did, by agreement."""

    agreements: int
    charged: int
    already_charged: int
    not_due: int
    missing_usage: int
    settlements: int
    errors: int


class MissingUsage(msgspec.Struct, kw_only=True):
    """A metered agreement without a usage report for the period: listed, not charged."""

    agreement_id: UUID
    reference: str
    provider: str
    consumer: str


class RunError(msgspec.Struct, kw_only=True):
    """A settlement the run could not book (e.g. a member's ledger account is closed)."""

    provider: str
    consumer: str
    detail: str


class SettlementRun(msgspec.Struct, kw_only=True):
    """A settlement run with its progress, counts, totals and report."""

    id: UUID
    period: str
    status: Literal["queued", "running", "done", "failed"]
    started_by: str
    fee_percent: str
    progress: Progress
    counts: RunCounts
    totals: Totals
    missing_usage: list[MissingUsage]
    errors: list[RunError]
    created_at: datetime
    finished_at: datetime | None


class SettlementLine(msgspec.Struct, kw_only=True):
    """One agreement charged for the period."""

    line: int
    agreement_id: UUID
    agreement_reference: str
    description: str
    pricing: Literal["recurring", "one_off", "metered"]
    quantity: str
    unit: str
    unit_price: Money
    active_days: int | None
    days_in_month: int | None
    net: Money
    tax_treatment: Literal["exempt_public_cooperation", "vat_19", "vat_7"]
    tax_rate: str
    tax: Money
    gross: Money
    reversed: bool


class Settlement(msgspec.Struct, kw_only=True):
    """A settlement: one consumer, one provider, one period, its lines, totals and ledger entries."""

    number: str
    period: str
    status: Literal["booked", "reversed"]
    provider: str
    consumer: str
    totals: Totals
    lines: list[SettlementLine]
    ledger_entry_id: UUID | None
    reversal_entry_id: UUID | None
    reversal_reason: str | None
    reversed_at: datetime | None
    run_id: UUID | None
    created_at: datetime
    version: int


class SettlementSummary(msgspec.Struct, kw_only=True):
    """A settlement in a list (without its lines)."""

    number: str
    period: str
    status: Literal["booked", "reversed"]
    provider: str
    consumer: str
    totals: Totals
    ledger_entry_id: UUID | None
    created_at: datetime


class SettlementPage(msgspec.Struct):
    """One page of settlements, newest number first."""

    items: list[SettlementSummary]
    next_cursor: str | None
