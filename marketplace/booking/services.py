"""The rules of booking: requests, agreements, capacity, termination and metered usage.

Every command is one transaction that writes its audit event and its outbox events. Capacity is checked under a
lock on the offer (a row lock on PostgreSQL, the IMMEDIATE transaction on SQLite) and enforced again by a
trigger, so that racing accepts can never overbook. Agreement references are allocated from a counter row in the
same transaction: a rolled-back accept leaves no gap.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from marketplace.audit import services as audit
from marketplace.auth import Actor, Principal, Role
from marketplace.booking import schemas
from marketplace.booking.calendar import earliest_end, minimum_term_end, month_end, period_bounds, period_of
from marketplace.booking.tables import Agreement, AgreementNumber, ServiceRequest, UsageReport
from marketplace.catalogue import services as catalogue
from marketplace.catalogue.schemas import OfferTerms
from marketplace.catalogue.tables import Offer
from marketplace.clock import now, today
from marketplace.db import as_uuid, is_postgres, transaction
from marketplace.errors import Conflict, FieldError, InvalidInput, InvalidTransition, NotFound
from marketplace.events.services import emit
from marketplace.members.tables import Member
from marketplace.money import CENT, MAX_USAGE_MILLI
from marketplace.pagination import InvalidCursor, decode_cursor, encode_cursor

#: Request life cycle: command → (state it must be in, state it goes to).
REQUEST_TRANSITIONS: dict[str, tuple[str, str]] = {
    "accept": ("submitted", "accepted"),
    "decline": ("submitted", "declined"),
    "withdraw": ("submitted", "withdrawn"),
    "expire": ("submitted", "expired"),
}
#: Agreement states that occupy capacity (a terminated agreement runs until its end date).
RUNNING = ("active", "terminated")
MILLI = Decimal("0.001")


class BookingSettings:
    """Tunable rules; the request expiry comes from the environment (REQUEST_EXPIRY_DAYS)."""

    request_expiry = timedelta(days=14)


# --- reading --------------------------------------------------------------------------------------------


def _terms(terms: OfferTerms) -> schemas.Terms:
    return schemas.Terms(
        version=terms.version_number,
        unit=terms.unit,
        unit_price=terms.unit_price.quantize(CENT),
        pricing=terms.pricing,
        capacity=terms.capacity,
        min_term_months=terms.min_term_months,
        notice_months=terms.notice_months,
        tax_treatment=terms.tax_treatment,
    )


async def _codes(*member_ids: UUID) -> dict[UUID, str]:
    rows = await Member.select(Member.id, Member.code).where(Member.id.is_in(list(set(member_ids))))
    return {row["id"]: row["code"] for row in rows}


def _sees(viewer: Principal, row: dict[str, Any]) -> bool:
    return viewer.sees_all_members or viewer.member_id in (row["consumer"], row["provider"])


@dataclass(frozen=True, slots=True)
class _Lookups:
    """What the answers for a page of rows need besides the rows, fetched in a few queries for all of them."""

    terms: dict[UUID, OfferTerms]
    codes: dict[UUID, str]
    references: dict[UUID, str]

    @classmethod
    async def of(cls, rows: Sequence[dict[str, Any]], *, requests: bool = False) -> _Lookups:
        terms = await catalogue.versions_terms(row["offer_version"] for row in rows)
        members = {row[side] for row in rows for side in ("consumer", "provider")}
        codes = await _codes(*members) if members else {}
        references: dict[UUID, str] = {}
        if requests and rows:
            agreements = await Agreement.select(Agreement.request, Agreement.reference).where(
                Agreement.request.is_in([row["id"] for row in rows])
            )
            references = {as_uuid(a["request"]): str(a["reference"]) for a in agreements}
        return cls(terms, codes, references)


async def _request_out(row: dict[str, Any], lookups: _Lookups | None = None) -> schemas.ServiceRequest:
    if lookups is None:
        lookups = await _Lookups.of([row], requests=True)
    terms = lookups.terms[as_uuid(row["offer_version"])]
    codes = lookups.codes
    return schemas.ServiceRequest(
        id=row["id"],
        offer_id=row["offer"],
        offer_title=terms.title,
        terms=_terms(terms),
        consumer=codes[row["consumer"]],
        provider=codes[row["provider"]],
        quantity=row["quantity"],
        start_date=row["start_date"],
        end_date=row["end_date"],
        message=row["message"],
        status=row["status"],
        decline_reason=row["decline_reason"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        decided_at=row["decided_at"],
        version=row["version"],
        agreement_reference=lookups.references.get(as_uuid(row["id"])),
    )


async def _agreement_out(row: dict[str, Any], lookups: _Lookups | None = None) -> schemas.Agreement:
    if lookups is None:
        lookups = await _Lookups.of([row])
    terms = lookups.terms[as_uuid(row["offer_version"])]
    codes = lookups.codes
    earliest = None
    if row["status"] == "active":
        earliest = earliest_end(today(), row["start_date"], terms.notice_months, terms.min_term_months)
        if row["end_date"] is not None:
            earliest = min(earliest, row["end_date"])
    return schemas.Agreement(
        id=row["id"],
        reference=row["reference"],
        offer_id=row["offer"],
        offer_title=terms.title,
        terms=_terms(terms),
        provider=codes[row["provider"]],
        consumer=codes[row["consumer"]],
        quantity=row["quantity"],
        start_date=row["start_date"],
        end_date=row["end_date"],
        status=row["status"],
        imported=row["imported"],
        request_id=row["request"],
        created_at=row["created_at"],
        terminated_at=row["terminated_at"],
        earliest_end_date=earliest,
        version=row["version"],
    )


async def _visible_request(request_id: UUID, viewer: Principal) -> dict[str, Any]:
    row = await ServiceRequest.select().where(ServiceRequest.id == request_id).first()
    if row is None or not _sees(viewer, row):
        raise NotFound("There is no such request for your member.")
    return dict(row)


async def _visible_agreement(agreement_id: UUID, viewer: Principal) -> dict[str, Any]:
    row = await Agreement.select().where(Agreement.id == agreement_id).first()
    if row is None or not _sees(viewer, row):
        raise NotFound("There is no such agreement for your member.")
    return dict(row)


def _keyset(cursor: str | None) -> tuple[datetime, UUID] | None:
    key = decode_cursor(cursor, 2)
    if key is None:
        return None
    try:
        return datetime.fromisoformat(key[0]), UUID(key[1])
    except ValueError as exc:
        raise InvalidCursor("The cursor is not valid; start again without one.") from exc


def _party_condition(table: type[ServiceRequest] | type[Agreement], viewer: Principal, side: str | None) -> Any:
    mine = viewer.member_id
    consumer_side = table.consumer == mine
    provider_side = table.provider == mine
    if side in ("buyer", "consumer"):
        return consumer_side
    if side == "provider":
        return provider_side
    return consumer_side | provider_side


async def get_request(request_id: UUID, viewer: Principal) -> schemas.ServiceRequest:
    """One request of the viewer's member (as consumer or provider)."""
    await expire_due_requests()
    return await _request_out(await _visible_request(request_id, viewer))


