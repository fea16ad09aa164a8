"""Netting and payouts: offset each member's payables against its receivables, then propose the fewest transfers.

A netting run for a day ``as_of`` looks at the booked settlements due by that day (the last day of their period)
and what is still open on them (``settlement_payments``). For every member that both owes (open receivables,
as consumer) and is owed (open payables, as provider) it books ONE ledger entry offsetting
``min(receivable, payable)``: ``Liabilities:Payable:X +x / Assets:Receivable:X -x`` (ledger.md), idempotency key
``netting:<run id>:<code>``, linked to the settlements it settles. The offset is allocated to the member's
settlements oldest number first, on both sides, so that open items and later matching see it.

Then every provider with a payable still open gets ONE proposed transfer of the whole remaining amount (one per
payee: the fewest transfers there can be, since each payee must receive at least one). Its EndToEndId is the
first settlement number it pays, the remittance information names all of them. Everything of a run is
committed in one transaction.

Payees without a valid IBAN (and BIC, where one is on file) are listed in the run's ``errors``; their payouts
stay proposed but are left out of the SEPA file (``marketplace.reconciliation.sepa``).
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

import ledger
from marketplace.audit import services as audit
from marketplace.auth import Actor
from marketplace.booking.calendar import period_bounds
from marketplace.clock import now, today
from marketplace.db import as_uuid, transaction
from marketplace.errors import FieldError, InvalidInput, NotFound
from marketplace.members.identifiers import bic_error, iban_error, normalise_iban
from marketplace.members.tables import Member
from marketplace.periods import Day, check_date
from marketplace.reconciliation.services import _add_paid, _Payment, _payment, money
from marketplace.reconciliation.tables import NettingOffset, NettingPayout, NettingRun, NettingShare
from marketplace.settlement.pricing import from_cents
from marketplace.settlement.schemas import Money
from marketplace.settlement.tables import Settlement

#: SEPA limits: EndToEndId 35 characters, unstructured remittance 140.
END_TO_END_MAX = 35
REMITTANCE_MAX = 140

# --- schemas --------------------------------------------------------------------------------------------


class NettingRunCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Net the open items due by ``as_of`` (not in the future) and propose the payouts."""

    as_of: Day

    def __post_init__(self) -> None:
        check_date(self.as_of, "as_of")


class Offset(msgspec.Struct, kw_only=True):
    """One member's open receivables and payables before netting and the amount offset, booked."""

    member: str
    receivable: Money
    payable: Money
    amount: Money
    settlements: list[str]
    ledger_entry_id: UUID


class Payout(msgspec.Struct, kw_only=True):
    """One proposed credit transfer to a provider: all it is still owed, the settlements named."""

    id: UUID
    member: str
    amount: Money
    settlements: list[str]
    end_to_end_id: str
    remittance: str
    status: Literal["proposed", "exported", "paid"]
    iban: str | None
    bic: str | None
    account_holder: str
    bank_details_ok: bool


class NettingRunOut(msgspec.Struct, kw_only=True):
    """A netting run: offsets booked, payouts proposed, payees without valid bank details."""

    id: UUID
    as_of: date
    offsets: list[Offset]
    payouts: list[Payout]
    transfers: Annotated[int, msgspec.Meta(description="Number of proposed transfers (one per payee).")]
    payouts_total: Money
    errors: list[str]
    created_by: str
    created_at: datetime


# --- rules ----------------------------------------------------------------------------------------------


def bank_details_error(member: dict[str, Any]) -> str | None:
    """Why a member cannot receive a SEPA transfer (no or an invalid IBAN, an invalid BIC), or None."""
    raw = member.get("iban")
    if not raw:
        return f"{member['code']}: no IBAN on file"
    problem = iban_error(normalise_iban(str(raw)))
    if problem is not None:
        return f"{member['code']}: IBAN {raw}: {problem}"
    bic = member.get("bic")
    if bic and (problem := bic_error(str(bic).strip().upper())) is not None:
        return f"{member['code']}: BIC {bic}: {problem}"
    return None


def remittance_text(numbers: list[str]) -> str:
    """``Auszahlung S-…, S-…`` within the 140 characters SEPA allows (the rest summarised)."""
    text = "Auszahlung " + ", ".join(numbers)
    if len(text) <= REMITTANCE_MAX:
        return text
    shown: list[str] = []
    for number in numbers:
        candidate = "Auszahlung " + ", ".join([*shown, number]) + f" u. {len(numbers) - len(shown) - 1} weitere"
        if len(candidate) > REMITTANCE_MAX:
            break
        shown.append(number)
    return "Auszahlung " + ", ".join(shown) + f" u. {len(numbers) - len(shown)} weitere"


