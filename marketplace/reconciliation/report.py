"""The reconciliation report of a period: documents against the ledger, settlements' payment records against the
bank allocations and netting shares behind them, bank lines against payments booked, bank statements against the
ledger's bank account. Every difference is listed with what, expected and found; a clean
period lists none.

Everything is read from the data as it is now: the settlement rows and their lines, the journal (the entries of the
period's settlements, their reversals, every entry of the period that touches the bank account), the bank lines
booked in the period and the statements whose closing day lies in it. Nothing is written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal
from uuid import UUID

import msgspec

import ledger
from ledger.stream import entries as journal_entries
from marketplace import periods
from marketplace.auth import Principal
from marketplace.db import as_uuid
from marketplace.errors import NotFound
from marketplace.members.tables import Member
from marketplace.reconciliation.services import payment_status
from marketplace.reconciliation.tables import BankAllocation, BankLine, BankStatement, NettingShare, SettlementPayment
from marketplace.settlement.schemas import Money
from marketplace.settlement.tables import Settlement, SettlementLine


def money(cents: int) -> str:
    """Cents as the API writes money: ``"81.43"``, ``"-12.00"``."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


# --- what the report answers ----------------------------------------------------------------------------


class Difference(msgspec.Struct, kw_only=True):
    """One thing that does not agree: its subject (a settlement number, a statement, ``totals``), what was
    compared, the amount expected (the document, the bank) and the amount found (the ledger, the lines)."""

    subject: str
    what: str
    expected: Money | None
    found: Money | None


class SettlementCheck(msgspec.Struct, kw_only=True):
    """A settlement of the period: its row, the sums of its lines, and the postings of its ledger entry."""

    number: str
    consumer: str
    provider: str
    status: Literal["booked", "reversed"]
    net: Money
    tax: Money
    gross: Money
    fee: Money
    lines_net: Money
    lines_tax: Money
    lines_gross: Money
    ledger_entry_id: UUID | None
    ledger_receivable: Money | None
    ledger_payable: Money | None
    ledger_fee: Money | None
    reversal_entry_id: UUID | None
    ok: bool


class SideTotals(msgspec.Struct, kw_only=True):
    """Receivables (what consumers owe), payables (what providers are owed, positive) and the fee."""

    receivable: Money
    payable: Money
    fee: Money


class SettlementTotals(msgspec.Struct, kw_only=True):
    """The period's documents (booked settlements) against the ledger (their entries and reversals)."""

    settlements: int
    booked: int
    reversed: int
    documents: SideTotals
    ledger: SideTotals


class PaymentTotals(msgspec.Struct, kw_only=True):
    """Bank lines booked in the period against the bank account's postings of their ledger entries."""

    lines: int
    received: Money
    paid_out: Money
    ledger_received: Money
    ledger_paid_out: Money


class StatementCheck(msgspec.Struct, kw_only=True):
    """A statement whose closing day lies in the period: consistent in itself, and agreeing with the ledger."""

    id: UUID
    reference: str
    account_iban: str
    format: Literal["camt.053", "csv"]
    opening_date: date | None
    closing_date: date | None
    opening_balance: Money | None
    entries_total: Money
    closing_balance: Money | None
    consistent: bool | None
    ledger_balance: Money | None
    asserted: bool


class ReconciliationReport(msgspec.Struct, kw_only=True):
    """The reconciliation of one period; ``clean`` when ``differences`` is empty.

    A member's accountant gets its member's part: its settlements and its side of the totals, without the
    cooperative's bank account (``payments`` and ``statements`` are null then).
    """

    period: str
    member: str | None
    clean: bool
    settlements: list[SettlementCheck]
    totals: SettlementTotals
    payments: PaymentTotals | None
    statements: list[StatementCheck] | None
    differences: list[Difference]
    currency: str = "EUR"