async def _newest_first(
    table: type[ServiceRequest] | type[Agreement],
    viewer: Principal,
    *,
    side: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], bool]:
    """One page of the viewer's rows of ``table`` (all for the cooperative's roles), newest first; (rows, more)."""
    query = table.select()
    if not viewer.sees_all_members or side is not None:
        query = query.where(_party_condition(table, viewer, side))
    if status is not None:
        query = query.where(table.status == status)
    key = _keyset(cursor)
    if key is not None:
        query = query.where((table.created_at < key[0]) | ((table.created_at == key[0]) & (table.id < key[1])))
    rows = await query.order_by(table.created_at, ascending=False).order_by(table.id, ascending=False).limit(limit + 1)
    return [dict(row) for row in rows[:limit]], len(rows) > limit


def _cursor_after(item: schemas.ServiceRequest | schemas.Agreement, more: bool) -> str | None:
    return encode_cursor(item.created_at.isoformat(), item.id) if more else None


async def list_requests(
    viewer: Principal, *, side: str | None, status: str | None, limit: int, cursor: str | None
) -> schemas.RequestPage:
    """The viewer's member's requests, newest first; the cooperative's roles see all."""
    await expire_due_requests()
    rows, more = await _newest_first(ServiceRequest, viewer, side=side, status=status, limit=limit, cursor=cursor)
    lookups = await _Lookups.of(rows, requests=True)
    items = [await _request_out(row, lookups) for row in rows]
    return schemas.RequestPage(items=items, next_cursor=_cursor_after(items[-1], more) if items else None)


