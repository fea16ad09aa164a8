"""Anbieter: edit one of the member's offers (texts and terms) and read the versions of its terms.

The catalogue service decides what a change means: new terms of a draft amend version 1, of a published or paused
offer they make a new version (agreements keep the version they were made on). The edit form carries the offer's
``version`` as it was read; the service compares it as the API compares ``If-Match``, so a form that was open while
someone else saved answers the 412 message and changes nothing.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from marketplace.auth import Actor, Role
from marketplace.catalogue import schemas as catalogue_schemas
from marketplace.catalogue import services as catalogue
from marketplace.errors import DomainError, NotFound, PreconditionFailed
from marketplace.web.catalogue_pages import category_labels, form_values, parse_id
from marketplace.web.context import Viewer, current_viewer, flash, german_error, redirect, render
from marketplace.web.formatting import parse_amount, zahl

#: Fields of the edit form besides the SLA, whose empty value means "no SLA" rather than "unchanged".
EDIT_FIELDS = (
    "title",
    "description",
    "category",
    "unit",
    "unit_price",
    "pricing",
    "tax_treatment",
    "capacity",
    "min_term_months",
    "notice_months",
)


async def own_offer(viewer: Viewer, offer_id: UUID) -> catalogue_schemas.Offer:
    """An offer of the viewer's member; any other offer answers the 404 page (the cooperative sees, but edits not)."""
    offer = await catalogue.get_offer(offer_id, viewer.principal)
    if offer.provider_id != viewer.principal.member_id:
        raise NotFound("There is no such offer of your member.")
    return offer


def offer_values(offer: catalogue_schemas.Offer) -> dict[str, str]:
    """The form's fields as the offer has them now (the price in German form)."""
    terms = offer.current_version
    return {
        "title": offer.title,
        "description": offer.description,
        "category": offer.category,
        "unit": terms.unit,
        "unit_price": zahl(terms.unit_price),
        "pricing": terms.pricing,
        "tax_treatment": terms.tax_treatment,
        "capacity": str(terms.capacity) if terms.capacity is not None else "",
        "min_term_months": str(terms.min_term_months),
        "notice_months": str(terms.notice_months),
        "sla": terms.sla or "",
        "version": str(offer.version),
    }


def edit_values(form: Any) -> dict[str, str]:
    """The form's values as sent (an empty SLA clears it, an empty capacity makes it unlimited; the version is the
    one the form was read at)."""
    values = form_values(form, *EDIT_FIELDS)
    values["capacity"] = str(form.get("capacity", "")).strip()
    values["sla"] = str(form.get("sla", "")).strip()
    values["version"] = str(form.get("version", "")).strip()
    return values


def update_of(values: dict[str, str]) -> catalogue_schemas.OfferUpdate:
    """The change the form's values ask for (the price may be typed in German form)."""
    data: dict[str, Any] = {key: value for key, value in values.items() if key != "version"}
    data["capacity"] = data.get("capacity") or None
    if "unit_price" in data:
        data["unit_price"] = str(parse_amount(data["unit_price"]))
    return msgspec.convert(data, catalogue_schemas.OfferUpdate, strict=False)


def read_version(values: dict[str, str]) -> int:
    """The offer version the form was read at; a form without one is treated as stale."""
    if not values.get("version", "").isdigit():
        raise PreconditionFailed("The form does not say which version of the offer it was read at.")
    return int(values["version"])


def saved_message(before: catalogue_schemas.Offer, after: catalogue_schemas.Offer) -> str:
    """What the save did, in German: nothing, the texts, version 1 of a draft, or a new version of the terms."""
    old, new = before.current_version.number, after.current_version.number
    if after.version == before.version:
        return "Es gab keine Änderungen."
    if new > old:
        return (
            f"Die Konditionen gelten jetzt als Version {new}. Bestehende Vereinbarungen behalten ihre Version "
            f"(bisher Version {old})."
        )
    return "Die Änderungen sind gespeichert."


async def _edit_form(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    offer: catalogue_schemas.Offer,
    *,
    values: dict[str, str],
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    return render(
        request,
        "offer_edit.html",
        viewer,
        offer=offer,
        values=values,
        error=error,
        categories=await category_labels(),
        status_code=status_code,
    )


@get("/anbieter/angebote/{offer_id:str}/bearbeiten", name="web:edit-offer")
async def edit_offer_page(request: Request[Any, Any, Any], offer_id: FromPath[str]) -> Response[Any]:
    """The edit form of an offer of the member, filled with its current texts and terms."""
    viewer = await current_viewer(request, Role.provider)
    offer = await own_offer(viewer, parse_id(offer_id))
    return await _edit_form(request, viewer, offer, values=offer_values(offer))


@post("/anbieter/angebote/{offer_id:str}/bearbeiten", name="web:edit-offer-submit")
async def edit_offer(request: Request[Any, Any, Any], offer_id: FromPath[str]) -> Response[Any]:
    """Save the form: texts change in place, terms as the catalogue decides; a stale form changes nothing."""
    viewer = await current_viewer(request, Role.provider)
    offer = await own_offer(viewer, parse_id(offer_id))
    values = edit_values(await request.form())
    try:
        updated = await catalogue.update_offer(
            offer.id, update_of(values), viewer.principal.member_id, Actor.of(viewer.principal), read_version(values)
        )
    except (DomainError, msgspec.ValidationError, ValueError) as exc:
        if isinstance(exc, NotFound):
            raise
        status = int(exc.status_code) if isinstance(exc, DomainError) else 422
        return await _edit_form(request, viewer, offer, values=values, error=german_error(exc), status_code=status)
    flash(request, "ok", saved_message(offer, updated))
    return redirect(f"/anbieter/angebote/{offer.id}/versionen")


@get("/anbieter/angebote/{offer_id:str}/versionen", name="web:offer-versions")
async def offer_versions(request: Request[Any, Any, Any], offer_id: FromPath[str]) -> Response[Any]:
    """Every version of the offer's terms with the time it applied from and until."""
    viewer = await current_viewer(request, Role.provider)
    offer = await own_offer(viewer, parse_id(offer_id))
    versions = (await catalogue.list_versions(offer.id, limit=500, cursor=None)).items
    # A version applies from its creation until the next one is made; the newest applies now.
    until = [following.created_at for following in versions[1:]] + [None]
    return render(
        request,
        "offer_versions.html",
        viewer,
        offer=offer,
        versions=list(zip(reversed(versions), reversed(until), strict=True)),
        categories=await category_labels(),
    )


#: The handlers of this module, for the pages' router.
OFFER_PAGES = [edit_offer_page, edit_offer, offer_versions]
