"""Mein Bereich (the buyer's requests and agreements, termination) and Anbieter (offers, incoming requests)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from marketplace.auth import Actor, Role
from marketplace.booking import schemas as booking_schemas
from marketplace.booking import services as booking
from marketplace.booking.schemas import Agreement, ServiceRequest
from marketplace.catalogue import schemas as catalogue_schemas
from marketplace.catalogue import services as catalogue
from marketplace.errors import DomainError, NotFound
from marketplace.web.catalogue_pages import category_labels, form_values, parse_id
from marketplace.web.context import Viewer, current_viewer, flash, german_error, redirect, render
from marketplace.web.formatting import betrag, datum, parse_amount
from marketplace.web.offer_pages import EDIT_FIELDS

#: The offer commands of the provider page: path word → transition of ``catalogue.OFFER_TRANSITIONS``.
OFFER_COMMANDS = {"veroeffentlichen": "publish", "pausieren": "pause", "einstellen": "retire"}
OFFER_DONE = {"publish": "veröffentlicht", "pause": "pausiert", "retire": "eingestellt"}


def charges(agreement: Agreement) -> str:
    """What the agreement costs, in words: per month, once, or per unit used (net)."""
    terms = agreement.terms
    if agreement.status == "expired":
        return "–"
    total = Decimal(agreement.quantity) * terms.unit_price
    if terms.pricing == "recurring":
        return f"{betrag(total)} netto je Monat"
    if terms.pricing == "one_off":
        return f"{betrag(total)} netto einmalig im Monat des Beginns ({datum(agreement.start_date)})"
    return f"{betrag(terms.unit_price)} netto je {terms.unit} laut Verbrauchsmeldung"


def may_terminate(viewer: Viewer, agreement: Agreement) -> bool:
    """The rule of ``booking.terminate_agreement``: a buyer of the consumer or a provider of the provider."""
    if agreement.status != "active":
        return False
    return (agreement.consumer == viewer.member_code and viewer.has(Role.buyer)) or (
        agreement.provider == viewer.member_code and viewer.has(Role.provider)
    )


# --- Mein Bereich ---------------------------------------------------------------------------------------


@get("/mein-bereich", name="web:my-area")
async def my_area(request: Request[Any, Any, Any]) -> Response[Any]:
    """The member's requests with their state and its agreements with their charges."""
    viewer = await current_viewer(request, Role.buyer)
    requests = await booking.list_requests(viewer.principal, side="buyer", status=None, limit=100, cursor=None)
    agreements = await booking.list_agreements(viewer.principal, side="consumer", status=None, limit=100, cursor=None)
    return render(
        request,
        "my_area.html",
        viewer,
        requests=requests.items,
        agreements=agreements.items,
        charges={item.id: charges(item) for item in agreements.items},
    )


@post("/anfragen/{request_id:str}/zurueckziehen", name="web:withdraw-request")
async def withdraw(request: Request[Any, Any, Any], request_id: FromPath[str]) -> Response[Any]:
    """Withdraw a submitted request."""
    viewer = await current_viewer(request, Role.buyer)
    try:
        await booking.withdraw_request(parse_id(request_id), viewer.principal)
    except NotFound:
        raise
    except DomainError as exc:
        flash(request, "error", german_error(exc))
    else:
        flash(request, "ok", "Die Anfrage wurde zurückgezogen.")
    return redirect("/mein-bereich")


@get("/vereinbarungen/{agreement_id:str}", name="web:agreement")
async def agreement_page(request: Request[Any, Any, Any], agreement_id: FromPath[str]) -> Response[Any]:
    """One agreement of the member: parties, terms, dates, charges."""
    viewer = await current_viewer(request)
    agreement = await booking.get_agreement(parse_id(agreement_id), viewer.principal)
    return render(
        request,
        "agreement.html",
        viewer,
        agreement=agreement,
        charges=charges(agreement),
        may_terminate=may_terminate(viewer, agreement),
    )


@get("/vereinbarungen/{agreement_id:str}/kuendigen", name="web:terminate")
async def terminate_page(request: Request[Any, Any, Any], agreement_id: FromPath[str]) -> Response[Any]:
    """Confirm a termination: the earliest end date is shown before anything changes."""
    viewer = await current_viewer(request, Role.buyer, Role.provider)
    agreement = await booking.get_agreement(parse_id(agreement_id), viewer.principal)
    if not may_terminate(viewer, agreement):
        flash(request, "error", "Diese Vereinbarung können Sie nicht kündigen.")
        return redirect(f"/vereinbarungen/{agreement.id}")
    return render(request, "terminate.html", viewer, agreement=agreement)


@post("/vereinbarungen/{agreement_id:str}/kuendigen", name="web:terminate-submit")
async def terminate(request: Request[Any, Any, Any], agreement_id: FromPath[str]) -> Response[Any]:
    """Terminate on the end date the user confirmed."""
    viewer = await current_viewer(request, Role.buyer, Role.provider)
    agreement_uuid = parse_id(agreement_id)
    form = await request.form()
    try:
        effective = dt.date.fromisoformat(str(form.get("effective_date", "")))
    except ValueError:
        effective = None
    try:
        data = booking_schemas.Terminate(effective_date=effective)  # the API's checks: the date's range
        done = await booking.terminate_agreement(agreement_uuid, data.effective_date, viewer.principal)
    except NotFound:
        raise
    except DomainError as exc:
        flash(request, "error", german_error(exc))
    else:
        flash(request, "ok", f"Die Vereinbarung {done.reference} ist zum {datum(done.end_date)} gekündigt.")
    return redirect(f"/vereinbarungen/{agreement_uuid}")


