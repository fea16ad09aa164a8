"""The rules of settlement: runs, settlements, reversal, visibility.

A run settles one ended month. It finds every agreement running in the month and settles it per (provider,
consumer): each settlement, its lines, its number and its ledger entry are written in ONE transaction, so a
settlement is either wholly booked or not at all. "Each (agreement, period) is charged at most once" is decided
by the database: a unique index on the non-reversed lines. The settlement number counter row (incremented first
in every booking transaction) also serialises the bookings of a year, so a concurrent run waits and then finds
the lines that the other committed; the index catches anything that slips through, and the group is retried.
A run killed in the middle leaves complete settlements behind and a run row that says ``running``; running the
period again books what is missing and nothing twice.

For speed a run books up to ``BATCH_PAIRS`` pairs per transaction: one query each for the lines already
charged, the agreements and the usage, one counter update for exactly the numbers it books, one ``post_many``
and multi-row inserts. A batch commits all or nothing, so nothing is half-booked either.

One pair never stops the others. A pair whose line or total lies beyond the bounds of ``marketplace.money`` (data
stored before those bounds existed) is refused before anything is written and left out of its batch. A batch that
fails for any other reason (the charged-once index, the ledger, the database refusing a value) is rolled back
whole, numbers included, and its pairs are settled one by one as above: a concurrent run is retried, and a pair
that still fails is reported with its reason in the run's ``errors`` while the others are booked. Only a failure
that is not the pair's (the database no longer answers) or a cancellation ends the run.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import structlog
from piccolo.table import Table

import ledger
from marketplace import periods
from marketplace.audit import services as audit
from marketplace.auth import Actor, Principal
from marketplace.booking.calendar import period_bounds, period_of
from marketplace.booking.tables import Agreement, UsageReport
from marketplace.bulk import insert_records
from marketplace.catalogue import services as catalogue
from marketplace.catalogue.schemas import OfferTerms
from marketplace.clock import now, today
from marketplace.config import load_settings
from marketplace.db import as_uuid, is_connection_lost, is_integrity_error, is_postgres, transaction
from marketplace.errors import Conflict, FieldError, InvalidInput, InvalidTransition, NotFound
from marketplace.events.services import Announcement, emit, emit_many
from marketplace.members.tables import Member
from marketplace.money import MAX_LINE_GROSS_CENTS, MAX_SETTLEMENT_CENTS, euros
from marketplace.pagination import InvalidCursor, decode_cursor, encode_cursor
from marketplace.settlement import pricing, schemas
from marketplace.settlement.pricing import Amounts
from marketplace.settlement.tables import Settlement, SettlementLine, SettlementNumber, SettlementRun

log = structlog.get_logger(__name__)

#: Agreement states that can have run in a past month (an expired one ran until its end date).
SETTLEABLE = ("active", "terminated", "expired")
#: How often a booking transaction is retried after the charged-once index refused it.
RETRIES = 5
#: (provider, consumer) pairs settled in one transaction: few round trips, yet bounded memory and lock time.
BATCH_PAIRS = 200
#: A batch is cut earlier when its pairs have this many agreements together.
BATCH_AGREEMENTS = 2000
#: Ids per ``IN (...)`` list: well below either engine's limit of bound parameters.
IN_LIST = 500
_SPACE = re.compile(r"\s+")


def fee_percent() -> Decimal:
    """The cooperative's fee in per cent of the net: the ``settlement_fee_percent`` setting (default 0).

    Read when a run is created (not once per process), so that the percentage in force is the one stored on it.
    """
    try:
        return pricing.parse_percent(load_settings().settlement_fee_percent)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc


def money(cents: int) -> str:
    """Cents as the API writes money: ``"81.43"``."""
    return f"{pricing.from_cents(cents):f}"


def _totals(net: int, tax: int, gross: int, fee: int) -> schemas.Totals:
    return schemas.Totals(net=money(net), tax=money(tax), gross=money(gross), fee=money(fee))


def check_period(period: str) -> tuple[date, date]:
    """First and last day of a month that has ended; ``InvalidInput`` otherwise."""
    bounds = periods.check_period(period)
    if period >= period_of(today()):
        raise InvalidInput(
            f"The period {period} has not ended yet; a month is settled after its last day.",
            errors=[FieldError(field="period", message="has not ended")],
        )
    return bounds


async def _refuse_closed(period: str) -> None:
    closed = await ledger.closed_periods()
    if closed and closed[-1].period >= period:
        raise InvalidTransition(
            f"The ledger is closed up to {closed[-1].period}; nothing more can be booked into {period}.",
            state="closed",
        )


# --- computing lines ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    """A computed line, before it is stored."""

    agreement_id: UUID
    description: str
    pricing: str
    quantity_milli: int
    unit: str
    unit_price_cents: int
    active_days: int | None
    days_in_month: int | None
    amounts: Amounts
    tax_treatment: str


def compute_line(agreement: dict[str, Any], terms: OfferTerms, period: str, usage_milli: int | None) -> Line | str:
    """The line of one agreement for ``period``, or why there is none: ``"not_due"`` or ``"missing_usage"``."""
    first, last = period_bounds(period)
    quantity: int = agreement["quantity"]
    days: int | None = None
    month: int | None = None
    if terms.pricing == "recurring":
        days = pricing.active_days(agreement["start_date"], agreement["end_date"], first, last)
        if days == 0:
            return "not_due"
        month = pricing.days_in_month(first.year, first.month)
        net = pricing.recurring_net(quantity, terms.unit_price, days, month)
        partial = "" if days == month else f", anteilig {days}/{month} Tage"
        description, milli = f"{terms.title} ({period}{partial})", quantity * 1000
    elif terms.pricing == "one_off":
        if not first <= agreement["start_date"] <= last:
            return "not_due"
        net = pricing.one_off_net(quantity, terms.unit_price)
        description, milli = f"{terms.title} (einmalig)", quantity * 1000
    else:
        if usage_milli is None:
            return "missing_usage"
        net = pricing.metered_net(usage_milli, terms.unit_price)
        description, milli = f"{terms.title} (Verbrauch {period})", usage_milli
    return Line(
        agreement_id=as_uuid(agreement["id"]),
        description=description,
        pricing=terms.pricing,
        quantity_milli=milli,
        unit=terms.unit,
        unit_price_cents=pricing.to_cents(terms.unit_price),
        active_days=days,
        days_in_month=month,
        amounts=pricing.line_amounts(net, terms.tax_treatment),
        tax_treatment=terms.tax_treatment,
    )


# --- runs -----------------------------------------------------------------------------------------------


@dataclass
class _Tally:
    """What a run did so far (kept in memory, written to the run row now and then and at the end)."""

    total: int = 0
    processed: int = 0
    charged: int = 0
    already: int = 0
    not_due: int = 0
    settlements: int = 0
    net: int = 0
    tax: int = 0
    gross: int = 0
    fee: int = 0
    missing: list[dict[str, str]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)


@dataclass
class _Group:
    """The outcome of settling one (provider, consumer) pair."""

    charged: int = 0
    already: int = 0
    not_due: int = 0
    missing: list[tuple[UUID, str]] = field(default_factory=list)
    net: int = 0
    tax: int = 0
    gross: int = 0
    fee: int = 0
    number: str | None = None


@dataclass(frozen=True, slots=True)
class _Refused:
    """A pair the run could not book, and why: reported in the run's ``errors``, nothing of it written."""

    detail: str