# --- computing it ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Sides:
    receivable: int = 0
    payable: int = 0
    fee: int = 0

    def add(self, postings: Iterable[ledger.Posting], own: frozenset[str] | None) -> None:
        for posting in postings:
            if own is not None and posting.account not in own:
                continue
            if posting.account.startswith("Assets:Receivable:"):
                self.receivable += posting.cents
            elif posting.account.startswith("Liabilities:Payable:"):
                self.payable -= posting.cents
            elif posting.account == ledger.FEES:
                self.fee -= posting.cents

    def out(self) -> SideTotals:
        return SideTotals(receivable=money(self.receivable), payable=money(self.payable), fee=money(self.fee))


@dataclass(slots=True)
class _Findings:
    differences: list[Difference] = field(default_factory=list)

    def add(self, subject: str, what: str, expected: int | None, found: int | None) -> None:
        self.differences.append(
            Difference(
                subject=subject,
                what=what,
                expected=None if expected is None else money(expected),
                found=None if found is None else money(found),
            )
        )

    def compare(self, subject: str, what: str, expected: int, found: int) -> bool:
        if expected == found:
            return True
        self.add(subject, what, expected, found)
        return False


def _by_account(postings: Iterable[ledger.Posting]) -> dict[str, int]:
    sums: dict[str, int] = defaultdict(int)
    for posting in postings:
        sums[posting.account] += posting.cents
    return {account: cents for account, cents in sums.items() if cents}


async def _lines_sums(ids: list[Any]) -> dict[UUID, tuple[int, int, int]]:
    sums: dict[UUID, list[int]] = defaultdict(lambda: [0, 0, 0])
    for index in range(0, len(ids), 500):
        rows = await SettlementLine.select(
            SettlementLine.settlement, SettlementLine.net_cents, SettlementLine.tax_cents, SettlementLine.gross_cents
        ).where(SettlementLine.settlement.is_in(ids[index : index + 500]))
        for row in rows:
            found = sums[as_uuid(row["settlement"])]
            found[0] += int(row["net_cents"])
            found[1] += int(row["tax_cents"])
            found[2] += int(row["gross_cents"])
    return {key: (value[0], value[1], value[2]) for key, value in sums.items()}


@dataclass(slots=True)
class _Payments:
    """The payment records of settlements, and what bank allocations and netting shares put on their sides."""

    recorded: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    traced: dict[tuple[UUID, str], int] = field(default_factory=lambda: defaultdict(int))

    @classmethod
    async def of(cls, ids: list[Any]) -> _Payments:
        found = cls()
        for index in range(0, len(ids), 500):
            chunk = ids[index : index + 500]
            for row in await SettlementPayment.select().where(SettlementPayment.settlement.is_in(chunk)):
                found.recorded[as_uuid(row["settlement"])] = dict(row)
            for table in (BankAllocation, NettingShare):
                rows = await table.select(table.settlement, table.side, table.amount_cents).where(
                    table.settlement.is_in(chunk)
                )
                for row in rows:
                    found.traced[as_uuid(row["settlement"]), str(row["side"])] += int(row["amount_cents"])
        return found

    def check(self, settlement: UUID, number: str, gross: int, fee: int, findings: _Findings) -> bool:
        """Paid and paid out as recorded against their sources, and each side's state against its amounts."""
        record = self.recorded.get(settlement)
        ok = True
        for side, paid_key, status_key, due in (
            ("consumer", "paid_cents", "payment_status", gross),
            ("provider", "paid_out_cents", "payout_status", gross - fee),
        ):
            paid = 0 if record is None else int(record[paid_key])
            ok &= findings.compare(
                number,
                f"{side} side: bank allocations and netting shares against the amount recorded as paid",
                self.traced.get((settlement, side), 0),
                paid,
            )
            if record is not None and record[status_key] != payment_status(paid, due):
                findings.add(number, f"{side} side: recorded as {record[status_key]}", due, paid)
                ok = False
        return ok


