"""The rules of reconciliation: import bank statements, match payments and payouts, assign by hand, open items.

An import runs in ONE transaction: every statement, every new line, every match and every ledger entry of the
file is committed together, or nothing is (a malformed file stores nothing). A line is stored once: the unique
index on (account IBAN, bank reference) decides, so importing a file again finds its lines and changes nothing.

Each new line books one ledger entry (idempotency key ``bank-line:<line id>``): money received goes to
``Assets:Bank:Clearing`` and is credited to the receivables of the settlements it pays (``^S-…`` links), the rest
to ``Liabilities:Unallocated``; a payout to a provider debits its payable. Assigning unallocated money later books
``Liabilities:Unallocated`` against the receivable (or the payable, for money paid out).
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast
from uuid import UUID

import ledger
from marketplace.audit import services as audit
from marketplace.auth import Actor, Principal
from marketplace.booking.calendar import period_bounds
from marketplace.clock import now, today
from marketplace.db import as_uuid, is_postgres, transaction
from marketplace.errors import Conflict, FieldError, InvalidInput, InvalidTransition, NotFound
from marketplace.members.tables import Member
from marketplace.pagination import InvalidCursor, decode_cursor, encode_cursor
from marketplace.periods import check_date
from marketplace.reconciliation import parsing, schemas
from marketplace.reconciliation.tables import BankAllocation, BankLine, BankStatement, SettlementPayment
from marketplace.settlement.pricing import from_cents
from marketplace.settlement.tables import Settlement

_NUMBER = re.compile(r"S-\d{4}-\d{6}")
#: Age buckets of open items: (label, highest age in days).
BUCKETS: tuple[tuple[schemas.Bucket, int | None], ...] = (
    ("0-30", 30),
    ("31-60", 60),
    ("61-90", 90),
    ("over_90", None),
)


def money(value: int) -> str:
    """Cents as the API writes money: ``"81.43"``, ``"-12.00"``."""
    return f"{from_cents(value):f}"


def payment_status(paid: int, due: int) -> schemas.PaymentStatus:
    """The state of one side of a settlement: nothing, part or all of ``due`` cents paid."""
    if paid <= 0:
        return "open"
    return "paid" if paid >= due else "partially_paid"


def _line_status(amount: int, unallocated: int) -> str:
    if unallocated == 0:
        return "matched"
    return "unmatched" if unallocated == amount else "partially_matched"


def settlement_numbers(*texts: str | None) -> list[str]:
    """The settlement numbers named in remittance texts or an EndToEndId, in order, each once."""
    found: list[str] = []
    for text in texts:
        for number in _NUMBER.findall(text or ""):
            if number not in found:
                found.append(number)
    return found


# --- settlement payment states --------------------------------------------------------------------------


@dataclass(slots=True)
class _Payment:
    """A settlement's amounts due and paid on both sides, locked for this transaction."""

    settlement_id: UUID
    number: str
    period: str
    consumer: UUID
    provider: UUID
    due: int
    payout_due: int
    paid: int
    paid_out: int

    def remaining(self, side: str) -> int:
        return self.due - self.paid if side == "consumer" else self.payout_due - self.paid_out


async def _payment(settlement: dict[str, Any]) -> _Payment:
    """The payment row of a booked settlement (created if missing), locked until the transaction ends."""
    settlement_id = as_uuid(settlement["id"])
    await SettlementPayment.raw(
        "INSERT INTO settlement_payments (settlement, paid_cents, payment_status, paid_out_cents, payout_status, "
        "updated_at) VALUES ({}, 0, 'open', 0, 'open', {}) ON CONFLICT (settlement) DO NOTHING",
        settlement_id,
        now(),
    )
    lock = " FOR UPDATE" if is_postgres() else ""
    rows = await SettlementPayment.raw(
        "SELECT paid_cents, paid_out_cents FROM settlement_payments WHERE settlement = {}" + lock, settlement_id
    )
    gross, fee = int(settlement["gross_cents"]), int(settlement["fee_cents"])
    return _Payment(
        settlement_id=settlement_id,
        number=str(settlement["number"]),
        period=str(settlement["period"]),
        consumer=as_uuid(settlement["consumer"]),
        provider=as_uuid(settlement["provider"]),
        due=gross,
        payout_due=gross - fee,
        paid=int(rows[0]["paid_cents"]),
        paid_out=int(rows[0]["paid_out_cents"]),
    )