#: What settling one pair came to.
_Outcome = _Group | _Refused


class Unbookable(Exception):
    """A pair's settlement, as computed, lies beyond the bounds of ``marketplace.money``: the run refuses it."""


@dataclass(frozen=True, slots=True)
class _Pair:
    """A (provider, consumer) pair and its agreements of the period, in reference order."""

    provider: UUID
    consumer: UUID
    agreements: list[UUID]


class _NothingToBook(Exception):
    """Leaves the booking transaction (rolling back the number) when a group has nothing left to charge."""

    def __init__(self, group: _Group) -> None:
        super().__init__("nothing to book")
        self.group = group


@dataclass(frozen=True, slots=True)
class _Context:
    run_id: UUID
    period: str
    actor: Actor
    fee_percent: Decimal
    codes: dict[UUID, str]
    terms: dict[UUID, OfferTerms]


async def _next_number(year: int) -> str:
    rows = await SettlementNumber.raw(
        "INSERT INTO settlement_numbers (year, last_number) VALUES ({}, 1) "
        "ON CONFLICT (year) DO UPDATE SET last_number = settlement_numbers.last_number + 1 "
        "RETURNING last_number",
        year,
    )
    return f"S-{year:04d}-{rows[0]['last_number']:06d}"


def _chunks(ids: list[UUID]) -> Iterable[list[UUID]]:
    """``ids`` in slices small enough for an ``IN (...)`` list on either engine."""
    for start in range(0, len(ids), IN_LIST):
        yield ids[start : start + IN_LIST]


async def _charged(agreement_ids: list[UUID], period: str) -> set[UUID]:
    if is_postgres():
        # One probe of the charged-once index per agreement, whatever the statistics say. With a plain
        # "agreement = ANY(...) AND period = ..." a run's own fresh lines (not analysed yet) led the planner to
        # the period index, which reads every line of the period: each batch got slower than the one before.
        found = await SettlementLine.raw(
            "SELECT wanted.id AS agreement FROM unnest({}::uuid[]) AS wanted(id) CROSS JOIN LATERAL ("
            "SELECT 1 FROM settlement_lines WHERE agreement = wanted.id AND period = {} AND NOT reversed LIMIT 1"
            ") AS line",
            agreement_ids,
            period,
        )
        return {as_uuid(row["agreement"]) for row in found}
    charged: set[UUID] = set()
    for chunk in _chunks(agreement_ids):
        rows = await SettlementLine.select(SettlementLine.agreement).where(
            SettlementLine.agreement.is_in(chunk)
            & (SettlementLine.period == period)
            & (SettlementLine.reversed == False)  # noqa: E712 - a Piccolo condition, not a comparison
        )
        charged.update(as_uuid(row["agreement"]) for row in rows)
    return charged


async def _usage(agreement_ids: list[UUID], period: str) -> dict[UUID, int]:
    """The usage reports of the agreements for the period; locked on PostgreSQL until the booking commits.

    ``period_is_settled`` (booking) takes the same row lock before it looks for lines, so a correction either
    happens before the run reads the figure or is refused afterwards.
    """
    if not agreement_ids:
        return {}
    if is_postgres():
        rows = await UsageReport.raw(
            "SELECT agreement, quantity_milli FROM usage_reports WHERE period = {} AND agreement = ANY({}) FOR UPDATE",
            period,
            agreement_ids,
        )
    else:
        rows = []
        for chunk in _chunks(agreement_ids):
            rows.extend(
                await UsageReport.select(UsageReport.agreement, UsageReport.quantity_milli).where(
                    UsageReport.agreement.is_in(chunk) & (UsageReport.period == period)
                )
            )
    return {as_uuid(row["agreement"]): int(row["quantity_milli"]) for row in rows}


async def _agreements(agreement_ids: list[UUID]) -> list[dict[str, Any]]:
    """What the lines are computed from, for the given agreements (in no particular order)."""
    if not agreement_ids:
        return []
    if is_postgres():
        # One primary-key probe per id (see _charged): "id = ANY(...)" was a full scan on fresh tables.
        return list(
            await Agreement.raw(
                "SELECT found.* FROM unnest({}::uuid[]) AS wanted(id) CROSS JOIN LATERAL ("
                "SELECT id, reference, offer_version, quantity, start_date, end_date FROM agreements "
                "WHERE id = wanted.id LIMIT 1) AS found",
                agreement_ids,
            )
        )
    rows: list[dict[str, Any]] = []
    for chunk in _chunks(agreement_ids):
        rows.extend(await Agreement.select(*_AGREEMENT_COLUMNS).where(Agreement.id.is_in(chunk)))
    return rows


