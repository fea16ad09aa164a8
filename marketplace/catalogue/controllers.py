"""HTTP endpoints of the catalogue: thin, each parses, calls one service and answers a Struct.

Reads go through the catalogue cache (``cache.py``), keyed by the catalogue's change counter that every change
increments in its own transaction.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from marketplace.auth import Actor, Principal, Role, requires
from marketplace.catalogue import schemas, services
from marketplace.catalogue.cache import CatalogueCache
from marketplace.errors import AUTHENTICATED, problems
from marketplace.idempotency.params import IdempotencyKeyHeader
from marketplace.idempotency.services import fingerprint, run_once
from marketplace.pagination import DEFAULT_LIMIT, Cursor, Limit
from marketplace.preconditions import IfMatch, etag, parse_if_match

Query = Annotated[
    str | None,
    QueryParameter(
        max_length=200,
        description=(
            "Full text over title and description, German stemming and prefixes: 'Rechenzentren' finds "
            "'Rechenzentrum', 'Lizenz' finds 'Lizenzmanagement'. Every word must match."
        ),
    ),
]
CategoryFilter = Annotated[str | None, QueryParameter(max_length=40, description="A category code, e.g. hosting.")]
ProviderFilter = Annotated[str | None, QueryParameter(max_length=32, description="The provider's member code.")]
PricingFilter = Annotated[
    str | None, QueryParameter(pattern=r"^(recurring|one_off|metered)$", description="A pricing model.")
]
MaxPrice = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^[0-9]{1,10}(\.[0-9]{1,2})?$", description='Highest net unit price in EUR, e.g. "150.00".'
    ),
]
Sort = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^(relevance|price|newest)$",
        description="relevance (the default with q), price (lowest first) or newest (the default without q).",
    ),
]


def _cache(request: Request[Any, Any, Any]) -> CatalogueCache:
    return CatalogueCache.of(request)


def _etag(offer: schemas.Offer) -> dict[str, str]:
    return etag(offer.version)


def _with_etag(offer: schemas.Offer, status_code: int = 200) -> Response[schemas.Offer]:
    return Response(offer, status_code=status_code, headers=_etag(offer))


class CategoryController(Controller):
    """The categories of the catalogue."""

    path = "/api/v1/categories"
    tags = ["catalogue"]

    @get(operation_id="listCategories", responses=problems(*AUTHENTICATED))
    async def list_categories(
        self, request: Request[Principal, Any, Any], limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> schemas.CategoryPage:
        """The categories, with German and English labels."""
        return await _cache(request).fetch(
            "categories",
            [limit, cursor],
            lambda: services.list_categories(limit=limit, cursor=cursor),
            schemas.CategoryPage,
        )

    @post(
        operation_id="createCategory",
        guards=[requires(Role.coop_admin)],
        status_code=HTTP_201_CREATED,
        responses=problems(*AUTHENTICATED, 409),
    )
    async def create_category(
        self,
        request: Request[Principal, Any, Any],
        data: JSONBody[schemas.CategoryCreate],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[schemas.Category]:
        """Add a category."""
        return await run_once(
            request.user,
            idempotency_key,
            fingerprint("POST", request.url.path, data),
            lambda: services.create_category(data, Actor.of(request.user)),
            status_code=HTTP_201_CREATED,
        )


class OfferController(Controller):
    """Offers, their versions and their life cycle."""

    path = "/api/v1/offers"
    tags = ["catalogue"]

    @get(operation_id="listOffers", responses=problems(*AUTHENTICATED))
    async def list_offers(
        self,
        request: Request[Principal, Any, Any],
        q: Query = None,
        category: CategoryFilter = None,
        provider: ProviderFilter = None,
        pricing: PricingFilter = None,
        max_price: MaxPrice = None,
        sort: Sort = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> schemas.OfferPage:
        """Published offers: full-text search, filters, sort order, pages."""
        params: dict[str, Any] = {
            "q": q,
            "category": category,
            "provider": provider,
            "pricing": pricing,
            "max_price": max_price,
            "sort": sort,
            "limit": limit,
            "cursor": cursor,
        }
        return await _cache(request).fetch("offers", params, lambda: services.list_offers(**params), schemas.OfferPage)

    @post(
        operation_id="createOffer",
        guards=[requires(Role.provider)],
        status_code=HTTP_201_CREATED,
        responses=problems(*AUTHENTICATED),
    )
    async def create_offer(
        self,
        request: Request[Principal, Any, Any],
        data: JSONBody[schemas.OfferCreate],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[schemas.Offer]:
        """Create an offer of your member as a draft, with version 1 of its terms."""
        return await run_once(
            request.user,
            idempotency_key,
            fingerprint("POST", request.url.path, data),
            lambda: services.create_offer(data, request.user.member_id, Actor.of(request.user)),
            status_code=HTTP_201_CREATED,
            headers=_etag,
        )

    @get("/{offer_id:uuid}", operation_id="getOffer", responses=problems(*AUTHENTICATED, 404))
    async def get_offer(
        self, request: Request[Principal, Any, Any], offer_id: FromPath[UUID]
    ) -> Response[schemas.Offer]:
        """One offer with its current version (drafts only for the provider's users and the cooperative)."""
        offer = await _cache(request).fetch(
            "offer", str(offer_id), lambda: services.load_offer(offer_id), schemas.Offer
        )
        return _with_etag(services.check_visible(offer, request.user))

    @patch(
        "/{offer_id:uuid}",
        operation_id="updateOffer",
        guards=[requires(Role.provider)],
        responses=problems(*AUTHENTICATED, 404, 409, 412),
    )
    async def update_offer(
        self,
        request: Request[Principal, Any, Any],
        offer_id: FromPath[UUID],
        data: JSONBody[schemas.OfferUpdate],
        if_match: IfMatch = None,
    ) -> Response[schemas.Offer]:
        """Change an offer: new terms of a published or paused offer make a new version, text edits do not."""
        offer = await services.update_offer(
            offer_id, data, request.user.member_id, Actor.of(request.user), parse_if_match(if_match)
        )
        return _with_etag(offer)

    async def _transition(
        self,
        request: Request[Principal, Any, Any],
        offer_id: UUID,
        transition: str,
        data: schemas.OfferTransition | None,
        if_match: str | None,
    ) -> Response[schemas.Offer]:
        offer = await services.change_offer_status(
            offer_id,
            transition,
            request.user.member_id,
            Actor.of(request.user),
            reason=data.reason if data else None,
            if_match=parse_if_match(if_match),
        )
        return _with_etag(offer)

    @post(
        "/{offer_id:uuid}/publish",
        operation_id="publishOffer",
        guards=[requires(Role.provider)],
        status_code=200,
        responses=problems(*AUTHENTICATED, 404, 409, 412),
    )
    async def publish(
        self,
        request: Request[Principal, Any, Any],
        offer_id: FromPath[UUID],
        data: JSONBody[schemas.OfferTransition | None] = None,
        if_match: IfMatch = None,
    ) -> Response[schemas.Offer]:
        """Publish a draft or paused offer: members can find and request it."""
        return await self._transition(request, offer_id, "publish", data, if_match)

    @post(
        "/{offer_id:uuid}/pause",
        operation_id="pauseOffer",
        guards=[requires(Role.provider)],
        status_code=200,
        responses=problems(*AUTHENTICATED, 404, 409, 412),
    )
    async def pause(
        self,
        request: Request[Principal, Any, Any],
        offer_id: FromPath[UUID],
        data: JSONBody[schemas.OfferTransition | None] = None,
        if_match: IfMatch = None,
    ) -> Response[schemas.Offer]:
        """Pause a published offer: it leaves the catalogue until it is published again."""
        return await self._transition(request, offer_id, "pause", data, if_match)

    @post(
        "/{offer_id:uuid}/retire",
        operation_id="retireOffer",
        guards=[requires(Role.provider)],
        status_code=200,
        responses=problems(*AUTHENTICATED, 404, 409, 412),
    )
    async def retire(
        self,
        request: Request[Principal, Any, Any],
        offer_id: FromPath[UUID],
        data: JSONBody[schemas.OfferTransition | None] = None,
        if_match: IfMatch = None,
    ) -> Response[schemas.Offer]:
        """Retire a published or paused offer for good; existing agreements keep running."""
        return await self._transition(request, offer_id, "retire", data, if_match)

    @get("/{offer_id:uuid}/versions", operation_id="listOfferVersions", responses=problems(*AUTHENTICATED, 404))
    async def list_versions(
        self,
        request: Request[Principal, Any, Any],
        offer_id: FromPath[UUID],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> schemas.OfferVersionPage:
        """The versions of an offer's terms, oldest first; agreements keep the version they were made on."""
        cache = _cache(request)
        offer = await cache.fetch("offer", str(offer_id), lambda: services.load_offer(offer_id), schemas.Offer)
        services.check_visible(offer, request.user)
        return await cache.fetch(
            "versions",
            [str(offer_id), limit, cursor],
            lambda: services.list_versions(offer_id, limit=limit, cursor=cursor),
            schemas.OfferVersionPage,
        )