async def _add_paid(payment: _Payment, side: str, amount: int) -> schemas.PaymentStatus:
    if side == "consumer":
        payment.paid += amount
        status = payment_status(payment.paid, payment.due)
        await SettlementPayment.update(
            {
                SettlementPayment.paid_cents: payment.paid,
                SettlementPayment.payment_status: status,
                SettlementPayment.updated_at: now(),
            }
        ).where(SettlementPayment.settlement == payment.settlement_id)
        return status
    payment.paid_out += amount
    status = payment_status(payment.paid_out, payment.payout_due)
    await SettlementPayment.update(
        {
            SettlementPayment.paid_out_cents: payment.paid_out,
            SettlementPayment.payout_status: status,
            SettlementPayment.updated_at: now(),
        }
    ).where(SettlementPayment.settlement == payment.settlement_id)
    return status


async def _booked(number: str) -> dict[str, Any] | None:
    row = await Settlement.select().where((Settlement.number == number) & (Settlement.status == "booked")).first()
    return None if row is None else dict(row)


async def _codes(ids: list[UUID]) -> dict[UUID, str]:
    if not ids:
        return {}
    rows = await Member.select(Member.id, Member.code).where(Member.id.is_in(list(set(ids))))
    return {as_uuid(row["id"]): str(row["code"]) for row in rows}


# --- matching -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Match:
    payment: _Payment
    side: str
    method: str
    amount: int


async def _by_reference(line: parsing.ParsedLine, numbers: list[str]) -> list[_Match]:
    """Allocate to the settlements the line names, in order, up to what each still owes (or is owed)."""
    side = "consumer" if line.amount_cents > 0 else "provider"
    rest = abs(line.amount_cents)
    matches: list[_Match] = []
    for number in numbers:
        settlement = await _booked(number)
        if settlement is None:
            continue
        if side == "provider":
            # A payout counts only when it went to the provider's own account: its confirmed IBAN, never a
            # pending one (members.services), so a change the cooperative has not confirmed redirects nothing.
            provider = await Member.select(Member.iban).where(Member.id == settlement["provider"]).first()
            if provider is None or not provider["iban"] or provider["iban"] != line.counterparty_iban:
                continue
        payment = await _payment(settlement)
        amount = min(rest, payment.remaining(side))
        if amount <= 0:
            continue
        matches.append(_Match(payment, side, "reference", amount))
        rest -= amount
        if rest == 0:
            break
    return matches


async def _by_amount_and_iban(line: parsing.ParsedLine) -> list[_Match]:
    """Money received from a member's IBAN that equals exactly what one of its settlements still owes.

    Only the confirmed IBAN counts (``members.iban``; a pending one waits for the cooperative's confirmation), and
    the database keeps an IBAN to one member, so there is at most one payer.
    """
    if line.amount_cents <= 0 or line.counterparty_iban is None:
        return []
    payers = await Member.select(Member.id).where(Member.iban == line.counterparty_iban)
    if len(payers) != 1:
        return []
    settlements = await (
        Settlement.select()
        .where((Settlement.consumer == payers[0]["id"]) & (Settlement.status == "booked"))
        .order_by(Settlement.number)
    )
    paid = {
        as_uuid(row["settlement"]): int(row["paid_cents"])
        for row in await SettlementPayment.select(SettlementPayment.settlement, SettlementPayment.paid_cents).where(
            SettlementPayment.settlement.is_in([row["id"] for row in settlements] or [uuid.uuid4()])
        )
    }
    for settlement in settlements:
        if int(settlement["gross_cents"]) - paid.get(as_uuid(settlement["id"]), 0) == line.amount_cents:
            payment = await _payment(dict(settlement))
            if payment.remaining("consumer") == line.amount_cents:
                return [_Match(payment, "consumer", "amount_and_iban", line.amount_cents)]
    return []


