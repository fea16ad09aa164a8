"""What the catalogue API reads and writes; money is a ``Decimal`` here and a decimal string in JSON."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import msgspec

from marketplace.money import MAX_CAPACITY, MAX_UNIT_PRICE_CENTS, euros
from marketplace.text import END, multi_line, single_line

CategoryCode = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-z][a-z0-9_]{1,39}" + END,
        description="Lower-case letters, digits and underscores, e.g. licence_management.",
        examples=["hosting"],
    ),
]
Label = Annotated[str, single_line(100)]
Title = Annotated[str, single_line(200)]
Description = Annotated[str, multi_line(10_000)]
Unit = Annotated[str, single_line(60, examples=["VM-Monat", "Beratungstag"])]
Pricing = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^(recurring|one_off|metered)" + END,
        description="recurring: per unit and month; one_off: once; metered: per unit of reported usage.",
    ),
]
TaxTreatment = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^(exempt_public_cooperation|vat_19|vat_7)" + END,
        description="exempt_public_cooperation: 0 % under §2b (3) UStG; vat_19 and vat_7: VAT at 19 % or 7 %.",
    ),
]
# msgspec takes no numeric bounds on a Decimal: the catalogue service checks them (``to_cents``, 422 "unit_price").
Price = Annotated[
    Decimal,
    msgspec.Meta(
        description=(
            "Net price per unit in EUR: a decimal string with at most two places, from 0.00 to "
            f'{euros(MAX_UNIT_PRICE_CENTS)}, e.g. "129.00".'
        ),
        examples=["129.00"],
    ),
]
Capacity = Annotated[int, msgspec.Meta(ge=1, le=MAX_CAPACITY, description="Units available at most; none: unlimited.")]
Months = Annotated[int, msgspec.Meta(ge=0, le=120)]
Sla = Annotated[str, multi_line(4000, blank=True, description="Empty: no SLA.")]
Reason = Annotated[str, multi_line(1000)]


class CategoryCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new category."""

    code: CategoryCode
    label_de: Label
    label_en: Label


class Category(msgspec.Struct, kw_only=True):
    """A kind of service, with German and English labels."""

    code: str
    label_de: str
    label_en: str
    created_at: datetime


class CategoryPage(msgspec.Struct):
    """One page of categories."""

    items: list[Category]
    next_cursor: str | None


class OfferCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new offer: created as a draft with version 1 of its terms."""

    title: Title
    description: Description
    category: CategoryCode
    unit: Unit
    unit_price: Price
    pricing: Pricing
    tax_treatment: TaxTreatment
    capacity: Capacity | None = None
    min_term_months: Months | None = None
    notice_months: Months | None = None
    sla: Sla | None = None


class OfferUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Change an offer; a field left out or null stays as it is, an empty ``sla`` clears it, and ``capacity``
    null makes the capacity unlimited (left out, it stays).

    Title, description and category are text: changing them makes no new version. Any other field is a term:
    on a draft it amends version 1, on a published or paused offer it makes a new version.
    """

    title: Title | None = None
    description: Description | None = None
    category: CategoryCode | None = None
    unit: Unit | None = None
    unit_price: Price | None = None
    pricing: Pricing | None = None
    tax_treatment: TaxTreatment | None = None
    capacity: Capacity | msgspec.UnsetType | None = msgspec.UNSET
    min_term_months: Months | None = None
    notice_months: Months | None = None
    sla: Sla | None = None


class OfferTransition(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Why an offer is published, paused or retired."""

    reason: Reason | None = None


class OfferVersion(msgspec.Struct, kw_only=True):
    """One immutable version of an offer's commercial terms."""

    id: UUID
    offer_id: UUID
    number: int
    unit: str
    unit_price: Decimal
    currency: str
    pricing: str
    capacity: int | None
    min_term_months: int
    notice_months: int
    tax_treatment: str
    sla: str | None
    created_at: datetime


class OfferVersionPage(msgspec.Struct):
    """One page of an offer's versions, oldest first."""

    items: list[OfferVersion]
    next_cursor: str | None


class Offer(msgspec.Struct, kw_only=True):
    """An offer with its current terms."""

    id: UUID
    provider: str
    provider_id: UUID
    category: str
    title: str
    description: str
    status: str
    version: int
    current_version: OfferVersion
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


class OfferPage(msgspec.Struct):
    """One page of published offers."""

    items: list[Offer]
    next_cursor: str | None


class OfferTerms(msgspec.Struct, frozen=True, kw_only=True):
    """What another context (booking, settlement) needs to know of one version of an offer."""

    offer_id: UUID
    provider_id: UUID
    provider_code: str
    title: str
    status: str
    version_id: UUID
    version_number: int
    unit: str
    unit_price: Decimal
    pricing: str
    capacity: int | None
    min_term_months: int
    notice_months: int
    tax_treatment: str
