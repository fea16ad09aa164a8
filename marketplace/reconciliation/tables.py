"""Tables of the reconciliation context. The DDL, with its checks and unique indexes, is in the migration."""

from __future__ import annotations

from enum import Enum

from piccolo.columns import UUID, BigInt, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from marketplace.members.tables import Member
from marketplace.settlement.tables import Settlement


class BankStatement(Table, tablename="bank_statements"):
    """One account statement as the bank delivered it (camt.053 ``Stmt``, or one CSV file)."""

    id = UUID(primary_key=True)
    account_iban = Varchar(length=34, null=False)
    reference = Varchar(length=140, null=False)
    format = Varchar(length=16, null=False)
    statement_date = Date(null=True, default=None)
    opening_date = Date(null=True, default=None)
    closing_date = Date(null=True, default=None)
    opening_cents = BigInt(null=True, default=None)
    closing_cents = BigInt(null=True, default=None)
    entries_cents = BigInt(null=False, default=0)
    entries_count = Integer(null=False, default=0)
    imported_by = Varchar(length=254, null=False)
    imported_at = Timestamptz(null=False)


class BankLine(Table, tablename="bank_lines"):
    """One booked entry of a statement; unique by (account, bank reference) so it is imported once."""

    class Status(str, Enum):
        matched = "matched"
        partially_matched = "partially_matched"
        unmatched = "unmatched"

    id = UUID(primary_key=True)
    statement = ForeignKey(BankStatement, null=False, on_delete=OnDelete.restrict)
    account_iban = Varchar(length=34, null=False)
    bank_reference = Varchar(length=140, null=False)
    booking_date = Date(null=False)
    value_date = Date(null=True, default=None)
    amount_cents = BigInt(null=False)
    counterparty_iban = Varchar(length=34, null=True, default=None)
    counterparty_name = Varchar(length=140, null=True, default=None)
    remittance = Text(null=False, default="")
    end_to_end_id = Varchar(length=140, null=True, default=None)
    unallocated_cents = BigInt(null=False)
    status = Varchar(length=20, choices=Status, null=False)
    ledger_entry = UUID(null=True, default=None)
    created_at = Timestamptz(null=False)


class BankAllocation(Table, tablename="bank_allocations"):
    """Money of one bank line allocated to one side of one settlement, booked in the ledger."""

    class Side(str, Enum):
        consumer = "consumer"
        provider = "provider"

    class Method(str, Enum):
        reference = "reference"
        amount_and_iban = "amount_and_iban"
        manual = "manual"

    id = UUID(primary_key=True)
    line = ForeignKey(BankLine, null=False, on_delete=OnDelete.restrict)
    settlement = ForeignKey(Settlement, null=False, on_delete=OnDelete.restrict)
    side = Varchar(length=8, choices=Side, null=False)
    method = Varchar(length=16, choices=Method, null=False)
    amount_cents = BigInt(null=False)
    ledger_entry = UUID(null=False)
    created_by = Varchar(length=254, null=False)
    created_at = Timestamptz(null=False)


class SettlementPayment(Table, tablename="settlement_payments"):
    """What was paid on a settlement by its consumer and paid out to its provider, and the resulting states."""

    class Status(str, Enum):
        open = "open"
        partially_paid = "partially_paid"
        paid = "paid"

    settlement = ForeignKey(Settlement, primary_key=True, null=False, on_delete=OnDelete.restrict)
    paid_cents = BigInt(null=False, default=0)
    payment_status = Varchar(length=16, choices=Status, null=False)
    paid_out_cents = BigInt(null=False, default=0)
    payout_status = Varchar(length=16, choices=Status, null=False)
    updated_at = Timestamptz(null=False)


class NettingRun(Table, tablename="netting_runs"):
    """One netting of the open items as of a day, with the payees that could not be paid (``errors``, JSON)."""

    id = UUID(primary_key=True)
    as_of = Date(null=False)
    errors = Text(null=False, default="[]")
    created_by = Varchar(length=254, null=False)
    created_at = Timestamptz(null=False)


class NettingOffset(Table, tablename="netting_offsets"):
    """A member's receivables and payables offset against each other, booked as one ledger entry."""

    id = UUID(primary_key=True)
    run = ForeignKey(NettingRun, null=False, on_delete=OnDelete.restrict)
    member = ForeignKey(Member, null=False, on_delete=OnDelete.restrict)
    receivable_cents = BigInt(null=False)
    payable_cents = BigInt(null=False)
    amount_cents = BigInt(null=False)
    settlements = Text(null=False)
    ledger_entry = UUID(null=False)


class NettingShare(Table, tablename="netting_shares"):
    """The part of a netting offset allocated to one side of one settlement."""

    id = UUID(primary_key=True)
    netting_offset = ForeignKey(NettingOffset, null=False, on_delete=OnDelete.restrict)
    settlement = ForeignKey(Settlement, null=False, on_delete=OnDelete.restrict)
    side = Varchar(length=8, choices=BankAllocation.Side, null=False)
    amount_cents = BigInt(null=False)


class NettingPayout(Table, tablename="netting_payouts"):
    """One transfer proposed to a provider for what is still owed to it after netting."""

    id = UUID(primary_key=True)
    run = ForeignKey(NettingRun, null=False, on_delete=OnDelete.restrict)
    member = ForeignKey(Member, null=False, on_delete=OnDelete.restrict)
    amount_cents = BigInt(null=False)
    settlements = Text(null=False)
    end_to_end_id = Varchar(length=35, null=False)
    remittance = Varchar(length=140, null=False)
    status = Varchar(length=16, null=False)
    created_at = Timestamptz(null=False)
