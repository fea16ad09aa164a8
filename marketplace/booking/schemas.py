"""What the booking API reads and writes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from marketplace.money import MAX_QUANTITY, MAX_USAGE_MILLI
from marketplace.periods import Day, Period, check_date
from marketplace.text import END, multi_line

Quantity = Annotated[
    int, msgspec.Meta(gt=0, le=MAX_QUANTITY, description=f"Units, a whole number from 1 to {MAX_QUANTITY}.")
]
MemberCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9-]{0,31}" + END, examples=["HZD"])]
Message = Annotated[str, multi_line(2000, blank=True)]
Reason = Annotated[str, multi_line(2000)]
UsageQuantity = Annotated[
    str,
    msgspec.Meta(
        # Up to MAX_USAGE_MILLI thousandths: six digits before the point, or the bound 1000000 itself.
        pattern=r"^(\d{1,6}(\.\d{1,3})?|1000000(\.0{1,3})?)$",
        description=(
            f'Units used, a decimal string with up to three places, from 0 to {MAX_USAGE_MILLI // 1000}, e.g. "12.5".'
        ),
        examples=["12.5"],
    ),
]


class RequestCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request an offer for your member."""

    offer_id: UUID
    quantity: Quantity
    start_date: Day
    end_date: Day | None = None
    message: Message | None = None

    def __post_init__(self) -> None:
        check_date(self.start_date, "start_date")
        check_date(self.end_date, "end_date")


class Decline(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Why the provider declines."""

    reason: Reason


class Terminate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """When the agreement should end: a month's end, no earlier than the notice period allows."""

    effective_date: Day | None = None

    def __post_init__(self) -> None:
        check_date(self.effective_date, "effective_date")


class AgreementImport(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An agreement made by letter before the exchange existed (the start may lie in the past)."""

    offer_id: UUID
    provider: MemberCode
    consumer: MemberCode
    quantity: Quantity
    start_date: Day
    end_date: Day | None = None

    def __post_init__(self) -> None:
        check_date(self.start_date, "start_date")
        check_date(self.end_date, "end_date")


class UsageCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Metered usage of one month."""

    period: Period
    quantity: UsageQuantity


class Terms(msgspec.Struct, kw_only=True):
    """The commercial terms of the offer version an agreement or request is bound to."""

    version: int
    unit: str
    unit_price: Decimal
    pricing: str
    capacity: int | None
    min_term_months: int
    notice_months: int
    tax_treatment: str


class ServiceRequest(msgspec.Struct, kw_only=True):
    """A request and its state."""

    id: UUID
    offer_id: UUID
    offer_title: str
    terms: Terms
    consumer: str
    provider: str
    quantity: int
    start_date: date
    end_date: date | None
    message: str | None
    status: Literal["submitted", "accepted", "declined", "withdrawn", "expired"]
    decline_reason: str | None
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    version: int
    agreement_reference: str | None = None


class RequestPage(msgspec.Struct):
    """One page of requests."""

    items: list[ServiceRequest]
    next_cursor: str | None


class Agreement(msgspec.Struct, kw_only=True):
    """An agreement: reference, parties, terms and dates."""

    id: UUID
    reference: str
    offer_id: UUID
    offer_title: str
    terms: Terms
    provider: str
    consumer: str
    quantity: int
    start_date: date
    end_date: date | None
    status: Literal["active", "terminated", "expired"]
    imported: bool
    request_id: UUID | None
    created_at: datetime
    terminated_at: datetime | None
    earliest_end_date: date | None
    version: int


class AgreementPage(msgspec.Struct):
    """One page of agreements."""

    items: list[Agreement]
    next_cursor: str | None


class Usage(msgspec.Struct, kw_only=True):
    """Reported usage of one month."""

    agreement_id: UUID
    period: str
    quantity: Decimal
    reported_at: datetime
    version: int


class UsageList(msgspec.Struct):
    """An agreement's usage reports, by period."""

    items: list[Usage]