def _in_order(rows: list[dict[str, Any]], agreement_ids: list[UUID]) -> list[dict[str, Any]]:
    """``rows`` in the order of ``agreement_ids`` (the candidates' reference order): the order of the lines."""
    position = {agreement: index for index, agreement in enumerate(agreement_ids)}
    return sorted(rows, key=lambda row: position[as_uuid(row["id"])])


async def _post_entry(**kwargs: Any) -> ledger.Entry:
    """Book the settlement's ledger entry (one place, so that tests can interrupt a run here)."""
    return await ledger.post(**kwargs)


async def _post_entries(entries: list[ledger.NewEntry]) -> list[ledger.Entry]:
    """Book a batch's ledger entries (one place, so that tests can interrupt a run here)."""
    return await ledger.post_many(entries)


def _legs(consumer: str, provider: str, gross: int, fee: int) -> list[ledger.Leg]:
    legs = [
        ledger.Leg(ledger.receivable(consumer), pricing.from_cents(gross)),
        ledger.Leg(ledger.payable(provider), -pricing.from_cents(gross - fee)),
        ledger.Leg(ledger.FEES, -pricing.from_cents(fee)),
    ]
    return [leg for leg in legs if leg.amount != 0]


_AGREEMENT_COLUMNS = (
    Agreement.id,
    Agreement.reference,
    Agreement.offer_version,
    Agreement.quantity,
    Agreement.start_date,
    Agreement.end_date,
)


def _compute(ctx: _Context, rows: Iterable[dict[str, Any]], usage: dict[UUID, int], group: _Group) -> list[Line]:
    """The lines of a pair's uncharged agreements (``rows`` in reference order); counts go into ``group``."""
    lines: list[Line] = []
    for row in rows:
        agreement_id = as_uuid(row["id"])
        outcome = compute_line(row, ctx.terms[as_uuid(row["offer_version"])], ctx.period, usage.get(agreement_id))
        if outcome == "not_due":
            group.not_due += 1
        elif outcome == "missing_usage":
            group.missing.append((agreement_id, str(row["reference"])))
        else:
            assert isinstance(outcome, Line)
            lines.append(outcome)
    group.charged = len(lines)
    group.net = sum(line.amounts.net for line in lines)
    group.tax = sum(line.amounts.tax for line in lines)
    group.gross = group.net + group.tax
    group.fee = pricing.fee_cents(group.net, ctx.fee_percent)
    _check_bounds(rows, lines, group)
    return lines


def _check_bounds(rows: Iterable[dict[str, Any]], lines: list[Line], group: _Group) -> None:
    """Refuse a line or a settlement larger than ``marketplace.money`` allows (stored before the bounds existed).

    Inputs are bounded so that this cannot happen to new data; what is older would otherwise reach the database as
    an integer beyond 64 bits, or the ledger as a posting it refuses.
    """
    references = {as_uuid(row["id"]): str(row["reference"]) for row in rows}
    for line in lines:
        if not 0 <= line.amounts.gross <= MAX_LINE_GROSS_CENTS:
            raise Unbookable(
                f"{references[line.agreement_id]}: the line comes to {euros(line.amounts.gross)} EUR, more than a "
                f"line may ({euros(MAX_LINE_GROSS_CENTS)} EUR); check the usage report, quantity and price"
            )
    if group.gross > MAX_SETTLEMENT_CENTS:
        raise Unbookable(
            f"the settlement comes to {euros(group.gross)} EUR, more than one settlement may "
            f"({euros(MAX_SETTLEMENT_CENTS)} EUR)"
        )


def _is_metered(ctx: _Context, row: dict[str, Any]) -> bool:
    return ctx.terms[as_uuid(row["offer_version"])].pricing == "metered"


def _settlement_values(
    ctx: _Context, pair: _Pair, group: _Group, settlement_id: UUID, entry: UUID | None
) -> dict[str, Any]:
    assert group.number is not None
    return {
        "id": settlement_id,
        "number": group.number,
        "run": ctx.run_id,
        "period": ctx.period,
        "provider": pair.provider,
        "consumer": pair.consumer,
        "net_cents": group.net,
        "tax_cents": group.tax,
        "gross_cents": group.gross,
        "fee_cents": group.fee,
        "status": "booked",
        "ledger_entry": entry,
        "created_at": now(),
        "version": 1,
    }


def _line_values(ctx: _Context, settlement_id: UUID, lines: list[Line]) -> list[dict[str, Any]]:
    return [
        {
            "id": uuid.uuid4(),
            "settlement": settlement_id,
            "line": index,
            "agreement": line.agreement_id,
            "period": ctx.period,
            "description": line.description,
            "pricing": line.pricing,
            "quantity_milli": line.quantity_milli,
            "unit": line.unit,
            "unit_price_cents": line.unit_price_cents,
            "active_days": line.active_days,
            "days_in_month": line.days_in_month,
            "net_cents": line.amounts.net,
            "tax_treatment": line.tax_treatment,
            "tax_rate": f"{line.amounts.tax_rate:f}",
            "tax_cents": line.amounts.tax,
            "gross_cents": line.amounts.gross,
            "reversed": False,
        }
        for index, line in enumerate(lines, start=1)
    ]