async def get_agreement(agreement_id: UUID, viewer: Principal) -> schemas.Agreement:
    """One agreement of the viewer's member."""
    await expire_ended_agreements()
    return await _agreement_out(await _visible_agreement(agreement_id, viewer))


async def list_agreements(
    viewer: Principal, *, side: str | None, status: str | None, limit: int, cursor: str | None
) -> schemas.AgreementPage:
    """The viewer's member's agreements, newest first; the cooperative's roles see all."""
    await expire_ended_agreements()
    rows, more = await _newest_first(Agreement, viewer, side=side, status=status, limit=limit, cursor=cursor)
    lookups = await _Lookups.of(rows)
    items = [await _agreement_out(row, lookups) for row in rows]
    return schemas.AgreementPage(items=items, next_cursor=_cursor_after(items[-1], more) if items else None)


# --- requests -------------------------------------------------------------------------------------------


def _date_error(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", errors=[FieldError(field=field, message=message)])


def _check_dates(start: date, end: date | None, terms: OfferTerms, *, allow_past: bool) -> None:
    if not allow_past and start < today():
        raise _date_error("start_date", f"must be today ({today().isoformat()}) or later")
    if end is not None:
        if end <= start:
            raise _date_error("end_date", "must be after start_date")
        minimum = minimum_term_end(start, terms.min_term_months)
        if end < minimum:
            raise _date_error(
                "end_date",
                f"the minimum term of {terms.min_term_months} months runs until {minimum.isoformat()}",
            )


async def _requestable(offer_id: UUID, consumer_id: UUID) -> OfferTerms:
    terms = await catalogue.offer_terms(offer_id)
    if terms.status == "draft":
        raise NotFound("There is no such offer.")
    if terms.status != "published":
        raise InvalidTransition(
            f"Only published offers can be requested; this one is {terms.status}.", state=terms.status
        )
    if terms.provider_id == consumer_id:
        raise Conflict("A member cannot request its own offers.")
    return terms


async def submit_request(data: schemas.RequestCreate, viewer: Principal) -> schemas.ServiceRequest:
    """Request a published offer of another member for the viewer's member."""
    async with transaction():
        terms = await _requestable(data.offer_id, viewer.member_id)
        _check_dates(data.start_date, data.end_date, terms, allow_past=False)
        moment = now()
        request_id = uuid.uuid4()
        await ServiceRequest.insert(
            ServiceRequest(
                id=request_id,
                offer=terms.offer_id,
                offer_version=terms.version_id,
                consumer=viewer.member_id,
                provider=terms.provider_id,
                quantity=data.quantity,
                start_date=data.start_date,
                end_date=data.end_date,
                message=data.message,
                status="submitted",
                requested_by=viewer.user_id,
                created_at=moment,
                expires_at=moment + BookingSettings.request_expiry,
                version=1,
            )
        )
        row = await _visible_request(request_id, viewer)
        await audit.record(
            Actor.of(viewer),
            action="request.submitted",
            subject_type="request",
            subject_id=request_id,
            member_id=viewer.member_id,
            after={"offer": str(terms.offer_id), "quantity": data.quantity, "status": "submitted"},
        )
        await emit(
            "request.submitted",
            request_id,
            [terms.provider_id, viewer.member_id],
            {"offer_id": str(terms.offer_id), "offer_title": terms.title, "quantity": data.quantity},
        )
        return await _request_out(row)


async def _lock_request(request_id: UUID) -> None:
    if is_postgres():
        await ServiceRequest.raw("SELECT id FROM requests WHERE id = {} FOR UPDATE", request_id)


async def _lock_offer(offer_id: UUID) -> None:
    if is_postgres():
        await Offer.raw("SELECT id FROM offers WHERE id = {} FOR UPDATE", offer_id)


async def _transition_request(
    request_id: UUID,
    command: str,
    viewer: Principal,
    *,
    party: str,
    reason: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check the viewer's side and the state, then move the request; the rows before and after."""
    source, target = REQUEST_TRANSITIONS[command]
    await _lock_request(request_id)
    row = await _visible_request(request_id, viewer)
    if row[party] != viewer.member_id:
        side = "provider" if party == "provider" else "requesting member"
        raise NotFound(f"There is no such request for which your member is the {side}.")
    if row["status"] == source and row["expires_at"] <= now():
        await _expire(row)
        raise InvalidTransition("The request has expired without an answer.", state="expired")
    if row["status"] != source:
        raise InvalidTransition(f"A request that is {row['status']} cannot be {target}.", state=row["status"])
    moment = now()
    updated = (
        await ServiceRequest.update(
            {
                ServiceRequest.status: target,
                ServiceRequest.decided_at: moment,
                ServiceRequest.decline_reason: reason,
                ServiceRequest.version: row["version"] + 1,
            }
        )
        .where((ServiceRequest.id == request_id) & (ServiceRequest.status == source))
        .returning(*ServiceRequest.all_columns())
    )
    if not updated:
        raise InvalidTransition("The request was answered at the same time; read it again.", state=row["status"])
    await audit.record(
        Actor.of(viewer),
        action=f"request.{target}",
        subject_type="request",
        subject_id=request_id,
        member_id=viewer.member_id,
        before={"status": source},
        after={"status": target},
        reason=reason,
    )
    return row, dict(updated[0])


async def _next_reference(year: int) -> str:
    rows = await AgreementNumber.raw(
        "INSERT INTO agreement_numbers (year, last_number) VALUES ({}, 1) "
        "ON CONFLICT (year) DO UPDATE SET last_number = agreement_numbers.last_number + 1 "
        "RETURNING last_number",
        year,
    )
    return f"AGR-{year:04d}-{rows[0]['last_number']:06d}"


async def _check_capacity(offer_id: UUID, quantity: int, *, state: str | None) -> None:
    """Refuse when the running agreements plus ``quantity`` exceed the current capacity (offer locked).

    The refusal names ``state``, the state the command leaves its request in: ``submitted`` for an accept,
    nothing for an imported agreement, which has no request.
    """
    await _lock_offer(offer_id)
    current = await catalogue.offer_terms(offer_id)
    if current.capacity is None:
        return
    rows = await Agreement.select(Agreement.quantity).where(
        (Agreement.offer == offer_id) & Agreement.status.is_in(list(RUNNING))
    )
    used = sum(row["quantity"] for row in rows)
    if used + quantity > current.capacity:
        raise Conflict(
            f"The offer's capacity is exhausted: {used} of {current.capacity} units are booked, "
            f"{quantity} more do not fit.",
            state=state,
        )


async def _insert_agreement(
    *,
    request_id: UUID | None,
    offer_id: UUID,
    version_id: UUID,
    provider: UUID,
    consumer: UUID,
    quantity: int,
    start: date,
    end: date | None,
    imported: bool,
) -> dict[str, Any]:
    await _check_capacity(offer_id, quantity, state=None if request_id is None else "submitted")
    agreement_id = uuid.uuid4()
    await Agreement.insert(
        Agreement(
            id=agreement_id,
            reference=await _next_reference(today().year),
            request=request_id,
            offer=offer_id,
            offer_version=version_id,
            provider=provider,
            consumer=consumer,
            quantity=quantity,
            start_date=start,
            end_date=end,
            status="active",
            imported=imported,
            created_at=now(),
            version=1,
        )
    )
    row = await Agreement.select().where(Agreement.id == agreement_id).first()
    assert row is not None
    return dict(row)


async def accept_request(request_id: UUID, viewer: Principal) -> schemas.Agreement:
    """The provider accepts: an agreement on the version the request was made on, if capacity allows."""
    await expire_due_requests()
    async with transaction():
        _, after = await _transition_request(request_id, "accept", viewer, party="provider")
        agreement = await _insert_agreement(
            request_id=request_id,
            offer_id=after["offer"],
            version_id=after["offer_version"],
            provider=after["provider"],
            consumer=after["consumer"],
            quantity=after["quantity"],
            start=after["start_date"],
            end=after["end_date"],
            imported=False,
        )
        await audit.record(
            Actor.of(viewer),
            action="agreement.created",
            subject_type="agreement",
            subject_id=agreement["id"],
            member_id=viewer.member_id,
            after={"reference": agreement["reference"], "request": str(request_id), "quantity": agreement["quantity"]},
        )
        await emit(
            "request.accepted",
            request_id,
            [after["consumer"], after["provider"]],
            {"agreement_id": str(agreement["id"]), "reference": agreement["reference"]},
        )
        return await _agreement_out(agreement)


async def decline_request(request_id: UUID, reason: str, viewer: Principal) -> schemas.ServiceRequest:
    """The provider declines, with a reason the requesting member sees."""
    await expire_due_requests()
    async with transaction():
        _, after = await _transition_request(request_id, "decline", viewer, party="provider", reason=reason.strip())
        await emit("request.declined", request_id, [after["consumer"], after["provider"]], {"reason": reason.strip()})
        return await _request_out(after)


async def withdraw_request(request_id: UUID, viewer: Principal) -> schemas.ServiceRequest:
    """The requesting member withdraws while the request is unanswered."""
    await expire_due_requests()
    async with transaction():
        _, after = await _transition_request(request_id, "withdraw", viewer, party="consumer")
        await emit("request.withdrawn", request_id, [after["consumer"], after["provider"]], {})
        return await _request_out(after)


SYSTEM = Actor(label="system:expiry")


async def _expire(row: dict[str, Any]) -> None:
    updated = (
        await ServiceRequest.update(
            {
                ServiceRequest.status: "expired",
                ServiceRequest.decided_at: now(),
                ServiceRequest.version: row["version"] + 1,
            }
        )
        .where((ServiceRequest.id == row["id"]) & (ServiceRequest.status == "submitted"))
        .returning(ServiceRequest.id)
    )
    if not updated:
        return
    await audit.record(
        SYSTEM,
        action="request.expired",
        subject_type="request",
        subject_id=row["id"],
        member_id=row["consumer"],
        before={"status": "submitted"},
        after={"status": "expired"},
    )
    await emit("request.expired", row["id"], [row["consumer"], row["provider"]], {"status": "expired"})


async def expire_due_requests() -> int:
    """Expire every request left unanswered past its deadline (periodically, and before every read)."""
    condition = (ServiceRequest.status == "submitted") & (ServiceRequest.expires_at <= now())
    # A cheap look first, so that reads take no write lock when nothing is due.
    if not await ServiceRequest.exists().where(condition):
        return 0
    async with transaction():
        rows = await ServiceRequest.select().where(condition)
        for row in rows:
            await _expire(dict(row))
    return len(rows)


async def expire_ended_agreements() -> int:
    """Mark agreements whose end date has passed as expired."""
    day = today()
    condition = Agreement.status.is_in(list(RUNNING)) & Agreement.end_date.is_not_null() & (Agreement.end_date < day)
    if not await Agreement.exists().where(condition):
        return 0
    async with transaction():
        rows = await Agreement.select().where(condition)
        for row in rows:
            await Agreement.update({Agreement.status: "expired", Agreement.version: row["version"] + 1}).where(
                (Agreement.id == row["id"]) & (Agreement.version == row["version"])
            )
            await audit.record(
                SYSTEM,
                action="agreement.expired",
                subject_type="agreement",
                subject_id=row["id"],
                member_id=row["consumer"],
                before={"status": row["status"]},
                after={"status": "expired", "end_date": row["end_date"]},
            )
            await emit(
                "agreement.expired", row["id"], [row["consumer"], row["provider"]], {"reference": row["reference"]}
            )
    return len(rows)


# --- agreements -----------------------------------------------------------------------------------------


async def terminate_agreement(agreement_id: UUID, effective_date: date | None, viewer: Principal) -> schemas.Agreement:
    """A party ends the agreement at a month's end that respects the notice period and the minimum term."""
    async with transaction():
        if is_postgres():
            await Agreement.raw("SELECT id FROM agreements WHERE id = {} FOR UPDATE", agreement_id)
        row = await _visible_agreement(agreement_id, viewer)
        own_side = (viewer.member_id == row["consumer"] and viewer.has(Role.buyer)) or (
            viewer.member_id == row["provider"] and viewer.has(Role.provider)
        )
        if not own_side:
            raise NotFound("There is no such agreement that your roles let you terminate.")
        if row["status"] != "active":
            raise InvalidTransition(f"An agreement that is {row['status']} cannot be terminated.", state=row["status"])
        terms = await catalogue.version_terms(row["offer_version"])
        earliest = earliest_end(today(), row["start_date"], terms.notice_months, terms.min_term_months)
        end = effective_date or earliest
        if end != month_end(end):
            raise _date_error("effective_date", "an agreement ends at a month's end")
        if end < earliest:
            raise _date_error(
                "effective_date",
                f"the notice period of {terms.notice_months} months and the minimum term allow "
                f"{earliest.isoformat()} at the earliest",
            )
        if row["end_date"] is not None and row["end_date"] < end:
            raise InvalidTransition(
                f"The agreement already ends on {row['end_date'].isoformat()}.", state=row["status"]
            )
        updated = (
            await Agreement.update(
                {
                    Agreement.status: "terminated",
                    Agreement.end_date: end,
                    Agreement.terminated_at: now(),
                    Agreement.version: row["version"] + 1,
                }
            )
            .where((Agreement.id == agreement_id) & (Agreement.version == row["version"]))
            .returning(*Agreement.all_columns())
        )
        if not updated:
            raise InvalidTransition("The agreement was changed at the same time; read it again.", state=row["status"])
        await audit.record(
            Actor.of(viewer),
            action="agreement.terminated",
            subject_type="agreement",
            subject_id=agreement_id,
            member_id=viewer.member_id,
            before={"status": "active", "end_date": row["end_date"]},
            after={"status": "terminated", "end_date": end},
        )
        await emit(
            "agreement.terminated",
            agreement_id,
            [row["consumer"], row["provider"]],
            {"reference": row["reference"], "end_date": end.isoformat()},
        )
        return await _agreement_out(dict(updated[0]))


async def _member_id(code: str, field: str) -> UUID:
    row = await Member.select(Member.id, Member.status).where(Member.code == code).first()
    if row is None:
        raise InvalidInput(f"{field}: there is no member {code}", errors=[FieldError(field=field, message="unknown")])
    if row["status"] != "active":
        raise InvalidTransition(f"The member {code} is {row['status']}.", state=row["status"])
    return UUID(str(row["id"]))


async def import_agreement(data: schemas.AgreementImport, actor: Actor) -> schemas.Agreement:
    """Record an agreement made by letter before the exchange existed (its start may lie in the past)."""
    async with transaction():
        provider = await _member_id(data.provider, "provider")
        consumer = await _member_id(data.consumer, "consumer")
        terms = await _requestable(data.offer_id, consumer)
        if terms.provider_id != provider:
            raise InvalidInput(
                f"provider: the offer belongs to {terms.provider_code}, not {data.provider}",
                errors=[FieldError(field="provider", message="not the offer's provider")],
            )
        _check_dates(data.start_date, data.end_date, terms, allow_past=True)
        agreement = await _insert_agreement(
            request_id=None,
            offer_id=terms.offer_id,
            version_id=terms.version_id,
            provider=provider,
            consumer=consumer,
            quantity=data.quantity,
            start=data.start_date,
            end=data.end_date,
            imported=True,
        )
        await audit.record(
            actor,
            action="agreement.imported",
            subject_type="agreement",
            subject_id=agreement["id"],
            member_id=consumer,
            after={
                "reference": agreement["reference"],
                "provider": data.provider,
                "consumer": data.consumer,
                "quantity": data.quantity,
                "start_date": data.start_date,
            },
        )
        await emit(
            "agreement.imported",
            agreement["id"],
            [consumer, provider],
            {"reference": agreement["reference"]},
        )
        return await _agreement_out(agreement)


# --- usage ----------------------------------------------------------------------------------------------


def _usage_out(row: dict[str, Any]) -> schemas.Usage:
    return schemas.Usage(
        agreement_id=row["agreement"],
        period=row["period"],
        quantity=Decimal(row["quantity_milli"]).scaleb(-3),
        reported_at=row["reported_at"],
        version=row["version"],
    )


async def period_is_settled(agreement_id: UUID, period: str) -> bool:
    """True once the period of an agreement has been settled (its figures may no longer change).

    Settled: a non-reversed settlement line charges the agreement for the period, or the ledger has closed the
    period. On PostgreSQL the month's usage report is locked first: a settlement run locks it too while it
    books, so a correction either comes before the run reads the figure or sees the committed line.
    """
    import ledger
    from marketplace.settlement.services import is_settled

    if is_postgres():
        await UsageReport.raw(
            "SELECT id FROM usage_reports WHERE agreement = {} AND period = {} FOR UPDATE", agreement_id, period
        )
    if await is_settled(agreement_id, period):
        return True
    return await ledger.get_closed_period(period) is not None


async def report_usage(agreement_id: UUID, data: schemas.UsageCreate, viewer: Principal) -> tuple[schemas.Usage, bool]:
    """The provider reports a metered month, or corrects it while it is unsettled; (usage, created)."""
    milli = int((Decimal(data.quantity) / MILLI).to_integral_value(rounding=ROUND_HALF_UP))
    if not 0 <= milli <= MAX_USAGE_MILLI:  # the schema says so too; this guards callers that build the Struct
        raise InvalidInput(
            f"quantity must lie between 0 and {MAX_USAGE_MILLI // 1000} units.",
            errors=[FieldError(field="quantity", message=f"at most {MAX_USAGE_MILLI // 1000}")],
        )
    async with transaction():
        row = await _visible_agreement(agreement_id, viewer)
        if row["provider"] != viewer.member_id:
            raise NotFound("There is no such agreement for which your member is the provider.")
        terms = await catalogue.version_terms(row["offer_version"])
        if terms.pricing != "metered":
            raise InvalidTransition("Usage is reported only for metered offers.", state=row["status"])
        first, last = period_bounds(data.period)
        if last < row["start_date"] or (row["end_date"] is not None and first > row["end_date"]):
            raise _date_error("period", "the agreement does not run in this month")
        if data.period > period_of(today()):
            raise _date_error("period", "usage can be reported for the current month or earlier")
        if await period_is_settled(agreement_id, data.period):
            raise InvalidTransition(
                f"The period {data.period} is settled; its usage can no longer change.", state="settled"
            )
        existing = (
            await UsageReport.select()
            .where((UsageReport.agreement == agreement_id) & (UsageReport.period == data.period))
            .first()
        )
        moment = now()
        if existing is None:
            await UsageReport.insert(
                UsageReport(
                    id=uuid.uuid4(),
                    agreement=agreement_id,
                    period=data.period,
                    quantity_milli=milli,
                    reported_by=viewer.user_id,
                    reported_at=moment,
                    version=1,
                )
            )
        else:
            await UsageReport.update(
                {
                    UsageReport.quantity_milli: milli,
                    UsageReport.reported_by: viewer.user_id,
                    UsageReport.reported_at: moment,
                    UsageReport.version: existing["version"] + 1,
                }
            ).where(UsageReport.id == existing["id"])
        stored = (
            await UsageReport.select()
            .where((UsageReport.agreement == agreement_id) & (UsageReport.period == data.period))
            .first()
        )
        assert stored is not None
        await audit.record(
            Actor.of(viewer),
            action="usage.reported" if existing is None else "usage.corrected",
            subject_type="agreement",
            subject_id=agreement_id,
            member_id=viewer.member_id,
            before=None if existing is None else {"period": data.period, "quantity_milli": existing["quantity_milli"]},
            after={"period": data.period, "quantity_milli": milli},
        )
        return _usage_out(dict(stored)), existing is None


async def list_usage(agreement_id: UUID, viewer: Principal) -> schemas.UsageList:
    """The usage reports of an agreement, by period."""
    await _visible_agreement(agreement_id, viewer)
    rows = await UsageReport.select().where(UsageReport.agreement == agreement_id).order_by(UsageReport.period)
    return schemas.UsageList(items=[_usage_out(dict(row)) for row in rows])