def _merge(legs: list[tuple[str, int]]) -> list[ledger.Leg]:
    sums: dict[str, int] = defaultdict(int)
    for account, amount in legs:
        sums[account] += amount
    return [ledger.Leg(account, from_cents(amount)) for account, amount in sums.items() if amount != 0]


async def _book_line(line: parsing.ParsedLine, line_id: UUID, matches: list[_Match], actor: Actor) -> ledger.Entry:
    amount = line.amount_cents
    allocated = sum(match.amount for match in matches)
    codes = await _codes([m.payment.consumer if m.side == "consumer" else m.payment.provider for m in matches])
    legs: list[tuple[str, int]] = [(ledger.CLEARING, amount)]
    for match in matches:
        if match.side == "consumer":
            legs.append((ledger.receivable(codes[match.payment.consumer]), -match.amount))
        else:
            legs.append((ledger.payable(codes[match.payment.provider]), match.amount))
    rest = abs(amount) - allocated
    legs.append((ledger.UNALLOCATED, -rest if amount > 0 else rest))
    numbers = [match.payment.number for match in matches]
    incoming = amount > 0
    what = "Zahlungseingang" if incoming else "Auszahlung"
    narration = f"{what} {', '.join(numbers)}" if numbers else f"{what} nicht zugeordnet"
    return await ledger.post(
        date=line.booking_date,
        narration=narration,
        payee=next(iter(codes.values()), None),
        postings=_merge(legs),
        idempotency_key=f"bank-line:{line_id}",
        actor=actor.label,
        tags=("payment",) if incoming else ("payout",),
        links=tuple(numbers),
        metadata={"bank_line": str(line_id), "bank_reference": line.bank_reference},
    )


async def _store_line(statement_id: UUID, iban: str, line: parsing.ParsedLine, actor: Actor) -> UUID:
    """Store a new line, match it, book it; its id."""
    line_id = uuid.uuid4()
    numbers = settlement_numbers(line.end_to_end_id, line.remittance)
    matches = await _by_reference(line, numbers) if numbers else []
    if not matches and not numbers:
        matches = await _by_amount_and_iban(line)
    unallocated_abs = abs(line.amount_cents) - sum(match.amount for match in matches)
    unallocated = unallocated_abs if line.amount_cents > 0 else -unallocated_abs
    await BankLine.insert(
        BankLine(
            id=line_id,
            statement=statement_id,
            account_iban=iban,
            bank_reference=line.bank_reference,
            booking_date=line.booking_date,
            value_date=line.value_date,
            amount_cents=line.amount_cents,
            counterparty_iban=line.counterparty_iban,
            counterparty_name=line.counterparty_name,
            remittance=line.remittance,
            end_to_end_id=line.end_to_end_id,
            unallocated_cents=unallocated,
            status=_line_status(line.amount_cents, unallocated),
            ledger_entry=None,
            created_at=now(),
        )
    )
    entry = await _book_line(line, line_id, matches, actor)
    await BankLine.update({BankLine.ledger_entry: entry.id}).where(BankLine.id == line_id)
    for match in matches:
        await BankAllocation.insert(
            BankAllocation(
                id=uuid.uuid4(),
                line=line_id,
                settlement=match.payment.settlement_id,
                side=match.side,
                method=match.method,
                amount_cents=match.amount,
                ledger_entry=entry.id,
                created_by=actor.label,
                created_at=now(),
            )
        )
        await _add_paid(match.payment, match.side, match.amount)
    return line_id


# --- import ---------------------------------------------------------------------------------------------


async def _clearing_iban() -> str | None:
    row = await Member.select(Member.iban).where(Member.kind == "cooperative").first()
    return None if row is None or not row["iban"] else str(row["iban"])