# --- Anbieter -------------------------------------------------------------------------------------------


async def provider_request(viewer: Viewer, request_id: UUID) -> ServiceRequest:
    """A request to the viewer's member as provider; any other answers the 404 page (before the form is read)."""
    found = await booking.get_request(request_id, viewer.principal)
    if found.provider != viewer.member_code:
        raise NotFound("There is no such request for which your member is the provider.")
    return found


@get("/anbieter", name="web:provider")
async def provider_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The member's offers and the requests for them."""
    viewer = await current_viewer(request, Role.provider)
    requests = await booking.list_requests(viewer.principal, side="provider", status=None, limit=100, cursor=None)
    return render(
        request,
        "provider.html",
        viewer,
        offers=await catalogue.list_own_offers(viewer.principal),
        requests=requests.items,
        categories=await category_labels(),
        commands={"publish": "veroeffentlichen", "pause": "pausieren", "retire": "einstellen"},
    )


#: The new-offer form: the fields of the edit form, and the SLA text.
_OFFER_FIELDS = (*EDIT_FIELDS, "sla")


async def _offer_form(
    request: Request[Any, Any, Any], viewer: Viewer, *, values: dict[str, Any], error: str | None, status_code: int
) -> Response[Any]:
    return render(
        request,
        "offer_form.html",
        viewer,
        values=values,
        error=error,
        categories=await category_labels(),
        status_code=status_code,
    )


@get("/anbieter/angebote/neu", name="web:new-offer")
async def new_offer_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The form for a new offer."""
    viewer = await current_viewer(request, Role.provider)
    defaults = {
        "pricing": "recurring",
        "tax_treatment": "exempt_public_cooperation",
        "min_term_months": "0",
        "notice_months": "1",
    }
    return await _offer_form(request, viewer, values=defaults, error=None, status_code=200)


@post("/anbieter/angebote/neu", name="web:new-offer-submit")
async def create_offer(request: Request[Any, Any, Any]) -> Response[Any]:
    """Create a draft offer."""
    viewer = await current_viewer(request, Role.provider)
    form = await request.form()
    values = form_values(form, *_OFFER_FIELDS)
    try:
        data: dict[str, Any] = dict(values)
        if "unit_price" in data:
            data["unit_price"] = str(parse_amount(data["unit_price"]))
        offer_data = msgspec.convert(data, catalogue_schemas.OfferCreate, strict=False)
        offer = await catalogue.create_offer(offer_data, viewer.principal.member_id, Actor.of(viewer.principal))
    except (DomainError, msgspec.ValidationError, ValueError) as exc:
        status = int(exc.status_code) if isinstance(exc, DomainError) else 422
        return await _offer_form(request, viewer, values=values, error=german_error(exc), status_code=status)
    flash(request, "ok", f"Der Entwurf „{offer.title}“ ist angelegt. Veröffentlichen Sie ihn, wenn er fertig ist.")
    return redirect("/anbieter")


@post("/anbieter/angebote/{offer_id:str}/{command:str}", name="web:offer-command")
async def offer_command(
    request: Request[Any, Any, Any], offer_id: FromPath[str], command: FromPath[str]
) -> Response[Any]:
    """Publish, pause or retire an offer of the member."""
    viewer = await current_viewer(request, Role.provider)
    transition = OFFER_COMMANDS.get(command)
    offer_uuid = parse_id(offer_id)
    if transition is None:
        raise NotFound("There is no such command.")
    try:
        offer = await catalogue.change_offer_status(
            offer_uuid, transition, viewer.principal.member_id, Actor.of(viewer.principal), reason=None, if_match=None
        )
    except NotFound:
        raise
    except DomainError as exc:
        flash(request, "error", german_error(exc))
    else:
        flash(request, "ok", f"„{offer.title}“ ist {OFFER_DONE[transition]}.")
    return redirect("/anbieter")


@post("/anbieter/anfragen/{request_id:str}/annehmen", name="web:accept-request")
async def accept(request: Request[Any, Any, Any], request_id: FromPath[str]) -> Response[Any]:
    """Accept a request: an agreement is made."""
    viewer = await current_viewer(request, Role.provider)
    try:
        agreement = await booking.accept_request(parse_id(request_id), viewer.principal)
    except NotFound:
        raise
    except DomainError as exc:
        flash(request, "error", german_error(exc))
    else:
        flash(request, "ok", f"Angenommen: Vereinbarung {agreement.reference} mit {agreement.consumer}.")
    return redirect("/anbieter")


@post("/anbieter/anfragen/{request_id:str}/ablehnen", name="web:decline-request")
async def decline(request: Request[Any, Any, Any], request_id: FromPath[str]) -> Response[Any]:
    """Decline a request with a reason."""
    viewer = await current_viewer(request, Role.provider)
    incoming = await provider_request(viewer, parse_id(request_id))
    form = await request.form()
    reason = str(form.get("reason", "")).strip()
    if not reason:
        flash(request, "error", "Bitte geben Sie eine Begründung für die Ablehnung an.")
        return redirect("/anbieter")
    try:
        data = msgspec.convert({"reason": reason}, booking_schemas.Decline)
        await booking.decline_request(incoming.id, data.reason, viewer.principal)
    except NotFound:
        raise
    except (DomainError, msgspec.ValidationError) as exc:
        flash(request, "error", german_error(exc))
    else:
        flash(request, "ok", "Die Anfrage wurde abgelehnt.")
    return redirect("/anbieter")