def _entry(ctx: _Context, pair: _Pair, group: _Group) -> ledger.NewEntry:
    """The ledger entry of a settlement: the consumer owes the gross, the provider is owed it less the fee."""
    assert group.number is not None
    consumer, provider = ctx.codes[pair.consumer], ctx.codes[pair.provider]
    return ledger.NewEntry(
        date=period_bounds(ctx.period)[1],
        narration=f"Leistungsverrechnung {ctx.period} an {consumer}",
        payee=provider,
        postings=_legs(consumer, provider, group.gross, group.fee),
        idempotency_key=f"settlement:{group.number}",
        actor=ctx.actor.label,
        tags=("settlement",),
        links=(group.number,),
        metadata={"settlement": group.number, "period": ctx.period},
    )


def _change(ctx: _Context, pair: _Pair, group: _Group, lines: int) -> audit.Change:
    assert group.number is not None
    return audit.Change(
        action="settlement.booked",
        subject_type="settlement",
        subject_id=group.number,
        member_id=pair.consumer,
        after={
            "number": group.number,
            "period": ctx.period,
            "provider": ctx.codes[pair.provider],
            "consumer": ctx.codes[pair.consumer],
            "gross_cents": group.gross,
            "fee_cents": group.fee,
            "lines": lines,
        },
    )


def _announcement(ctx: _Context, pair: _Pair, group: _Group) -> Announcement:
    assert group.number is not None
    return Announcement(
        type="settlement.booked",
        subject_id=group.number,
        recipients=(pair.consumer, pair.provider),
        data={"number": group.number, "period": ctx.period, "gross": money(group.gross)},
    )


async def _insert(table: type[Table], rows: list[dict[str, Any]]) -> None:
    """Rows of one table (dicts with the same keys) in bulk."""
    if rows:
        # Every row comes from the same function, so the keys are in the same order in each.
        await insert_records(table, list(rows[0]), [tuple(row.values()) for row in rows])


async def _book_group(ctx: _Context, provider_id: UUID, consumer_id: UUID, agreement_ids: list[UUID]) -> _Group:
    """Settle what is still uncharged of the pair's agreements, in one transaction."""
    first, _ = period_bounds(ctx.period)
    pair = _Pair(provider_id, consumer_id, agreement_ids)
    group = _Group()
    async with transaction():
        # Allocating the number first takes the counter row's lock: bookings of the year queue here.
        number = await _next_number(first.year)
        charged = await _charged(agreement_ids, ctx.period)
        group.already = len(charged)
        open_ids = [a for a in agreement_ids if a not in charged]
        rows = _in_order(await _agreements(open_ids), agreement_ids)
        usage = await _usage([as_uuid(r["id"]) for r in rows if _is_metered(ctx, r)], ctx.period)
        lines = _compute(ctx, rows, usage, group)
        if not lines:
            raise _NothingToBook(group)
        group.number = number
        settlement_id = uuid.uuid4()
        await Settlement.insert(Settlement(**_settlement_values(ctx, pair, group, settlement_id, None)))
        await SettlementLine.insert(*(SettlementLine(**line) for line in _line_values(ctx, settlement_id, lines)))
        if group.gross:
            new = _entry(ctx, pair, group)
            entry = await _post_entry(
                date=new.date,
                narration=new.narration,
                payee=new.payee,
                postings=new.postings,
                idempotency_key=new.idempotency_key,
                actor=new.actor,
                tags=new.tags,
                links=new.links,
                metadata=new.metadata,
            )
            await Settlement.update({Settlement.ledger_entry: entry.id}).where(Settlement.id == settlement_id)
        await audit.record_many(ctx.actor, [_change(ctx, pair, group, len(lines))])
        await emit_many([_announcement(ctx, pair, group)])
    return group


async def _settle_pair(ctx: _Context, provider_id: UUID, consumer_id: UUID, agreement_ids: list[UUID]) -> _Group:
    for attempt in range(RETRIES):
        try:
            return await _book_group(ctx, provider_id, consumer_id, agreement_ids)
        except _NothingToBook as nothing:
            return nothing.group
        except Exception as exc:
            if not is_integrity_error(exc) or attempt == RETRIES - 1:
                raise
            # Another run charged one of these agreements at the same moment: look again.
            log.info("settlement_retry", period=ctx.period, attempt=attempt + 1)
    raise AssertionError("unreachable")


class _NothingInBatch(Exception):
    """Leaves a batch's transaction (rolling back the counter) when none of its pairs has anything to charge."""

    def __init__(self, outcomes: list[_Outcome]) -> None:
        super().__init__("nothing to book")
        self.outcomes = outcomes


async def _reserve_numbers(year: int) -> int:
    """Lock the year's counter row (bookings of the year queue here) and return the last number given out.

    The upsert counts one up, so that it also creates and locks a missing row; the batch sets the final value
    when it knows how many settlements it books, or rolls back.
    """
    number = await _next_number(year)
    return int(number.rsplit("-", 1)[1]) - 1