async def _settlements(
    period: str, first: date, last: date, member: UUID | None, own: frozenset[str] | None, findings: _Findings
) -> tuple[list[SettlementCheck], SettlementTotals]:
    query = Settlement.select().where(Settlement.period == period)
    if member is not None:
        query = query.where((Settlement.consumer == member) | (Settlement.provider == member))
    rows = [dict(row) for row in await query.order_by(Settlement.number)]
    ids = [row["id"] for row in rows]
    lines = await _lines_sums(ids)
    payments = await _Payments.of(ids)
    party_ids = {as_uuid(row[side]) for row in rows for side in ("consumer", "provider")}
    codes = {
        as_uuid(row["id"]): str(row["code"])
        for row in (await Member.select(Member.id, Member.code).where(Member.id.is_in(list(party_ids))) if rows else [])
    }
    referenced = [as_uuid(row[key]) for row in rows for key in ("ledger_entry", "reversal_entry") if row[key]]
    entries = await ledger.get_entries(referenced)
    # The journal's own view: every settlement entry of the period, also one no settlement row points to.
    booked_in_journal: dict[UUID, ledger.Entry] = {}
    async for batch in journal_entries(start=first, end=last, accounts=sorted(own) if own is not None else None):
        for entry in batch:
            if "settlement" in entry.tags and entry.metadata.get("period") == period and entry.reverses is None:
                booked_in_journal[entry.id] = entry
    documents, in_ledger = _Sides(), _Sides()
    checks: list[SettlementCheck] = []
    for row in rows:
        number = str(row["number"])
        consumer, provider = codes[as_uuid(row["consumer"])], codes[as_uuid(row["provider"])]
        net, tax, gross, fee = (int(row[f"{key}_cents"]) for key in ("net", "tax", "gross", "fee"))
        lines_net, lines_tax, lines_gross = lines.get(as_uuid(row["id"]), (0, 0, 0))
        ok = all(
            [
                findings.compare(number, "net: settlement against the sum of its lines", net, lines_net),
                findings.compare(number, "tax: settlement against the sum of its lines", tax, lines_tax),
                findings.compare(number, "gross: settlement against the sum of its lines", gross, lines_gross),
            ]
        )
        if row["status"] == "booked":
            if own is None or ledger.receivable(consumer) in own:
                documents.receivable += gross
            if own is None or ledger.payable(provider) in own:
                documents.payable += gross - fee
            if own is None:
                documents.fee += fee
        expected = {
            account: cents
            for account, cents in (
                (ledger.receivable(consumer), gross),
                (ledger.payable(provider), -(gross - fee)),
                (ledger.FEES, -fee),
            )
            if cents
        }
        entry_id = None if row["ledger_entry"] is None else as_uuid(row["ledger_entry"])
        booked = None if entry_id is None else entries.get(entry_id)
        sides: _Sides | None = None
        if booked is None:
            if expected or entry_id is not None:
                findings.add(number, "ledger entry of the settlement: missing", gross, None)
                ok = False
        else:
            booked_in_journal.pop(booked.id, None)
            found = _by_account(booked.postings)
            for account in sorted(set(expected) | set(found)):
                if not findings.compare(
                    number, f"ledger entry: {account}", expected.get(account, 0), found.get(account, 0)
                ):
                    ok = False
            if number not in booked.links:
                findings.add(number, "ledger entry: not linked to the settlement", None, None)
                ok = False
            sides = _Sides()
            sides.add(booked.postings, None)
            in_ledger.add(booked.postings, own)
        reversal_id = None if row["reversal_entry"] is None else as_uuid(row["reversal_entry"])
        if row["status"] == "reversed" and booked is not None:
            reversal = None if reversal_id is None else entries.get(reversal_id)
            if reversal is None or reversal.reverses != booked.id:
                findings.add(number, "reversal entry of the reversed settlement: missing", -gross, None)
                ok = False
            else:
                negated = {account: -cents for account, cents in _by_account(booked.postings).items()}
                found = _by_account(reversal.postings)
                for account in sorted(set(negated) | set(found)):
                    if not findings.compare(
                        number, f"reversal entry: {account}", negated.get(account, 0), found.get(account, 0)
                    ):
                        ok = False
                in_ledger.add(reversal.postings, own)
        elif row["status"] == "booked" and reversal_id is not None:
            findings.add(number, "a booked settlement points to a reversal entry", None, None)
            ok = False
        if not payments.check(as_uuid(row["id"]), number, gross, fee, findings):
            ok = False
        checks.append(
            SettlementCheck(
                number=number,
                consumer=consumer,
                provider=provider,
                status=row["status"],
                net=money(net),
                tax=money(tax),
                gross=money(gross),
                fee=money(fee),
                lines_net=money(lines_net),
                lines_tax=money(lines_tax),
                lines_gross=money(lines_gross),
                ledger_entry_id=entry_id,
                ledger_receivable=None if sides is None else money(sides.receivable),
                ledger_payable=None if sides is None else money(sides.payable),
                ledger_fee=None if sides is None else money(sides.fee),
                reversal_entry_id=reversal_id,
                ok=ok,
            )
        )
    for entry in booked_in_journal.values():
        subject = entry.metadata.get("settlement") or str(entry.id)
        orphan = _Sides()
        orphan.add(entry.postings, own)
        findings.add(subject, f"ledger entry {entry.id} of the period has no settlement", None, orphan.receivable)
        in_ledger.add(entry.postings, own)
    findings.compare("totals", "receivables: documents against the ledger", documents.receivable, in_ledger.receivable)
    findings.compare("totals", "payables: documents against the ledger", documents.payable, in_ledger.payable)
    findings.compare("totals", "fees: documents against the ledger", documents.fee, in_ledger.fee)
    totals = SettlementTotals(
        settlements=len(rows),
        booked=sum(1 for row in rows if row["status"] == "booked"),
        reversed=sum(1 for row in rows if row["status"] == "reversed"),
        documents=documents.out(),
        ledger=in_ledger.out(),
    )
    return checks, totals