async def _statement_row(statement: parsing.ParsedStatement, actor: Actor) -> tuple[UUID, bool]:
    found = (
        await BankStatement.select(BankStatement.id)
        .where(
            (BankStatement.account_iban == statement.account_iban) & (BankStatement.reference == statement.reference)
        )
        .first()
    )
    if found is not None:
        return as_uuid(found["id"]), False
    statement_id = uuid.uuid4()
    await BankStatement.insert(
        BankStatement(
            id=statement_id,
            account_iban=statement.account_iban,
            reference=statement.reference,
            format=statement.format,
            statement_date=statement.statement_date,
            opening_date=statement.opening_date,
            closing_date=statement.closing_date,
            opening_cents=statement.opening_cents,
            closing_cents=statement.closing_cents,
            entries_cents=statement.entries_cents,
            entries_count=len(statement.lines),
            imported_by=actor.label,
            imported_at=now(),
        )
    )
    return statement_id, True


#: What was in the clearing account before the exchange booked anything: the other side of its opening balance.
BANK_OPENING = "Equity:Bank-Opening-Balance"


def _bank_opening_key(iban: str) -> str:
    return f"bank-opening:{iban}"


async def _clearing_balance(as_of: date) -> int:
    found = await ledger.balances(as_of=as_of, accounts=[ledger.CLEARING])
    return sum(int(b.amount.scaleb(2)) for b in found if b.currency == "EUR")


async def _book_opening(statement: parsing.ParsedStatement, statement_id: UUID, actor: Actor) -> None:
    """Bring the ledger's bank account to the first statement's opening balance, once per account.

    The ledger holds only what the exchange booked; the money in the account before (or booked past it) is the
    cooperative's own, so the difference is booked against ``Equity:Bank-Opening-Balance`` on the first day of
    the first statement with balances. Later statements are compared, never adjusted.
    """
    key = _bank_opening_key(statement.account_iban)
    if statement.opening_cents is None or statement.opening_date is None:
        return
    if await ledger.get_entry_by_key(key) is not None:
        return
    day = statement.opening_date
    difference = statement.opening_cents - await _clearing_balance(day - timedelta(days=1))
    if difference == 0:
        return
    await ledger.open_account(BANK_OPENING, opened_on=day)
    value = from_cents(difference)
    await ledger.post(
        date=day,
        narration=f"Anfangssaldo laut Kontoauszug {statement.reference}"[:1000],
        payee=None,
        postings=[ledger.Leg(ledger.CLEARING, value), ledger.Leg(BANK_OPENING, -value)],
        idempotency_key=key,
        actor=actor.label,
        tags=("bank-opening",),
        metadata={"bank_statement": str(statement_id), "account_iban": statement.account_iban},
    )


async def _assert_closing(statement: parsing.ParsedStatement, statement_id: UUID, actor: Actor) -> str | None:
    """Record the statement's closing balance as a balance assertion if the ledger agrees; else why not."""
    if statement.closing_cents is None or statement.closing_date is None:
        return None
    check = await ledger.assert_balance(
        ledger.CLEARING,
        from_cents(statement.closing_cents),
        as_of=statement.closing_date,
        source=f"bank-statement:{statement_id}",
        actor=actor.label,
    )
    if check.recorded:
        return None
    return (
        f"{statement.reference}: closing balance {money(statement.closing_cents)} on {statement.closing_date} "
        f"is not asserted in the ledger ({check.reason}; difference {check.difference:f})"
    )


async def _reconciled_until() -> date | None:
    """The last day whose closing balance of the clearing account is asserted in the ledger."""
    asserted = await ledger.recorded_assertions(accounts=frozenset({ledger.CLEARING}))
    return max((a.as_of for a in asserted), default=None)