async def _book_batch(ctx: _Context, pairs: list[_Pair]) -> list[_Outcome]:
    """Settle what is still uncharged of several pairs in ONE transaction: all of them or none.

    A pair beyond the bounds is refused and left out; the others are booked.
    """
    first, _ = period_bounds(ctx.period)
    groups = [_Group() for _ in pairs]
    outcomes: list[_Outcome] = list(groups)
    async with transaction():
        last_number = await _reserve_numbers(first.year)
        every_id = [agreement for pair in pairs for agreement in pair.agreements]
        charged = await _charged(every_id, ctx.period)
        open_ids = [agreement for agreement in every_id if agreement not in charged]
        rows = _in_order(await _agreements(open_ids), every_id)
        usage = await _usage([as_uuid(r["id"]) for r in rows if _is_metered(ctx, r)], ctx.period)
        owner = {agreement: index for index, pair in enumerate(pairs) for agreement in pair.agreements}
        rows_of: list[list[dict[str, Any]]] = [[] for _ in pairs]
        for row in rows:
            rows_of[owner[as_uuid(row["id"])]].append(row)
        booked: list[tuple[_Pair, _Group, list[Line]]] = []
        for index, (pair, group, pair_rows) in enumerate(zip(pairs, groups, rows_of, strict=True)):
            group.already = sum(1 for agreement in pair.agreements if agreement in charged)
            try:
                lines = _compute(ctx, pair_rows, usage, group)
            except Unbookable as exc:
                outcomes[index] = _Refused(str(exc))
                continue
            if lines:
                # Numbers in pair order, only for the settlements booked here: the counter stays gapless.
                last_number += 1
                group.number = f"S-{first.year:04d}-{last_number:06d}"
                booked.append((pair, group, lines))
        if not booked:
            raise _NothingInBatch(outcomes)
        await SettlementNumber.update({SettlementNumber.last_number: last_number}).where(
            SettlementNumber.year == first.year
        )
        to_post = [(pair, group) for pair, group, _ in booked if group.gross]
        entries = await _post_entries([_entry(ctx, pair, group) for pair, group in to_post])
        entry_of = {group.number: entry.id for (_, group), entry in zip(to_post, entries, strict=True)}
        settlements: list[dict[str, Any]] = []
        lines_out: list[dict[str, Any]] = []
        for pair, group, lines in booked:
            settlement_id = uuid.uuid4()
            settlements.append(_settlement_values(ctx, pair, group, settlement_id, entry_of.get(group.number)))
            lines_out.extend(_line_values(ctx, settlement_id, lines))
        await _insert(Settlement, settlements)
        await _insert(SettlementLine, lines_out)
        await audit.record_many(ctx.actor, [_change(ctx, pair, group, len(lines)) for pair, group, lines in booked])
        await emit_many([_announcement(ctx, pair, group) for pair, group, _ in booked])
    return outcomes


async def _settle_batch(ctx: _Context, pairs: list[_Pair]) -> list[_Outcome]:
    """The outcome of each pair: booked as one batch, else one by one (each pair its own outcome)."""
    try:
        return await _book_batch(ctx, pairs)
    except _NothingInBatch as nothing:
        return nothing.outcomes
    except Exception as exc:
        if is_connection_lost(exc):
            raise
        # Rolled back whole, whatever it was: another run charged some of these agreements, the ledger refused
        # one pair's entry (a closed account), the database one pair's value. One by one, the pairs that can be
        # booked are, and only the one at fault is reported.
        log.info("settlement_batch_one_by_one", period=ctx.period, pairs=len(pairs), reason=type(exc).__name__)
    return [await _settle_alone(ctx, pair) for pair in pairs]


async def _settle_alone(ctx: _Context, pair: _Pair) -> _Outcome:
    """Settle one pair in its own transaction; a failure of the pair becomes its ``_Refused`` outcome.

    The transaction is rolled back with its number, so the numbers stay gapless. A failure is the pair's only if
    the database still answers afterwards; otherwise nothing else could be booked either, and the run ends.
    """
    try:
        return await _settle_pair(ctx, pair.provider, pair.consumer, pair.agreements)
    except Unbookable as exc:
        return _Refused(str(exc))
    except ledger.LedgerError as exc:
        return _Refused(exc.message)
    except Exception as exc:
        # A lost connection is never the pair's fault: the run goes back to the queue and is resumed.
        if is_connection_lost(exc) or not await _database_answers():
            raise
        log.exception(
            "settlement_pair_failed",
            period=ctx.period,
            provider=ctx.codes[pair.provider],
            consumer=ctx.codes[pair.consumer],
        )
        return _Refused(f"the booking failed ({type(exc).__name__}); the log has the details (settlement_pair_failed)")


async def _database_answers() -> bool:
    """True when the database answers a trivial query."""
    try:
        await SettlementRun.raw("SELECT 1")
    except Exception:
        return False
    return True


async def _candidates(period: str) -> list[dict[str, Any]]:
    first, last = period_bounds(period)
    return list(
        await Agreement.select(Agreement.id, Agreement.provider, Agreement.consumer, Agreement.offer_version)
        .where(
            Agreement.status.is_in(list(SETTLEABLE))
            & (Agreement.start_date <= last)
            & (Agreement.end_date.is_null() | (Agreement.end_date >= first))
        )
        .order_by(Agreement.reference)
    )


async def _write_progress(run_id: UUID, tally: _Tally, *, status: str | None = None) -> None:
    values: dict[Any, Any] = {
        SettlementRun.agreements_total: tally.total,
        SettlementRun.agreements_processed: tally.processed,
        SettlementRun.agreements_charged: tally.charged,
        SettlementRun.agreements_already_charged: tally.already,
        SettlementRun.agreements_not_due: tally.not_due,
        SettlementRun.settlements_created: tally.settlements,
        SettlementRun.net_cents: tally.net,
        SettlementRun.tax_cents: tally.tax,
        SettlementRun.gross_cents: tally.gross,
        SettlementRun.fee_cents: tally.fee,
        SettlementRun.missing_usage: json.dumps(tally.missing),
        SettlementRun.errors: json.dumps(tally.errors),
    }
    if status is not None:
        values[SettlementRun.status] = status
        values[SettlementRun.finished_at] = now()
    async with transaction():
        await SettlementRun.update(values).where(SettlementRun.id == run_id)


def _batches(pairs: list[_Pair]) -> Iterable[list[_Pair]]:
    """Consecutive pairs, up to ``BATCH_PAIRS`` pairs or ``BATCH_AGREEMENTS`` agreements per batch."""
    batch: list[_Pair] = []
    agreements = 0
    for pair in pairs:
        if batch and (len(batch) >= BATCH_PAIRS or agreements + len(pair.agreements) > BATCH_AGREEMENTS):
            yield batch
            batch, agreements = [], 0
        batch.append(pair)
        agreements += len(pair.agreements)
    if batch:
        yield batch