def _clearing(entry: ledger.Entry) -> int:
    return sum(posting.cents for posting in entry.postings if posting.account == ledger.CLEARING)


async def _payments(first: date, last: date, findings: _Findings) -> PaymentTotals:
    lines = [
        dict(row)
        for row in await BankLine.select()
        .where((BankLine.booking_date >= first) & (BankLine.booking_date <= last))
        .order_by(BankLine.booking_date)
        .order_by(BankLine.bank_reference)
    ]
    by_line: dict[str, ledger.Entry] = {}
    unexplained: list[ledger.Entry] = []
    ledger_received = ledger_paid_out = 0
    async for batch in journal_entries(start=first, end=last, accounts=[ledger.CLEARING]):
        for entry in batch:
            if "bank-opening" in entry.tags:
                # The bank account's balance before the exchange: no line of the period moved it.
                continue
            cents = _clearing(entry)
            if cents > 0:
                ledger_received += cents
            else:
                ledger_paid_out -= cents
            if "bank_line" in entry.metadata:
                by_line[entry.metadata["bank_line"]] = entry
            else:
                unexplained.append(entry)
    received = paid_out = 0
    for line in lines:
        amount = int(line["amount_cents"])
        if amount > 0:
            received += amount
        else:
            paid_out -= amount
        subject = f"bank line {line['bank_reference']}"
        line_entry = by_line.pop(str(line["id"]), None)
        if line_entry is None:
            findings.add(subject, f"no ledger entry books the line of {line['booking_date']}", amount, None)
            continue
        findings.compare(subject, f"bank account in ledger entry {line_entry.number}", amount, _clearing(line_entry))
    for entry in [*by_line.values(), *unexplained]:
        findings.add(
            f"ledger entry {entry.number}",
            f"bank account booked on {entry.date} without a bank line of the period",
            None,
            _clearing(entry),
        )
    findings.compare("totals", "money received: bank lines against the ledger", received, ledger_received)
    findings.compare("totals", "money paid out: bank lines against the ledger", paid_out, ledger_paid_out)
    return PaymentTotals(
        lines=len(lines),
        received=money(received),
        paid_out=money(paid_out),
        ledger_received=money(ledger_received),
        ledger_paid_out=money(ledger_paid_out),
    )


