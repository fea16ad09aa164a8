"""Tables of the settlement context. The DDL, with its checks and the charged-once index, is in the migration."""

from __future__ import annotations

from enum import Enum

from piccolo.columns import UUID, BigInt, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from marketplace.booking.tables import Agreement
from marketplace.members.tables import Member


class SettlementRun(Table, tablename="settlement_runs"):
    """One computation and booking of a period's settlements, with its progress and report."""

    class Status(str, Enum):
        queued = "queued"
        running = "running"
        done = "done"
        failed = "failed"

    id = UUID(primary_key=True)
    period = Varchar(length=7, null=False)
    status = Varchar(length=16, choices=Status, null=False)
    started_by = Varchar(length=254, null=False)
    requested_by_member = ForeignKey(Member, null=True, default=None, on_delete=OnDelete.restrict)
    idempotency_key = Varchar(length=255, null=True, default=None)
    fee_percent = Varchar(length=12, null=False, default="0")
    agreements_total = Integer(null=False, default=0)
    agreements_processed = Integer(null=False, default=0)
    agreements_charged = Integer(null=False, default=0)
    agreements_already_charged = Integer(null=False, default=0)
    agreements_not_due = Integer(null=False, default=0)
    settlements_created = Integer(null=False, default=0)
    net_cents = BigInt(null=False, default=0)
    tax_cents = BigInt(null=False, default=0)
    gross_cents = BigInt(null=False, default=0)
    fee_cents = BigInt(null=False, default=0)
    missing_usage = Text(null=False, default="[]")
    errors = Text(null=False, default="[]")
    created_at = Timestamptz(null=False)
    finished_at = Timestamptz(null=True, default=None)
    version = Integer(null=False, default=1)
    #: Written every few seconds by the process executing the run; a stale one means that process died.
    heartbeat_at = Timestamptz(null=True, default=None)
    # What earlier attempts of this run booked, counted as the run's own when a resumed attempt reports.
    resumed_settlements = Integer(null=False, default=0)
    resumed_lines = Integer(null=False, default=0)
    resumed_net_cents = BigInt(null=False, default=0)
    resumed_tax_cents = BigInt(null=False, default=0)
    resumed_gross_cents = BigInt(null=False, default=0)
    resumed_fee_cents = BigInt(null=False, default=0)


class SettlementNumber(Table, tablename="settlement_numbers"):
    """The last settlement number given out per year; incremented in the booking transaction, so gapless."""

    year = Integer(primary_key=True)
    last_number = Integer(null=False)


class Settlement(Table, tablename="settlements"):
    """What one consumer owes one provider for one period, booked as one ledger entry."""

    class Status(str, Enum):
        booked = "booked"
        reversed = "reversed"

    id = UUID(primary_key=True)
    number = Varchar(length=20, unique=True, null=False)
    run = ForeignKey(SettlementRun, null=True, default=None, on_delete=OnDelete.restrict)
    period = Varchar(length=7, null=False)
    provider = ForeignKey(Member, null=False, on_delete=OnDelete.restrict)
    consumer = ForeignKey(Member, null=False, on_delete=OnDelete.restrict)
    net_cents = BigInt(null=False)
    tax_cents = BigInt(null=False)
    gross_cents = BigInt(null=False)
    fee_cents = BigInt(null=False, default=0)
    status = Varchar(length=16, choices=Status, null=False)
    ledger_entry = UUID(null=True, default=None)
    reversal_entry = UUID(null=True, default=None)
    reversal_reason = Text(null=True, default=None)
    reversed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(null=False)
    version = Integer(null=False, default=1)


class SettlementLine(Table, tablename="settlement_lines"):
    """One agreement charged for one period; at most one non-reversed line per (agreement, period)."""

    id = UUID(primary_key=True)
    settlement = ForeignKey(Settlement, null=False, on_delete=OnDelete.restrict)
    line = Integer(null=False)
    agreement = ForeignKey(Agreement, null=False, on_delete=OnDelete.restrict)
    period = Varchar(length=7, null=False)
    description = Text(null=False)
    pricing = Varchar(length=16, null=False)
    quantity_milli = BigInt(null=False)
    unit = Varchar(length=60, null=False)
    unit_price_cents = BigInt(null=False)
    active_days = Integer(null=True, default=None)
    days_in_month = Integer(null=True, default=None)
    net_cents = BigInt(null=False)
    tax_treatment = Varchar(length=32, null=False)
    tax_rate = Varchar(length=8, null=False)
    tax_cents = BigInt(null=False)
    gross_cents = BigInt(null=False)
    reversed = Boolean(null=False, default=False)