async def _members(ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    if not ids:
        return {}
    rows = await Member.select(
        Member.id, Member.code, Member.name, Member.iban, Member.bic, Member.account_holder
    ).where(Member.id.is_in(list(set(ids))))
    return {as_uuid(row["id"]): dict(row) for row in rows}


async def _due_settlements(as_of: date) -> list[dict[str, Any]]:
    rows = await Settlement.select().where(Settlement.status == "booked").order_by(Settlement.number)
    return [dict(row) for row in rows if period_bounds(str(row["period"]))[1] <= as_of]


async def _locked(settlements: list[dict[str, Any]]) -> dict[UUID, _Payment]:
    """The payment state of every settlement, locked until the transaction ends (lowest number first)."""
    return {as_uuid(row["id"]): await _payment(row) for row in settlements}


async def _offset(
    run_id: UUID, member: dict[str, Any], payments: dict[UUID, _Payment], amount: int, as_of: date, actor: Actor
) -> tuple[list[str], list[tuple[UUID, str, int]], ledger.Entry]:
    """Allocate ``amount`` to the member's open receivables and payables (lowest number first) and book it; the
    settlement numbers touched, the shares (to store once the offset is) and the ledger entry."""
    member_id = as_uuid(member["id"])
    touched: list[str] = []
    shares: list[tuple[UUID, str, int]] = []  # (settlement, side, cents)
    for side in ("consumer", "provider"):
        rest = amount
        for payment in payments.values():
            if rest == 0:
                break
            if (payment.consumer if side == "consumer" else payment.provider) != member_id:
                continue
            share = min(rest, payment.remaining(side))
            if share <= 0:
                continue
            await _add_paid(payment, side, share)
            shares.append((payment.settlement_id, side, share))
            rest -= share
            if payment.number not in touched:
                touched.append(payment.number)
        if rest != 0:  # pragma: no cover - the amounts were computed from the same locked rows
            raise AssertionError(f"netting {member['code']}: {rest} cents not allocated on the {side} side")
    code = str(member["code"])
    value = from_cents(amount)
    entry = await ledger.post(
        date=as_of,
        narration=f"Verrechnung Forderungen und Verbindlichkeiten {code}",
        payee=code,
        postings=[ledger.Leg(ledger.payable(code), value), ledger.Leg(ledger.receivable(code), -value)],
        idempotency_key=f"netting:{run_id}:{code}",
        actor=actor.label,
        tags=("netting",),
        links=tuple(sorted(touched)),
        metadata={"netting_run": str(run_id)},
    )
    return sorted(touched), shares, entry


async def create_run(data: NettingRunCreate, actor: Actor) -> NettingRunOut:
    """Net every member's open receivables against its open payables as of ``data.as_of`` and propose payouts."""
    if data.as_of > today():
        raise InvalidInput(
            "as_of may not lie in the future.", errors=[FieldError(field="as_of", message="today or earlier")]
        )
    run_id = uuid.uuid4()
    async with transaction():
        await NettingRun.insert(
            NettingRun(id=run_id, as_of=data.as_of, errors="[]", created_by=actor.label, created_at=now())
        )
        payments = await _locked(await _due_settlements(data.as_of))
        receivable: dict[UUID, int] = defaultdict(int)
        payable: dict[UUID, int] = defaultdict(int)
        for payment in payments.values():
            receivable[payment.consumer] += max(payment.remaining("consumer"), 0)
            payable[payment.provider] += max(payment.remaining("provider"), 0)
        members = await _members([*receivable, *payable])
        for member_id in sorted(members, key=lambda m: str(members[m]["code"])):
            amount = min(receivable.get(member_id, 0), payable.get(member_id, 0))
            if amount <= 0:
                continue
            numbers, shares, entry = await _offset(run_id, members[member_id], payments, amount, data.as_of, actor)
            offset_id = uuid.uuid4()
            await NettingOffset.insert(
                NettingOffset(
                    id=offset_id,
                    run=run_id,
                    member=member_id,
                    receivable_cents=receivable[member_id],
                    payable_cents=payable[member_id],
                    amount_cents=amount,
                    settlements=",".join(numbers),
                    ledger_entry=entry.id,
                )
            )
            await NettingShare.insert(
                *(
                    NettingShare(
                        id=uuid.uuid4(), netting_offset=offset_id, settlement=settlement, side=side, amount_cents=cents
                    )
                    for settlement, side, cents in shares
                )
            )
        # What is still owed to each provider after netting: one transfer per payee.
        owed_to: dict[UUID, list[tuple[str, int]]] = defaultdict(list)
        for payment in payments.values():
            if payment.remaining("provider") > 0:
                owed_to[payment.provider].append((payment.number, payment.remaining("provider")))
        errors: list[str] = []
        for member_id in sorted(owed_to, key=lambda m: str(members[m]["code"])):
            numbers = [number for number, _ in owed_to[member_id]]
            problem = bank_details_error(members[member_id])
            if problem is not None:
                errors.append(problem)
            await NettingPayout.insert(
                NettingPayout(
                    id=uuid.uuid4(),
                    run=run_id,
                    member=member_id,
                    amount_cents=sum(cents for _, cents in owed_to[member_id]),
                    settlements=",".join(numbers),
                    end_to_end_id=numbers[0][:END_TO_END_MAX],
                    remittance=remittance_text(numbers),
                    status="proposed",
                    created_at=now(),
                )
            )
        await NettingRun.update({NettingRun.errors: json.dumps(errors)}).where(NettingRun.id == run_id)
        out = await get_run(run_id)
        await audit.record(
            actor,
            action="netting_run.created",
            subject_type="netting_run",
            subject_id=run_id,
            member_id=None,
            after={
                "as_of": data.as_of.isoformat(),
                "offsets": {o.member: o.amount for o in out.offsets},
                "payouts": {p.member: p.amount for p in out.payouts},
                "errors": errors,
            },
        )
    return out


async def payouts_of(run_id: UUID) -> tuple[dict[str, Any], list[tuple[dict[str, Any], dict[str, Any]]]]:
    """The run row and its payouts with their payees' member rows, by member code."""
    run = await NettingRun.select().where(NettingRun.id == run_id).first()
    if run is None:
        raise NotFound("There is no such netting run.")
    rows = [dict(row) for row in await NettingPayout.select().where(NettingPayout.run == run_id)]
    members = await _members([as_uuid(row["member"]) for row in rows])
    pairs = [(row, members[as_uuid(row["member"])]) for row in rows]
    return dict(run), sorted(pairs, key=lambda pair: str(pair[1]["code"]))


async def get_run(run_id: UUID) -> NettingRunOut:
    """A netting run with its offsets and payouts."""
    run, payouts = await payouts_of(run_id)
    offset_rows = [dict(row) for row in await NettingOffset.select().where(NettingOffset.run == run_id)]
    codes = {key: str(value["code"]) for key, value in (await _members([o["member"] for o in offset_rows])).items()}
    offsets = sorted(
        (
            Offset(
                member=codes[as_uuid(row["member"])],
                receivable=money(int(row["receivable_cents"])),
                payable=money(int(row["payable_cents"])),
                amount=money(int(row["amount_cents"])),
                settlements=[n for n in str(row["settlements"]).split(",") if n],
                ledger_entry_id=as_uuid(row["ledger_entry"]),
            )
            for row in offset_rows
        ),
        key=lambda offset: offset.member,
    )
    out_payouts = [
        Payout(
            id=as_uuid(row["id"]),
            member=str(member["code"]),
            amount=money(int(row["amount_cents"])),
            settlements=str(row["settlements"]).split(","),
            end_to_end_id=str(row["end_to_end_id"]),
            remittance=str(row["remittance"]),
            status=row["status"],
            iban=member["iban"],
            bic=member["bic"],
            account_holder=str(member["account_holder"] or member["name"]),
            bank_details_ok=bank_details_error(member) is None,
        )
        for row, member in payouts
    ]
    return NettingRunOut(
        id=run_id,
        as_of=run["as_of"],
        offsets=offsets,
        payouts=out_payouts,
        transfers=len(out_payouts),
        payouts_total=money(sum(int(row["amount_cents"]) for row, _ in payouts)),
        errors=list(json.loads(str(run["errors"]))),
        created_by=str(run["created_by"]),
        created_at=run["created_at"],
    )


class NettingRunSummary(msgspec.Struct, kw_only=True):
    """A netting run in a list: when, by whom, how many transfers of how much."""

    id: UUID
    as_of: date
    transfers: int
    payouts_total: Money
    created_by: str
    created_at: datetime


async def list_runs(*, limit: int) -> list[NettingRunSummary]:
    """The latest ``limit`` netting runs, newest first, with their proposed transfers summed."""
    runs = [
        dict(row) for row in await NettingRun.select().order_by(NettingRun.created_at, ascending=False).limit(limit)
    ]
    ids = [row["id"] for row in runs]
    payouts = (
        await NettingPayout.select(NettingPayout.run, NettingPayout.amount_cents).where(NettingPayout.run.is_in(ids))
        if ids
        else []
    )
    counted: dict[UUID, list[int]] = defaultdict(list)
    for payout in payouts:
        counted[as_uuid(payout["run"])].append(int(payout["amount_cents"]))
    return [
        NettingRunSummary(
            id=as_uuid(row["id"]),
            as_of=row["as_of"],
            transfers=len(counted[as_uuid(row["id"])]),
            payouts_total=money(sum(counted[as_uuid(row["id"])])),
            created_by=str(row["created_by"]),
            created_at=row["created_at"],
        )
        for row in runs
    ]
