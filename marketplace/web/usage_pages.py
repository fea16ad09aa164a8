"""Anbieter › Nutzungsmeldungen: the provider reports metered usage per agreement and month, and corrects it.

The booking service holds the rules (only the provider's users, only metered agreements, only months in which
the agreement runs and that have begun, no change once the month is settled or the ledger period closed); this
module reads the forms, shows the months with their state and turns refusals into German messages.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

import ledger
from marketplace.auth import Role
from marketplace.booking import schemas as booking_schemas
from marketplace.booking import services as booking
from marketplace.booking.calendar import period_of
from marketplace.clock import today
from marketplace.errors import DomainError, InvalidInput, InvalidTransition, NotFound
from marketplace.money import MAX_USAGE_MILLI
from marketplace.settlement import services as settlement
from marketplace.web.catalogue_pages import parse_id
from marketplace.web.context import Viewer, current_viewer, flash, german_error, redirect, render
from marketplace.web.formatting import datum, parse_amount, zahl

MONTHS = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)
#: A month as people type it besides the ISO form of ``<input type="month">``: 03/2025 or 3.2025.
_GERMAN_MONTH = re.compile(r"^(\d{1,2})[./](\d{4})$")
#: The booking service's messages about the month, in German.
_PERIOD_MESSAGES = {
    "the agreement does not run in this month": "Die Vereinbarung läuft in diesem Monat nicht.",
    "usage can be reported for the current month or earlier": (
        "Nutzung kann nur für den laufenden oder einen vergangenen Monat gemeldet werden."
    ),
}


#: What the usage form accepts as a quantity (the bound is ``money.MAX_USAGE_MILLI``).
_QUANTITY_MESSAGE = (
    f"Bitte geben Sie die Menge als Zahl von 0 bis {zahl(Decimal(MAX_USAGE_MILLI).scaleb(-3), 0)} mit höchstens "
    "drei Nachkommastellen an (z. B. 12,5)."
)


def month_name(period: str) -> str:
    """``2025-03`` as ``März 2025``."""
    year, month = period.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def quantity_text(quantity: Decimal) -> str:
    """A reported quantity in German form with only the decimals it has (12,5; 1.000; 0,125)."""
    places = max(0, -int(quantity.normalize().as_tuple().exponent))
    return zahl(quantity, min(places, 3))


def period_of_form(text: str) -> str:
    """The month of the form as ``YYYY-MM`` (the service checks it further)."""
    text = text.strip()
    found = _GERMAN_MONTH.match(text)
    if found:
        return f"{int(found[2]):04d}-{int(found[1]):02d}"
    return text


def quantity_of_form(text: str) -> str:
    """The quantity of the form as a plain decimal string (``1.234,5`` → ``1234.5``)."""
    return format(parse_amount(text), "f")


def usage_error(exc: DomainError | msgspec.ValidationError | ValueError, period: str) -> str:
    """A refusal of the usage form in German, naming the month where it matters."""
    if isinstance(exc, InvalidTransition) and exc.state == "settled":
        return (
            f"{month_name(period)} ist bereits abgerechnet; die gemeldete Nutzung dieses Monats kann nicht mehr "
            "geändert werden."
        )
    if isinstance(exc, InvalidTransition):
        return "Für diese Vereinbarung wird keine Nutzung gemeldet: sie wird nicht nach Verbrauch abgerechnet."
    if isinstance(exc, InvalidInput):
        for error in exc.errors or []:
            if error.field == "period" and error.message in _PERIOD_MESSAGES:
                return _PERIOD_MESSAGES[error.message]
            if error.field == "quantity":
                return _QUANTITY_MESSAGE
    if isinstance(exc, msgspec.ValidationError):
        if "$.period" in str(exc):
            return "Bitte geben Sie den Monat als JJJJ-MM oder MM/JJJJ an."
        return _QUANTITY_MESSAGE
    if isinstance(exc, ValueError) and not isinstance(exc, DomainError):
        return "Bitte geben Sie die Menge als Zahl an (z. B. 12,5)."
    return german_error(exc)


async def provider_agreement(viewer: Viewer, agreement_id: UUID) -> booking_schemas.Agreement:
    """An agreement in which the viewer's member is the provider; any other answers the 404 page."""
    agreement = await booking.get_agreement(agreement_id, viewer.principal)
    if agreement.provider != viewer.member_code:
        raise NotFound("There is no such agreement for which your member is the provider.")
    return agreement