def _count(tally: _Tally, ctx: _Context, pair: _Pair, outcome: _Outcome) -> None:
    """Add one pair's outcome to the run's report."""
    provider, consumer = ctx.codes[pair.provider], ctx.codes[pair.consumer]
    tally.processed += len(pair.agreements)
    if isinstance(outcome, _Refused):
        # e.g. a departed member's account is closed: the others are still settled, this one is reported.
        tally.errors.append({"provider": provider, "consumer": consumer, "detail": outcome.detail})
        return
    tally.charged += outcome.charged
    tally.already += outcome.already
    tally.not_due += outcome.not_due
    tally.missing.extend(
        {"agreement_id": str(agreement_id), "reference": reference, "provider": provider, "consumer": consumer}
        for agreement_id, reference in outcome.missing
    )
    if outcome.number is not None:
        tally.settlements += 1
        tally.net += outcome.net
        tally.tax += outcome.tax
        tally.gross += outcome.gross
        tally.fee += outcome.fee


async def execute_run(run_id: UUID, actor: Actor) -> None:
    """Do the work of a run that was created: settle every pair, then write the report.

    A pair that cannot be booked is reported in ``errors`` and the run goes on; it ends ``done``, or ``failed``
    when it reported any. An error that is not one pair's (the database gone, a cancellation) marks the run
    ``failed`` and is raised again; what was booked before it stays booked, and running the period again
    completes it.
    """
    row = await SettlementRun.select().where(SettlementRun.id == run_id).first()
    if row is None:
        raise NotFound("There is no such settlement run.")
    period = str(row["period"])
    tally = _Tally()
    try:
        candidates = await _candidates(period)
        tally.total = len(candidates)
        members = await Member.select(Member.id, Member.code)
        codes = {as_uuid(m["id"]): str(m["code"]) for m in members}
        terms = {
            version: await catalogue.version_terms(version)
            for version in {as_uuid(c["offer_version"]) for c in candidates}
        }
        ctx = _Context(run_id, period, actor, Decimal(str(row["fee_percent"])), codes, terms)
        grouped: dict[tuple[UUID, UUID], list[UUID]] = {}
        for candidate in candidates:
            key = (as_uuid(candidate["provider"]), as_uuid(candidate["consumer"]))
            grouped.setdefault(key, []).append(as_uuid(candidate["id"]))
        del candidates
        pairs = [
            _Pair(provider, consumer, ids)
            for (provider, consumer), ids in sorted(
                grouped.items(), key=lambda item: (codes[item[0][0]], codes[item[0][1]])
            )
        ]
        del grouped
        await _write_progress(run_id, tally)
        every, done, written = max(1, len(pairs) // 100), 0, 0
        for batch in _batches(pairs):
            for pair, outcome in zip(batch, await _settle_batch(ctx, batch), strict=True):
                _count(tally, ctx, pair, outcome)
            done += len(batch)
            if done - written >= every:  # about every 1 % of the pairs, at most once per batch
                await _write_progress(run_id, tally)
                written = done
        await _write_progress(run_id, tally, status="failed" if tally.errors else "done")
    except BaseException:
        log.exception("settlement_run_failed", run=str(run_id), period=period)
        try:
            await _write_progress(run_id, tally, status="failed")
        except Exception:  # the database itself may be what failed
            log.exception("settlement_run_not_marked", run=str(run_id))
        raise


async def _find_replay(member_id: UUID | None, key: str | None, period: str) -> UUID | None:
    if member_id is None or key is None:
        return None
    row = (
        await SettlementRun.select(SettlementRun.id, SettlementRun.period)
        .where((SettlementRun.requested_by_member == member_id) & (SettlementRun.idempotency_key == key))
        .first()
    )
    if row is None:
        return None
    if row["period"] != period:
        raise InvalidInput(
            "This Idempotency-Key was already used for a different request; use a new key.",
            errors=[FieldError(field="Idempotency-Key", message="used for a different request")],
        )
    return as_uuid(row["id"])


async def create_run(
    period: str, actor: Actor, *, idempotency_key: str | None = None, watched: bool = False
) -> tuple[UUID, bool]:
    """Check the period and record a run; its id and whether it is new (not a replay).

    A ``watched`` run is recorded ``queued`` with its wait counted from now, in the same transaction, so that a
    process dying before it hands the run on still leaves a run that the heartbeat watch resumes. Otherwise
    the run is ``running`` in the caller's hands (``run_period``).
    """
    check_period(period)
    if idempotency_key is not None and not 0 < len(idempotency_key) <= 255:
        raise InvalidInput(
            "Idempotency-Key must be 1 to 255 printable characters.",
            errors=[FieldError(field="Idempotency-Key", message="invalid")],
        )
    replay = await _find_replay(actor.member_id, idempotency_key, period)
    if replay is not None:
        return replay, False
    await _refuse_closed(period)
    percent = fee_percent()
    run_id = uuid.uuid4()
    try:
        async with transaction():
            await SettlementRun.insert(
                SettlementRun(
                    id=run_id,
                    period=period,
                    status="queued" if watched else "running",
                    heartbeat_at=now() if watched else None,
                    started_by=actor.label,
                    requested_by_member=actor.member_id,
                    idempotency_key=idempotency_key if actor.member_id is not None else None,
                    fee_percent=f"{percent:f}",
                    created_at=now(),
                    version=1,
                )
            )
            await audit.record(
                actor,
                action="settlement_run.started",
                subject_type="settlement_run",
                subject_id=run_id,
                member_id=actor.member_id,
                after={"period": period, "fee_percent": f"{percent:f}"},
            )
    except Exception as exc:
        if not is_integrity_error(exc):
            raise
        replay = await _find_replay(actor.member_id, idempotency_key, period)
        if replay is None:
            raise
        return replay, False
    return run_id, True


async def run_period(
    period: str, actor: Actor, *, idempotency_key: str | None = None
) -> tuple[schemas.SettlementRun, bool]:
    """Settle ``period`` in this process; the finished run and whether it is new."""
    run_id, created = await create_run(period, actor, idempotency_key=idempotency_key)
    if created:
        await execute_run(run_id, actor)
    return await get_run(run_id), created


def _run_out(row: dict[str, Any]) -> schemas.SettlementRun:
    total, processed = int(row["agreements_total"]), int(row["agreements_processed"])
    missing = json.loads(row["missing_usage"])
    errors = json.loads(row["errors"])
    finished = row["status"] in ("done", "failed")
    percent = processed * 100 // total if total else (100 if finished else 0)
    # A resumed attempt found its earlier attempts' lines "already charged": they are this run's own.
    earlier_lines = min(int(row.get("resumed_lines") or 0), int(row["agreements_already_charged"]))
    earlier = {key: int(row.get(f"resumed_{key}_cents") or 0) for key in ("net", "tax", "gross", "fee")}
    return schemas.SettlementRun(
        id=as_uuid(row["id"]),
        period=str(row["period"]),
        status=row["status"],
        started_by=str(row["started_by"]),
        fee_percent=str(row["fee_percent"]),
        progress=schemas.Progress(processed=processed, total=total, percent=percent),
        counts=schemas.RunCounts(
            agreements=total,
            charged=int(row["agreements_charged"]) + earlier_lines,
            already_charged=int(row["agreements_already_charged"]) - earlier_lines,
            not_due=int(row["agreements_not_due"]),
            missing_usage=len(missing),
            settlements=int(row["settlements_created"]) + int(row.get("resumed_settlements") or 0),
            errors=len(errors),
        ),
        totals=_totals(*(int(row[f"{key}_cents"]) + earlier[key] for key in ("net", "tax", "gross", "fee"))),
        missing_usage=[
            schemas.MissingUsage(
                agreement_id=UUID(item["agreement_id"]),
                reference=item["reference"],
                provider=item["provider"],
                consumer=item["consumer"],
            )
            for item in missing
        ],
        errors=[schemas.RunError(**item) for item in errors],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
    )


async def get_run(run_id: UUID) -> schemas.SettlementRun:
    """A run with its progress, counts, totals and report (the cooperative's roles only: see the controller)."""
    row = await SettlementRun.select().where(SettlementRun.id == run_id).first()
    if row is None:
        raise NotFound("There is no such settlement run.")
    return _run_out(dict(row))


async def list_runs(*, limit: int) -> list[schemas.SettlementRun]:
    """The latest ``limit`` runs, newest first (the cooperative's roles only: see the callers)."""
    rows = await SettlementRun.select().order_by(SettlementRun.created_at, ascending=False).limit(limit)
    return [_run_out(dict(row)) for row in rows]


# --- reading settlements --------------------------------------------------------------------------------


def _sees(viewer: Principal, row: dict[str, Any]) -> bool:
    return viewer.sees_all_members or viewer.member_id in (as_uuid(row["consumer"]), as_uuid(row["provider"]))


async def _codes(ids: Iterable[UUID]) -> dict[UUID, str]:
    rows = await Member.select(Member.id, Member.code).where(Member.id.is_in(list(set(ids))))
    return {as_uuid(row["id"]): str(row["code"]) for row in rows}


async def _visible_row(number: str, viewer: Principal) -> dict[str, Any]:
    row = await Settlement.select().where(Settlement.number == number).first()
    if row is None or not _sees(viewer, row):
        raise NotFound("There is no such settlement for your member.")
    return dict(row)


def _quantity(milli: int) -> str:
    value = (Decimal(milli) * pricing.MILLI).normalize()
    return f"{value:f}"


async def _settlement_out(row: dict[str, Any]) -> schemas.Settlement:
    codes = await _codes([as_uuid(row["consumer"]), as_uuid(row["provider"])])
    lines = await (
        SettlementLine.select(
            *SettlementLine.all_columns(),
            SettlementLine.agreement.reference.as_alias("agreement_reference"),
        )
        .where(SettlementLine.settlement == row["id"])
        .order_by(SettlementLine.line)
    )
    return schemas.Settlement(
        number=str(row["number"]),
        period=str(row["period"]),
        status=row["status"],
        provider=codes[as_uuid(row["provider"])],
        consumer=codes[as_uuid(row["consumer"])],
        totals=_totals(row["net_cents"], row["tax_cents"], row["gross_cents"], row["fee_cents"]),
        lines=[
            schemas.SettlementLine(
                line=int(line["line"]),
                agreement_id=as_uuid(line["agreement"]),
                agreement_reference=str(line["agreement_reference"]),
                description=str(line["description"]),
                pricing=line["pricing"],
                quantity=_quantity(int(line["quantity_milli"])),
                unit=str(line["unit"]),
                unit_price=money(int(line["unit_price_cents"])),
                active_days=line["active_days"],
                days_in_month=line["days_in_month"],
                net=money(int(line["net_cents"])),
                tax_treatment=line["tax_treatment"],
                tax_rate=str(line["tax_rate"]),
                tax=money(int(line["tax_cents"])),
                gross=money(int(line["gross_cents"])),
                reversed=bool(line["reversed"]),
            )
            for line in lines
        ],
        ledger_entry_id=None if row["ledger_entry"] is None else as_uuid(row["ledger_entry"]),
        reversal_entry_id=None if row["reversal_entry"] is None else as_uuid(row["reversal_entry"]),
        reversal_reason=row["reversal_reason"],
        reversed_at=row["reversed_at"],
        run_id=None if row["run"] is None else as_uuid(row["run"]),
        created_at=row["created_at"],
        version=int(row["version"]),
    )


async def get_settlement(number: str, viewer: Principal) -> schemas.Settlement:
    """One settlement that the viewer's member is a party of (any, for the cooperative's roles)."""
    return await _settlement_out(await _visible_row(number, viewer))


async def list_settlements(
    viewer: Principal, *, period: str | None, member: str | None, limit: int, cursor: str | None
) -> schemas.SettlementPage:
    """Settlements the viewer may see, newest number first; ``member`` selects those it is a party of."""
    query = Settlement.select()
    party: UUID | None = None
    if member is not None:
        found = await Member.select(Member.id).where(Member.code == member).first()
        if found is None or not (viewer.sees_all_members or as_uuid(found["id"]) == viewer.member_id):
            raise NotFound(f"There is no member with the code {member!r} whose settlements you may read.")
        party = as_uuid(found["id"])
    elif not viewer.sees_all_members:
        party = viewer.member_id
    if party is not None:
        query = query.where((Settlement.consumer == party) | (Settlement.provider == party))
    if period is not None:
        query = query.where(Settlement.period == period)
    key = decode_cursor(cursor, 1)
    if key is not None:
        if not re.fullmatch(r"S-\d{4}-\d{6}", key[0]):
            raise InvalidCursor("The cursor is not valid; start again without one.")
        query = query.where(Settlement.number < key[0])
    rows = await query.order_by(Settlement.number, ascending=False).limit(limit + 1)
    codes = await _codes([as_uuid(r[side]) for r in rows for side in ("consumer", "provider")]) if rows else {}
    items = [
        schemas.SettlementSummary(
            number=str(row["number"]),
            period=str(row["period"]),
            status=row["status"],
            provider=codes[as_uuid(row["provider"])],
            consumer=codes[as_uuid(row["consumer"])],
            totals=_totals(row["net_cents"], row["tax_cents"], row["gross_cents"], row["fee_cents"]),
            ledger_entry_id=None if row["ledger_entry"] is None else as_uuid(row["ledger_entry"]),
            created_at=row["created_at"],
        )
        for row in rows[:limit]
    ]
    next_cursor = encode_cursor(items[-1].number) if len(rows) > limit else None
    return schemas.SettlementPage(items=items, next_cursor=next_cursor)


async def is_settled(agreement_id: UUID, period: str) -> bool:
    """True when a non-reversed line charges the agreement for the period."""
    return bool(
        await SettlementLine.exists().where(
            (SettlementLine.agreement == agreement_id)
            & (SettlementLine.period == period)
            & (SettlementLine.reversed == False)  # noqa: E712 - a Piccolo condition, not a comparison
        )
    )


# --- reversal -------------------------------------------------------------------------------------------


async def reverse_settlement(number: str, reason: str, actor: Actor, viewer: Principal) -> schemas.Settlement:
    """Reverse a booked settlement: the ledger reversal, the settlement and its lines marked reversed.

    Its agreements and period may then be charged again by a new run (the corrected settlement).
    """
    text = _SPACE.sub(" ", reason).strip()
    async with transaction():
        if is_postgres():
            await Settlement.raw("SELECT id FROM settlements WHERE number = {} FOR UPDATE", number)
        row = await _visible_row(number, viewer)
        if row["status"] != "booked":
            raise InvalidTransition(f"A settlement that is {row['status']} cannot be reversed.", state=row["status"])
        reversal: ledger.Entry | None = None
        if row["ledger_entry"] is not None:
            _, last = period_bounds(str(row["period"]))
            reversal = await ledger.reverse(
                as_uuid(row["ledger_entry"]),
                reason=f"Storno {number}: {text}"[:1000],
                actor=actor.label,
                date=max(today(), last),
            )
        moment = now()
        updated = (
            await Settlement.update(
                {
                    Settlement.status: "reversed",
                    Settlement.reversal_entry: None if reversal is None else reversal.id,
                    Settlement.reversal_reason: text,
                    Settlement.reversed_at: moment,
                    Settlement.version: row["version"] + 1,
                }
            )
            .where((Settlement.id == row["id"]) & (Settlement.status == "booked"))
            .returning(Settlement.id)
        )
        if not updated:
            raise Conflict("The settlement was changed at the same time; read it again.")
        await SettlementLine.update({SettlementLine.reversed: True}).where(SettlementLine.settlement == row["id"])
        await audit.record(
            actor,
            action="settlement.reversed",
            subject_type="settlement",
            subject_id=number,
            member_id=as_uuid(row["consumer"]),
            before={"status": "booked"},
            after={"status": "reversed", "reversal_entry": None if reversal is None else str(reversal.id)},
            reason=text,
        )
        await emit(
            "settlement.reversed",
            number,
            [as_uuid(row["consumer"]), as_uuid(row["provider"])],
            {"number": number, "reason": text},
        )
        row = await _visible_row(number, viewer)
        return await _settlement_out(row)


# --- documents ------------------------------------------------------------------------------------------


async def document_parties(settlement: schemas.Settlement) -> dict[str, dict[str, Any]]:
    """What the documents print of the provider, the consumer and the cooperative (the clearing house)."""
    columns = (Member.code, Member.name, Member.kind, Member.state, Member.leitweg_id, Member.contact_email)
    codes = [settlement.provider, settlement.consumer]
    rows = await Member.select(*columns, Member.iban, Member.bic, Member.account_holder).where(
        Member.code.is_in(codes) | (Member.kind == "cooperative")
    )
    by_code = {str(row["code"]): dict(row) for row in rows}
    coop = next((dict(row) for row in rows if row["kind"] == "cooperative"), None)
    return {
        "provider": by_code[settlement.provider],
        "consumer": by_code[settlement.consumer],
        "clearing": coop or {"code": "KOPIT", "name": "KOPIT eG", "iban": None, "bic": None, "account_holder": None},
    }