async def import_statement(content: bytes, actor: Actor) -> schemas.ImportResult:
    """Import a camt.053 or CSV file: store its new lines, match and book them; all or nothing."""
    try:
        parsed = parsing.parse(content, today=today())
    except parsing.StatementError as exc:
        raise InvalidInput(
            f"The file is not a bank statement this service reads: {exc}.",
            errors=[FieldError(field="file", message=str(exc))],
        ) from exc
    clearing = await _clearing_iban()
    for statement in parsed:
        if clearing is not None and statement.account_iban != clearing:
            raise InvalidInput(
                f"The statement is for the account {statement.account_iban}, not the clearing account {clearing}.",
                errors=[FieldError(field="file", message="not the clearing account")],
            )
    new_lines: list[UUID] = []
    statement_ids: list[UUID] = []
    duplicates = 0
    not_asserted: list[str] = []
    # Oldest first, so that one file of several days is asserted day by day.
    parsed = sorted(parsed, key=lambda s: s.opening_date or s.closing_date or date.max)
    async with transaction():
        until = await _reconciled_until()
        for statement in parsed:
            statement_id, created = await _statement_row(statement, actor)
            statement_ids.append(statement_id)
            if created:
                await _book_opening(statement, statement_id, actor)
            added = 0
            for line in statement.lines:
                known = await BankLine.exists().where(
                    (BankLine.account_iban == statement.account_iban) & (BankLine.bank_reference == line.bank_reference)
                )
                if known:
                    duplicates += 1
                    continue
                if until is not None and line.booking_date <= until:
                    # An asserted closing balance must keep holding, or the export would fail bean-check.
                    raise InvalidTransition(
                        f"The clearing account is reconciled up to {until} (a statement's closing balance is "
                        f"asserted in the ledger); a new entry booked on {line.booking_date} would change it. "
                        "Import statements in date order.",
                        state="reconciled",
                    )
                new_lines.append(await _store_line(statement_id, statement.account_iban, line, actor))
                added += 1
            if created:
                reason = await _assert_closing(statement, statement_id, actor)
                if reason is None and statement.closing_date is not None and statement.closing_cents is not None:
                    until = max(until or statement.closing_date, statement.closing_date)
                elif reason is not None:
                    not_asserted.append(reason)
            if created or added:
                await audit.record(
                    actor,
                    action="bank_statement.imported",
                    subject_type="bank_statement",
                    subject_id=statement_id,
                    member_id=None,
                    after={
                        "account_iban": statement.account_iban,
                        "reference": statement.reference,
                        "format": statement.format,
                        "new_lines": added,
                    },
                )
        statements = [await _statement_out(row) for row in await _statement_rows(statement_ids)]
        lines = await _lines_out(await BankLine.select().where(BankLine.id.is_in(new_lines)) if new_lines else [])
    return schemas.ImportResult(
        statements=statements,
        lines=lines,
        imported=len(lines),
        duplicates=duplicates,
        matched=sum(1 for line in lines if line.status == "matched"),
        unmatched=sum(1 for line in lines if line.status != "matched"),
        balance_differences=[
            f"{s.reference}: opening {s.opening_balance} + entries {s.entries_total} "
            f"differs from closing {s.closing_balance} by {s.balance_difference}"
            for s in statements
            if s.balance_ok is False
        ]
        + not_asserted,
    )


# --- reading --------------------------------------------------------------------------------------------


async def _statement_rows(ids: list[UUID]) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = await BankStatement.select().where(BankStatement.id.is_in(ids))
    order = {statement_id: index for index, statement_id in enumerate(ids)}
    return sorted((dict(row) for row in rows), key=lambda row: order[as_uuid(row["id"])])


async def _statement_out(row: dict[str, Any]) -> schemas.BankStatement:
    opening, closing, entries = row["opening_cents"], row["closing_cents"], int(row["entries_cents"])
    difference: int | None = None
    if opening is not None and closing is not None:
        difference = int(closing) - (int(opening) + entries)
    return schemas.BankStatement(
        id=as_uuid(row["id"]),
        account_iban=str(row["account_iban"]),
        reference=str(row["reference"]),
        format=row["format"],
        statement_date=row["statement_date"],
        opening_date=row["opening_date"],
        closing_date=row["closing_date"],
        opening_balance=None if opening is None else money(int(opening)),
        closing_balance=None if closing is None else money(int(closing)),
        entries_total=money(entries),
        entries=int(row["entries_count"]),
        balance_ok=None if difference is None else difference == 0,
        balance_difference=None if difference is None else money(difference),
        imported_by=str(row["imported_by"]),
        imported_at=row["imported_at"],
    )


