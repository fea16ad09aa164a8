"""Katalog: search, category filter, offer cards, the offer page with its terms and the request form."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery

from marketplace.auth import Role
from marketplace.booking import schemas as booking_schemas
from marketplace.booking import services as booking
from marketplace.catalogue import services as catalogue
from marketplace.catalogue.tables import Offer
from marketplace.clock import today
from marketplace.errors import DomainError, InvalidInput, NotFound
from marketplace.web.context import Viewer, current_viewer, flash, german_error, redirect, render


def parse_id(value: str) -> UUID:
    """A path's id; anything else is the 404 page."""
    try:
        return UUID(value)
    except ValueError as exc:
        raise NotFound("There is no such object.") from exc


async def category_labels() -> dict[str, str]:
    """Category code → German label."""
    page = await catalogue.list_categories(limit=200, cursor=None)
    return {item.code: item.label_de for item in page.items}


def form_values(form: Any, *fields: str) -> dict[str, Any]:
    """The non-empty, trimmed text fields of a form (empty means "not given")."""
    values = {}
    for field in fields:
        value = str(form.get(field, "")).strip()
        if value:
            values[field] = value
    return values


@get("/katalog", name="web:catalogue")
async def catalogue_page(
    request: Request[Any, Any, Any], q: FromQuery[str | None] = None, kategorie: FromQuery[str | None] = None
) -> Response[Any]:
    """Published offers: search box, category filter, cards with the price per unit."""
    viewer = await current_viewer(request)
    categories = await category_labels()
    query = (q or "").strip()[:200] or None
    category = kategorie if kategorie in categories else None
    try:
        offers = (await catalogue.list_offers(q=query, category=category, limit=60)).items
    except InvalidInput:
        offers = []
    return render(
        request, "catalogue.html", viewer, offers=offers, categories=categories, q=query or "", category=category
    )


def _can_request(viewer: Viewer, offer: Any) -> bool:
    return (
        viewer.has(Role.buyer)
        and offer.status == Offer.Status.published
        and offer.provider_id != viewer.principal.member_id
    )


async def _offer_page(
    request: Request[Any, Any, Any], viewer: Viewer, offer_id: UUID, *, status_code: int = 200, **extra: Any
) -> Response[Any]:
    offer = await catalogue.get_offer(offer_id, viewer.principal)
    first_of_next_month = (today().replace(day=1) + timedelta(days=32)).replace(day=1)
    values = {"quantity": "1", "start_date": first_of_next_month.isoformat(), **extra.pop("values", {})}
    return render(
        request,
        "offer.html",
        viewer,
        status_code=status_code,
        offer=offer,
        categories=await category_labels(),
        can_request=_can_request(viewer, offer),
        own_offer=offer.provider_id == viewer.principal.member_id,
        today=today().isoformat(),
        values=values,
        **extra,
    )


@get("/katalog/{offer_id:str}", name="web:offer")
async def offer_page(request: Request[Any, Any, Any], offer_id: FromPath[str]) -> Response[Any]:
    """One offer: description, terms, SLA and (for buyers of other members) the request form."""
    viewer = await current_viewer(request)
    return await _offer_page(request, viewer, parse_id(offer_id))


@post("/katalog/{offer_id:str}/anfragen", name="web:request-offer")
async def request_offer(request: Request[Any, Any, Any], offer_id: FromPath[str]) -> Response[Any]:
    """Submit a request for the offer (buyers)."""
    viewer = await current_viewer(request, Role.buyer)
    offer_uuid = parse_id(offer_id)
    form = await request.form()
    values = form_values(form, "quantity", "start_date", "end_date", "message")
    try:
        data = msgspec.convert({"offer_id": str(offer_uuid), **values}, booking_schemas.RequestCreate, strict=False)
        await booking.submit_request(data, viewer.principal)
    except (DomainError, msgspec.ValidationError) as exc:
        if isinstance(exc, NotFound):
            raise
        status = int(exc.status_code) if isinstance(exc, DomainError) else 422
        return await _offer_page(
            request, viewer, offer_uuid, status_code=status, error=german_error(exc), values=values
        )
    flash(request, "ok", "Ihre Anfrage wurde gesendet. Der Anbieter entscheidet innerhalb von 14 Tagen.")
    return redirect("/mein-bereich")