async def settled_periods(agreement_id: UUID, periods: list[str]) -> set[str]:
    """The months among ``periods`` that can no longer change: settled for the agreement, or closed in the ledger."""
    closed = {item.period for item in await ledger.closed_periods()}
    return {period for period in periods if period in closed or await settlement.is_settled(agreement_id, period)}


def previous_month() -> str:
    """The month before the current one: what a provider usually reports."""
    return period_of(today().replace(day=1) - dt.timedelta(days=1))


@get("/anbieter/nutzung", name="web:usage")
async def usage_overview(request: Request[Any, Any, Any]) -> Response[Any]:
    """The member's metered agreements as provider, with the months reported so far."""
    viewer = await current_viewer(request, Role.provider)
    metered: list[booking_schemas.Agreement] = []
    cursor: str | None = None
    while True:  # every page: the metered ones may be few among many agreements
        page = await booking.list_agreements(viewer.principal, side="provider", status=None, limit=200, cursor=cursor)
        metered += [item for item in page.items if item.terms.pricing == "metered"]
        cursor = page.next_cursor
        if cursor is None:
            break
    reported = {item.id: (await booking.list_usage(item.id, viewer.principal)).items for item in metered}
    return render(
        request,
        "usage_overview.html",
        viewer,
        agreements=metered,
        reported={key: len(items) for key, items in reported.items()},
        latest={key: month_name(items[-1].period) if items else "–" for key, items in reported.items()},
    )


async def _usage_page(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    agreement: booking_schemas.Agreement,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    items = (await booking.list_usage(agreement.id, viewer.principal)).items
    settled = await settled_periods(agreement.id, [item.period for item in items])
    rows = [
        {
            "period": item.period,
            "month": month_name(item.period),
            "quantity": quantity_text(item.quantity),
            "reported_at": item.reported_at,
            "corrections": item.version - 1,
            "settled": item.period in settled,
        }
        for item in reversed(items)
    ]
    return render(
        request,
        "usage.html",
        viewer,
        agreement=agreement,
        rows=rows,
        metered=agreement.terms.pricing == "metered",
        values=values or {"period": previous_month(), "quantity": ""},
        latest_month=period_of(today()),
        error=error,
        status_code=status_code,
    )


@get("/anbieter/nutzung/{agreement_id:str}", name="web:usage-agreement")
async def usage_page(request: Request[Any, Any, Any], agreement_id: FromPath[str]) -> Response[Any]:
    """One agreement's reported months and the form to report or correct a month."""
    viewer = await current_viewer(request, Role.provider)
    agreement = await provider_agreement(viewer, parse_id(agreement_id))
    return await _usage_page(request, viewer, agreement)


@post("/anbieter/nutzung/{agreement_id:str}", name="web:usage-report")
async def report_usage(request: Request[Any, Any, Any], agreement_id: FromPath[str]) -> Response[Any]:
    """Report a month, or correct it while it is not settled."""
    viewer = await current_viewer(request, Role.provider)
    agreement = await provider_agreement(viewer, parse_id(agreement_id))
    form = await request.form()
    values = {
        "period": str(form.get("period", "")).strip()[:20],
        "quantity": str(form.get("quantity", "")).strip()[:30],
    }
    period = period_of_form(values["period"])
    try:
        data = msgspec.convert(
            {"period": period, "quantity": quantity_of_form(values["quantity"])},
            booking_schemas.UsageCreate,
            strict=False,
        )
        usage, created = await booking.report_usage(agreement.id, data, viewer.principal)
    except (DomainError, msgspec.ValidationError, ValueError) as exc:
        if isinstance(exc, NotFound):
            raise
        status = int(exc.status_code) if isinstance(exc, DomainError) else 422
        return await _usage_page(
            request, viewer, agreement, values=values, error=usage_error(exc, period), status_code=status
        )
    done = "gemeldet" if created else "korrigiert"
    flash(
        request,
        "ok",
        f"{month_name(usage.period)}: {quantity_text(usage.quantity)} {agreement.terms.unit} {done} "
        f"({datum(usage.reported_at)}).",
    )
    return redirect(f"/anbieter/nutzung/{agreement.id}")


#: The handlers of this module, for the pages' router.
USAGE_PAGES = [usage_overview, usage_page, report_usage]