async def _lines_out(rows: list[dict[str, Any]]) -> list[schemas.BankLine]:
    if not rows:
        return []
    ids = [as_uuid(row["id"]) for row in rows]
    allocations = await (
        BankAllocation.select(
            *BankAllocation.all_columns(),
            BankAllocation.settlement.number.as_alias("number"),
            BankAllocation.settlement.id.as_alias("settlement_id"),
        )
        .where(BankAllocation.line.is_in(ids))
        .order_by(BankAllocation.created_at)
    )
    states = {
        as_uuid(row["settlement"]): (str(row["payment_status"]), str(row["payout_status"]))
        for row in await SettlementPayment.select().where(
            SettlementPayment.settlement.is_in([a["settlement_id"] for a in allocations] or [uuid.uuid4()])
        )
    }
    by_line: dict[UUID, list[schemas.Allocation]] = defaultdict(list)
    for allocation in allocations:
        state = states.get(as_uuid(allocation["settlement_id"]), ("open", "open"))
        by_line[as_uuid(allocation["line"])].append(
            schemas.Allocation(
                settlement=str(allocation["number"]),
                side=allocation["side"],
                method=allocation["method"],
                amount=money(int(allocation["amount_cents"])),
                ledger_entry_id=as_uuid(allocation["ledger_entry"]),
                settlement_status=cast(
                    "schemas.PaymentStatus", state[0] if allocation["side"] == "consumer" else state[1]
                ),
            )
        )
    rows = sorted(rows, key=lambda row: (row["booking_date"], str(row["bank_reference"])))
    return [
        schemas.BankLine(
            id=as_uuid(row["id"]),
            bank_reference=str(row["bank_reference"]),
            booking_date=row["booking_date"],
            value_date=row["value_date"],
            amount=money(int(row["amount_cents"])),
            counterparty_iban=row["counterparty_iban"],
            counterparty_name=row["counterparty_name"],
            remittance=str(row["remittance"]),
            end_to_end_id=row["end_to_end_id"],
            status=row["status"],
            unallocated=money(int(row["unallocated_cents"])),
            allocations=by_line.get(as_uuid(row["id"]), []),
            ledger_entry_id=None if row["ledger_entry"] is None else as_uuid(row["ledger_entry"]),
        )
        for row in rows
    ]


async def list_statements(*, limit: int, cursor: str | None) -> schemas.StatementPage:
    """Imported statements, newest import first, each with its lines that still hold unallocated money."""
    query = BankStatement.select()
    key = decode_cursor(cursor, 2)
    if key is not None:
        try:
            UUID(key[1])
            moment = datetime.fromisoformat(key[0])
        except ValueError as exc:
            raise InvalidCursor("The cursor is not valid; start again without one.") from exc
        query = query.where(
            (BankStatement.imported_at < moment)
            | ((BankStatement.imported_at == moment) & (BankStatement.id < UUID(key[1])))
        )
    rows = await query.order_by(BankStatement.imported_at, BankStatement.id, ascending=False).limit(limit + 1)
    items: list[schemas.StatementWithLines] = []
    for row in rows[:limit]:
        open_lines = await BankLine.select().where(
            (BankLine.statement == row["id"]) & (BankLine.unallocated_cents != 0)
        )
        items.append(
            schemas.StatementWithLines(
                statement=await _statement_out(dict(row)),
                unmatched_lines=await _lines_out([dict(line) for line in open_lines]),
            )
        )
    last = rows[limit - 1] if len(rows) > limit else None
    next_cursor = None if last is None else encode_cursor(last["imported_at"].isoformat(), last["id"])
    return schemas.StatementPage(items=items, next_cursor=next_cursor)