async def _statements(first: date, last: date, findings: _Findings) -> list[StatementCheck]:
    rows = [
        dict(row)
        for row in await BankStatement.select()
        .where((BankStatement.closing_date >= first) & (BankStatement.closing_date <= last))
        .order_by(BankStatement.closing_date)
        .order_by(BankStatement.reference)
    ]
    asserted = {
        (a.as_of, a.amount.scaleb(2)): a
        for a in await ledger.recorded_assertions(start=first, end=last, accounts=frozenset({ledger.CLEARING}))
    }
    checks: list[StatementCheck] = []
    for row in rows:
        subject = f"statement {row['reference']}"
        opening, closing, entries = row["opening_cents"], row["closing_cents"], int(row["entries_cents"])
        day: date = row["closing_date"]
        consistent: bool | None = None
        in_ledger: int | None = None
        if opening is not None and closing is not None:
            consistent = findings.compare(
                subject, "closing balance: opening balance + entries", int(closing), int(opening) + entries
            )
        if closing is not None:
            found = await ledger.balances(as_of=day, accounts=[ledger.CLEARING])
            in_ledger = sum(int(b.amount.scaleb(2)) for b in found if b.currency == "EUR")
            findings.compare(subject, f"closing balance on {day}: the ledger's bank account", int(closing), in_ledger)
        checks.append(
            StatementCheck(
                id=as_uuid(row["id"]),
                reference=str(row["reference"]),
                account_iban=str(row["account_iban"]),
                format=row["format"],
                opening_date=row["opening_date"],
                closing_date=day,
                opening_balance=None if opening is None else money(int(opening)),
                entries_total=money(entries),
                closing_balance=None if closing is None else money(int(closing)),
                consistent=consistent,
                ledger_balance=None if in_ledger is None else money(in_ledger),
                asserted=closing is not None and (day, int(closing)) in asserted,
            )
        )
    return checks


async def build(period: str, *, member: str | None = None) -> ReconciliationReport:
    """The report of ``period`` for the whole exchange, or the part of member ``member`` (no bank account)."""
    first, last = periods.check_period(period)
    member_id: UUID | None = None
    own: frozenset[str] | None = None
    if member is not None:
        found = await Member.select(Member.id).where(Member.code == member).first()
        if found is None:
            raise NotFound(f"There is no member with the code {member!r}.")
        member_id = as_uuid(found["id"])
        own = frozenset(ledger.member_accounts(member))
    findings = _Findings()
    settlements, totals = await _settlements(period, first, last, member_id, own, findings)
    payments = statements = None
    if member is None:
        payments = await _payments(first, last, findings)
        statements = await _statements(first, last, findings)
    return ReconciliationReport(
        period=period,
        member=member,
        clean=not findings.differences,
        settlements=settlements,
        totals=totals,
        payments=payments,
        statements=statements,
        differences=findings.differences,
    )


async def report(viewer: Principal, period: str, *, member: str | None) -> ReconciliationReport:
    """The report as ``viewer`` may read it: the cooperative's roles all of it or one member's part, a member's
    accountant its own member's part (another member answers 404, as if it did not exist)."""
    periods.check_period(period)
    if viewer.sees_all_members:
        return await build(period, member=member)
    if member is not None and member != viewer.member_code:
        raise NotFound(f"There is no member with the code {member!r} whose reconciliation you may read.")
    return await build(period, member=viewer.member_code)