# --- assigning by hand ----------------------------------------------------------------------------------


async def line_exists(line_id: UUID) -> bool:
    """True when ``line_id`` is a line of an imported bank statement."""
    return bool(await BankLine.exists().where(BankLine.id == line_id))


async def assign_line(line_id: UUID, data: schemas.AssignCreate, actor: Actor) -> schemas.BankLine:
    """Assign a line's unallocated money to a settlement: the consumer's side for money received, else the
    provider's; books ``Liabilities:Unallocated`` against the receivable (or the payable)."""
    requested: int | None = None
    if data.amount is not None:
        requested = parsing.cents(data.amount, "amount")
        if requested <= 0:
            raise InvalidInput("amount must be positive.", errors=[FieldError(field="amount", message="> 0")])
    async with transaction():
        lock = " FOR UPDATE" if is_postgres() else ""
        rows = await BankLine.raw("SELECT * FROM bank_lines WHERE id = {}" + lock, line_id)
        if not rows:
            raise NotFound("There is no such bank statement line.")
        line = dict(rows[0])
        unallocated = int(line["unallocated_cents"])
        if unallocated == 0:
            raise InvalidTransition("All the money of this line is already assigned.", state=str(line["status"]))
        settlement = await Settlement.select().where(Settlement.number == data.settlement).first()
        if settlement is None:
            raise NotFound(f"There is no settlement {data.settlement}.")
        if settlement["status"] != "booked":
            raise InvalidTransition(
                f"The settlement {data.settlement} is {settlement['status']}.", state=str(settlement["status"])
            )
        side = "consumer" if unallocated > 0 else "provider"
        payment = await _payment(dict(settlement))
        remaining = payment.remaining(side)
        if remaining <= 0:
            raise InvalidTransition(f"The settlement {data.settlement} is already paid on this side.", state="paid")
        limit = min(abs(unallocated), remaining)
        amount = limit if requested is None else requested
        if amount > limit:
            raise Conflict(
                f"At most {money(limit)} can be assigned: the line holds {money(abs(unallocated))} unallocated, "
                f"the settlement still has {money(remaining)} open."
            )
        codes = await _codes([payment.consumer, payment.provider])
        allocation_id = uuid.uuid4()
        value = from_cents(amount)
        if side == "consumer":
            legs = [
                ledger.Leg(ledger.UNALLOCATED, value),
                ledger.Leg(ledger.receivable(codes[payment.consumer]), -value),
            ]
            payee = codes[payment.consumer]
        else:
            legs = [ledger.Leg(ledger.payable(codes[payment.provider]), value), ledger.Leg(ledger.UNALLOCATED, -value)]
            payee = codes[payment.provider]
        entry = await ledger.post(
            date=max(today(), line["booking_date"]),
            narration=f"Zuordnung {'Zahlungseingang' if side == 'consumer' else 'Auszahlung'} {data.settlement}",
            payee=payee,
            postings=legs,
            idempotency_key=f"bank-assign:{allocation_id}",
            actor=actor.label,
            tags=("payment",) if side == "consumer" else ("payout",),
            links=(data.settlement,),
            metadata={"bank_line": str(line_id), "bank_reference": str(line["bank_reference"])},
        )
        await BankAllocation.insert(
            BankAllocation(
                id=allocation_id,
                line=line_id,
                settlement=payment.settlement_id,
                side=side,
                method="manual",
                amount_cents=amount,
                ledger_entry=entry.id,
                created_by=actor.label,
                created_at=now(),
            )
        )
        rest_abs = abs(unallocated) - amount
        rest = rest_abs if unallocated > 0 else -rest_abs
        status = _line_status(int(line["amount_cents"]), rest)
        await BankLine.update({BankLine.unallocated_cents: rest, BankLine.status: status}).where(BankLine.id == line_id)
        settlement_status = await _add_paid(payment, side, amount)
        await audit.record(
            actor,
            action="bank_line.assigned",
            subject_type="bank_line",
            subject_id=line_id,
            member_id=payment.consumer if side == "consumer" else payment.provider,
            before={"unallocated_cents": unallocated, "status": str(line["status"])},
            after={
                "unallocated_cents": rest,
                "status": status,
                "settlement": data.settlement,
                "amount_cents": amount,
                "settlement_status": settlement_status,
            },
        )
        out = await _lines_out([dict(row) for row in await BankLine.select().where(BankLine.id == line_id)])
    return out[0]


# --- open items -----------------------------------------------------------------------------------------


def bucket(age_days: int) -> schemas.Bucket:
    """The age bucket of an item ``age_days`` old."""
    for label, highest in BUCKETS:
        if highest is None or age_days <= highest:
            return label
    raise AssertionError("unreachable")  # pragma: no cover


def _bucket_totals(items: list[schemas.OpenItem], totals: dict[str, int]) -> schemas.BucketTotals:
    return schemas.BucketTotals(
        d0_30=money(totals["0-30"]),
        d31_60=money(totals["31-60"]),
        d61_90=money(totals["61-90"]),
        over_90=money(totals["over_90"]),
        total=money(sum(totals.values())),
    )


async def open_items(viewer: Principal, *, member: str | None, as_of: date | None) -> schemas.OpenItems:
    """Receivables not yet paid and payables not yet paid out, by age since the settlement's date."""
    day = check_date(as_of, "as_of") or today()
    party: UUID | None = None
    if member is not None:
        found = await Member.select(Member.id).where(Member.code == member).first()
        if found is None or not (viewer.sees_all_members or as_uuid(found["id"]) == viewer.member_id):
            raise NotFound(f"There is no member with the code {member!r} whose open items you may read.")
        party = as_uuid(found["id"])
    elif not viewer.sees_all_members:
        party = viewer.member_id
    query = Settlement.select().where(Settlement.status == "booked")
    if party is not None:
        query = query.where((Settlement.consumer == party) | (Settlement.provider == party))
    settlements = [dict(row) for row in await query.order_by(Settlement.number)]
    ids = [row["id"] for row in settlements]
    payments = {
        as_uuid(row["settlement"]): dict(row)
        for row in (await SettlementPayment.select().where(SettlementPayment.settlement.is_in(ids)) if ids else [])
    }
    codes = await _codes([as_uuid(row[side]) for row in settlements for side in ("consumer", "provider")])
    items: list[schemas.OpenItem] = []
    totals: dict[str, dict[str, int]] = {kind: {label: 0 for label, _ in BUCKETS} for kind in ("receivable", "payable")}
    for row in settlements:
        _, due_date = period_bounds(str(row["period"]))
        if due_date > day:
            continue
        paid = payments.get(as_uuid(row["id"]), {})
        gross, fee = int(row["gross_cents"]), int(row["fee_cents"])
        consumer, provider = as_uuid(row["consumer"]), as_uuid(row["provider"])
        sides = (
            ("receivable", consumer, provider, gross, int(paid.get("paid_cents", 0))),
            ("payable", provider, consumer, gross - fee, int(paid.get("paid_out_cents", 0))),
        )
        for kind, owner, other, amount, done in sides:
            if amount - done <= 0 or (party is not None and owner != party):
                continue
            age = (day - due_date).days
            label = bucket(age)
            totals[kind][label] += amount - done
            items.append(
                schemas.OpenItem(
                    settlement=str(row["number"]),
                    period=str(row["period"]),
                    kind=kind,  # type: ignore[arg-type]
                    member=codes[owner],
                    counterparty=codes[other],
                    due_date=due_date,
                    age_days=age,
                    bucket=label,
                    amount=money(amount),
                    paid=money(done),
                    open=money(amount - done),
                    status=payment_status(done, amount),
                )
            )
    return schemas.OpenItems(
        as_of=day,
        member=member if member is not None else (None if party is None else codes.get(party)),
        items=items,
        receivables=_bucket_totals(items, totals["receivable"]),
        payables=_bucket_totals(items, totals["payable"]),
    )
