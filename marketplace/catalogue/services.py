"""The rules of the catalogue: categories, offers and their versions, the offer life cycle, search.

Every command runs in one transaction and writes its audit event in it (``member_id`` is the provider's member).
Tenancy: a draft, paused or retired offer is visible only to its provider's users and the cooperative's roles;
anyone else gets ``NotFound``, as for an offer that does not exist. Only a ``provider`` user of the offer's own
member changes it (the controllers check the role, these services the member: commands take the acting member's
id and the actor).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import msgspec

from marketplace.audit import services as audit_services
from marketplace.auth import Actor, Principal
from marketplace.catalogue import schemas, search
from marketplace.catalogue.tables import Category, Offer, OfferVersion
from marketplace.clock import now
from marketplace.db import as_uuid, transaction
from marketplace.errors import Conflict, FieldError, InvalidInput, InvalidTransition, NotFound, PreconditionFailed
from marketplace.events import counters
from marketplace.members.tables import Member
from marketplace.money import INT64_MAX, MAX_UNIT_PRICE_CENTS, euros, from_cents
from marketplace.pagination import InvalidCursor, decode_cursor, encode_cursor

CURRENCY = "EUR"

#: Life cycle of an offer: transition → (states it may start from, state it ends in). Anything else is a 409.
OFFER_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "publish": (frozenset({"draft", "paused"}), "published"),
    "pause": (frozenset({"published"}), "paused"),
    "retire": (frozenset({"published", "paused"}), "retired"),
}
SORTS = ("relevance", "price", "newest")
TEXT_FIELDS = ("title", "description", "category")
TERM_FIELDS = (
    "unit",
    "unit_price_cents",
    "pricing",
    "capacity",
    "min_term_months",
    "notice_months",
    "tax_treatment",
    "sla",
)

#: The documented starting list (also inserted by the migration): code, German label, English label.
DEFAULT_CATEGORIES = [
    ("hosting", "Rechenzentrums-Hosting", "Data-centre hosting"),
    ("cloud", "Cloud-Dienste", "Cloud services"),
    ("licence_management", "Lizenzmanagement", "Licence management"),
    ("application_operation", "Fachverfahrensbetrieb", "Application operation"),
    ("consulting", "Beratung", "Consulting"),
    ("training", "Schulung", "Training"),
    ("procurement_support", "Beschaffungsunterstützung", "Procurement support"),
    ("security", "Informationssicherheit", "Information security"),
]


# --- money ----------------------------------------------------------------------------------------------


def to_cents(value: Decimal, field: str = "unit_price", maximum: int = MAX_UNIT_PRICE_CENTS) -> int:
    """Exact cents of a euro amount; more than two decimal places, negatives and more than ``maximum`` answer 422.

    The default maximum is the largest unit price (``marketplace.money``), which keeps every line bookable.
    """
    try:
        if not value.is_finite():
            raise InvalidOperation
        cents = value * 100
        if cents != cents.to_integral_value():
            raise InvalidInput(
                f"{field} has more than two decimal places.",
                errors=[FieldError(field=field, message="at most two decimal places")],
            )
    except InvalidOperation as exc:
        raise InvalidInput(
            f"{field} is not a decimal amount.", errors=[FieldError(field=field, message="not a decimal amount")]
        ) from exc
    if cents < 0:
        raise InvalidInput(f"{field} must not be negative.", errors=[FieldError(field=field, message="negative")])
    if cents > maximum:
        raise InvalidInput(
            f"{field} is larger than {euros(maximum)}.",
            errors=[FieldError(field=field, message=f"at most {euros(maximum)}")],
        )
    return int(cents)


def parse_price(text: str, field: str = "max_price") -> int:
    """Cents of a decimal string given in a query (``"129.5"`` → ``12950``).

    A filter above the largest unit price filters nothing; it is refused only where it would not fit the database.
    """
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise InvalidInput(
            f"{field} is not a decimal amount.", errors=[FieldError(field=field, message="not a decimal amount")]
        ) from exc
    return to_cents(value, field, maximum=INT64_MAX)


# --- rows to answers ------------------------------------------------------------------------------------


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _version_out(row: dict[str, Any], prefix: str = "") -> schemas.OfferVersion:
    def get(key: str) -> Any:
        return row[prefix + key]

    return schemas.OfferVersion(
        id=as_uuid(get("id")),
        offer_id=as_uuid(get("offer")),
        number=int(get("number")),
        unit=get("unit"),
        unit_price=from_cents(get("unit_price_cents")),
        currency=CURRENCY,
        pricing=get("pricing"),
        capacity=get("capacity"),
        min_term_months=int(get("min_term_months")),
        notice_months=int(get("notice_months")),
        tax_treatment=get("tax_treatment"),
        sla=get("sla"),
        created_at=_time(get("created_at")),
    )


def _offer_out(row: dict[str, Any], version: schemas.OfferVersion) -> schemas.Offer:
    return schemas.Offer(
        id=as_uuid(row["id"]),
        provider=row["provider_code"],
        provider_id=as_uuid(row["provider"]),
        category=row["category"],
        title=row["title"],
        description=row["description"],
        status=row["status"],
        version=int(row["version"]),
        current_version=version,
        created_at=_time(row["created_at"]),
        updated_at=_time(row["updated_at"]),
        published_at=_time(row["published_at"]) if row["published_at"] is not None else None,
    )


def _audit_view(offer: dict[str, Any], version: dict[str, Any] | None = None) -> dict[str, Any]:
    view = {key: offer[key] for key in ("title", "category", "status", "version")}
    if version is not None:
        view["version_number"] = version["number"]
        view.update({key: version[key] for key in TERM_FIELDS})
    return view


# --- categories -----------------------------------------------------------------------------------------


def _category_out(row: dict[str, Any]) -> schemas.Category:
    return schemas.Category(
        code=row["code"], label_de=row["label_de"], label_en=row["label_en"], created_at=row["created_at"]
    )


async def list_categories(*, limit: int, cursor: str | None) -> schemas.CategoryPage:
    """The categories, ordered by code."""
    query = Category.select().order_by(Category.code).limit(limit + 1)
    key = decode_cursor(cursor, 1)
    if key is not None:
        query = query.where(Category.code > key[0])
    rows = await query
    items = [_category_out(row) for row in rows[:limit]]
    return schemas.CategoryPage(items=items, next_cursor=encode_cursor(items[-1].code) if len(rows) > limit else None)


async def create_category(data: schemas.CategoryCreate, actor: Actor) -> schemas.Category:
    """Add a category; its code is permanent."""
    async with transaction():
        if await Category.exists().where(Category.code == data.code):
            raise Conflict(f"A category with the code {data.code} already exists.")
        row: dict[str, Any] = {
            "code": data.code,
            "label_de": data.label_de.strip(),
            "label_en": data.label_en.strip(),
            "created_at": now(),
        }
        await Category.insert(Category(**row))
        await counters.bump(counters.CATALOGUE)
        await audit_services.record(
            actor,
            action="category.created",
            subject_type="category",
            subject_id=data.code,
            member_id=actor.member_id,
            after={key: row[key] for key in ("code", "label_de", "label_en")},
        )
    return _category_out(row)


async def ensure_default_categories() -> int:
    """Insert the documented starting categories that are missing; the number inserted."""
    inserted = 0
    async with transaction():
        for code, label_de, label_en in DEFAULT_CATEGORIES:
            if await Category.exists().where(Category.code == code):
                continue
            await Category.insert(Category(code=code, label_de=label_de, label_en=label_en, created_at=now()))
            inserted += 1
        if inserted:
            await counters.bump(counters.CATALOGUE)
    return inserted


async def _check_category(code: str) -> None:
    if not await Category.exists().where(Category.code == code):
        raise InvalidInput(
            f"There is no category {code!r}; GET /api/v1/categories lists them.",
            errors=[FieldError(field="category", message="unknown category")],
        )


# --- reading offers -------------------------------------------------------------------------------------


async def _offer_row(offer_id: UUID) -> dict[str, Any]:
    row = (
        await Offer.select(*Offer.all_columns(), Offer.provider.code.as_alias("provider_code"))
        .where(Offer.id == offer_id)
        .first()
    )
    if row is None:
        raise NotFound("There is no such offer.")
    return dict(row)


async def _version_row(version_id: UUID) -> dict[str, Any]:
    row = await OfferVersion.select().where(OfferVersion.id == version_id).first()
    if row is None:
        raise NotFound("There is no such offer version.")
    return dict(row)


def may_see(offer: schemas.Offer, viewer: Principal) -> bool:
    """Published offers are for everyone; the others for the provider's users and the cooperative's roles."""
    return offer.status == Offer.Status.published or viewer.sees_all_members or offer.provider_id == viewer.member_id


def check_visible(offer: schemas.Offer, viewer: Principal) -> schemas.Offer:
    """``offer`` if ``viewer`` may see it, else ``NotFound`` (as if it did not exist)."""
    if not may_see(offer, viewer):
        raise NotFound("There is no such offer.")
    return offer


async def load_offer(offer_id: UUID) -> schemas.Offer:
    """An offer with its current version, whoever asks (callers check ``may_see``)."""
    row = await _offer_row(offer_id)
    version = await _version_row(row["current_version"])
    return _offer_out(row, _version_out(version))


async def get_offer(offer_id: UUID, viewer: Principal) -> schemas.Offer:
    """One offer as ``viewer`` may see it."""
    return check_visible(await load_offer(offer_id), viewer)


async def list_versions(offer_id: UUID, *, limit: int, cursor: str | None) -> schemas.OfferVersionPage:
    """An offer's versions by number (callers check that the offer is visible)."""
    query = OfferVersion.select().where(OfferVersion.offer == offer_id).order_by(OfferVersion.number).limit(limit + 1)
    key = decode_cursor(cursor, 1)
    if key is not None:
        if not key[0].isdigit():
            raise InvalidCursor("The cursor is not valid; start again without one.")
        query = query.where(OfferVersion.number > int(key[0]))
    rows = await query
    items = [_version_out(row) for row in rows[:limit]]
    return schemas.OfferVersionPage(
        items=items, next_cursor=encode_cursor(items[-1].number) if len(rows) > limit else None
    )


async def list_own_offers(viewer: Principal) -> list[schemas.Offer]:
    """Every offer of the viewer's member, drafts, paused and retired ones included, newest first.

    For the provider's own pages: the member comes from ``viewer``, so no one lists another member's drafts.
    """
    rows = (
        await Offer.select(*Offer.all_columns(), Offer.provider.code.as_alias("provider_code"))
        .where(Offer.provider == viewer.member_id)
        .order_by(Offer.created_at, ascending=False)
        .order_by(Offer.id, ascending=False)
    )
    if not rows:
        return []
    versions = await OfferVersion.select().where(OfferVersion.id.is_in([row["current_version"] for row in rows]))
    by_id = {as_uuid(version["id"]): version for version in versions}
    return [_offer_out(row, _version_out(by_id[as_uuid(row["current_version"])])) for row in rows]


_LIST_COLUMNS = """
    o.id, o.provider, o.category, o.title, o.description, o.status, o.version, o.created_at, o.updated_at,
    o.published_at, m.code AS provider_code,
    v.id AS v_id, v.offer AS v_offer, v.number AS v_number, v.unit AS v_unit,
    v.unit_price_cents AS v_unit_price_cents, v.pricing AS v_pricing, v.capacity AS v_capacity,
    v.min_term_months AS v_min_term_months, v.notice_months AS v_notice_months,
    v.tax_treatment AS v_tax_treatment, v.sla AS v_sla, v.created_at AS v_created_at
"""


def _keyset(sort: str, key: list[str]) -> tuple[str, list[Any]]:
    """The condition "after the cursor's item" for ``sort`` (the query's ORDER BY, as a WHERE)."""
    try:
        if sort == "relevance":
            score, offer_id = int(key[0]), UUID(key[1])
            return "(hits.score < {} OR (hits.score = {} AND hits.id > {}))", [score, score, offer_id]
        if sort == "price":
            cents, offer_id = int(key[0]), UUID(key[1])
            return (
                "(hits.v_unit_price_cents > {} OR (hits.v_unit_price_cents = {} AND hits.id > {}))",
                [cents, cents, offer_id],
            )
        published, offer_id = datetime.fromisoformat(key[0]), UUID(key[1])
    except ValueError as exc:
        raise InvalidCursor("The cursor is not valid; start again without one.") from exc
    return "(hits.published_at < {} OR (hits.published_at = {} AND hits.id < {}))", [published, published, offer_id]


_ORDER = {
    "relevance": "hits.score DESC, hits.id ASC",
    "price": "hits.v_unit_price_cents ASC, hits.id ASC",
    "newest": "hits.published_at DESC, hits.id DESC",
}


def _cursor_of(sort: str, row: dict[str, Any], offer: schemas.Offer) -> str:
    if sort == "relevance":
        return encode_cursor(sort, int(row["score"]), offer.id)
    if sort == "price":
        return encode_cursor(sort, int(row["v_unit_price_cents"]), offer.id)
    assert offer.published_at is not None
    return encode_cursor(sort, offer.published_at.isoformat(), offer.id)


async def list_offers(
    *,
    q: str | None = None,
    category: str | None = None,
    provider: str | None = None,
    pricing: str | None = None,
    max_price: str | None = None,
    sort: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> schemas.OfferPage:
    """Published offers matching the query and filters, in the order asked for, one page.

    ``sort`` defaults to relevance when there is a query and to newest without one (relevance without a query
    is newest as well). The cursor holds the sort key of the last item, so pages stay stable while offers are
    added; a cursor of another sort answers 400.
    """
    stems = search.query_words(q) if q else []
    if q and not stems:
        return schemas.OfferPage(items=[], next_cursor=None)  # only stop words or punctuation: nothing matches
    sort = sort or ("relevance" if stems else "newest")
    if sort == "relevance" and not stems:
        sort = "newest"
    conditions = ["o.status = 'published'"]
    args: list[Any] = []
    sql = search.SearchSql(stems)
    if stems:
        condition, condition_args = sql.match("o")
        conditions.append(condition)
        args.extend(condition_args)
    for column, value in (("o.category", category), ("m.code", provider), ("v.pricing", pricing)):
        if value is not None:
            conditions.append(f"{column} = {{}}")
            args.append(value)
    if max_price is not None:
        conditions.append("v.unit_price_cents <= {}")
        args.append(parse_price(max_price))
    score, score_args = sql.score("o")
    inner = (
        f"SELECT {_LIST_COLUMNS}, {score} AS score FROM offers o "
        "JOIN offer_versions v ON v.id = o.current_version JOIN members m ON m.id = o.provider "
        f"WHERE {' AND '.join(conditions)}"
    )
    outer_conditions: list[str] = []
    outer_args: list[Any] = []
    key = decode_cursor(cursor, 3)
    if key is not None:
        if key[0] != sort:
            raise InvalidCursor("The cursor belongs to another sort order; start again without one.")
        condition, outer_args = _keyset(sort, key[1:])
        outer_conditions.append(condition)
    where = f" WHERE {' AND '.join(outer_conditions)}" if outer_conditions else ""
    query = f"SELECT * FROM ({inner}) AS hits{where} ORDER BY {_ORDER[sort]} LIMIT {{}}"
    rows = await Offer.raw(query, *score_args, *args, *outer_args, limit + 1)
    items = [_offer_out(row, _version_out(row, "v_")) for row in rows[:limit]]
    next_cursor = _cursor_of(sort, rows[limit - 1], items[-1]) if len(rows) > limit else None
    return schemas.OfferPage(items=items, next_cursor=next_cursor)


# --- changing offers ------------------------------------------------------------------------------------


def _owned(row: dict[str, Any], member_id: UUID) -> None:
    """Only the provider's own users change an offer; for anyone else it does not exist."""
    if row["provider"] != member_id:
        raise NotFound("There is no such offer of your member.")


def _check_if_match(row: dict[str, Any], if_match: int | None) -> None:
    if if_match is not None and if_match != row["version"]:
        raise PreconditionFailed(
            f"The offer is at version {row['version']}, not {if_match}; read it again.", state=row["status"]
        )


async def _write_offer(row: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Apply ``changes`` if the row is still at the version read."""
    changes = {**changes, "version": row["version"] + 1, "updated_at": now()}
    updated = (
        await Offer.update({getattr(Offer, key): value for key, value in changes.items()})
        .where((Offer.id == row["id"]) & (Offer.version == row["version"]))
        .returning(*Offer.all_columns())
    )
    if not updated:
        raise PreconditionFailed("The offer was changed at the same time; read it again.", state=row["status"])
    await counters.bump(counters.CATALOGUE)
    return {**dict(updated[0]), "provider_code": row["provider_code"]}


def _terms_of(data: schemas.OfferCreate | schemas.OfferUpdate) -> dict[str, Any]:
    """The term fields given in ``data``, as columns (price in cents, an empty SLA as none, no capacity: none)."""
    terms: dict[str, Any] = {}
    for field in ("unit", "pricing", "capacity", "min_term_months", "notice_months", "tax_treatment"):
        value = getattr(data, field)
        if value is not None and value is not msgspec.UNSET:
            terms[field] = value.strip() if isinstance(value, str) else value
    if isinstance(data, schemas.OfferUpdate) and data.capacity is None:
        terms["capacity"] = None  # given as null: unlimited from now on
    if data.unit_price is not None:
        terms["unit_price_cents"] = to_cents(data.unit_price)
    if data.sla is not None:
        terms["sla"] = data.sla.strip() or None
    return terms


async def create_offer(data: schemas.OfferCreate, provider_id: UUID, actor: Actor) -> schemas.Offer:
    """A new draft offer of the member ``provider_id`` with version 1 of its terms."""
    terms = _terms_of(data)
    terms.setdefault("min_term_months", 0)
    terms.setdefault("notice_months", 0)
    terms.setdefault("capacity", None)
    terms.setdefault("sla", None)
    title, description = data.title.strip(), data.description.strip()
    search_title, search_words = search.document(title, description)
    moment = now()
    offer_id, version_id = uuid.uuid4(), uuid.uuid4()
    async with transaction():
        await _check_category(data.category)
        await Offer.insert(
            Offer(
                id=offer_id,
                provider=provider_id,
                category=data.category,
                title=title,
                description=description,
                status=Offer.Status.draft,
                current_version=None,
                version=1,
                search_title=search_title,
                search_words=search_words,
                created_at=moment,
                updated_at=moment,
                published_at=None,
            )
        )
        await OfferVersion.insert(OfferVersion(id=version_id, offer=offer_id, number=1, created_at=moment, **terms))
        await Offer.update({Offer.current_version: version_id}).where(Offer.id == offer_id)
        row = await _offer_row(offer_id)
        version = await _version_row(version_id)
        await counters.bump(counters.CATALOGUE)
        await audit_services.record(
            actor,
            action="offer.created",
            subject_type="offer",
            subject_id=offer_id,
            member_id=provider_id,
            after=_audit_view(row, version),
        )
    return _offer_out(row, _version_out(version))


async def update_offer(
    offer_id: UUID, data: schemas.OfferUpdate, member_id: UUID, actor: Actor, if_match: int | None
) -> schemas.Offer:
    """Change an offer's text and terms: new terms of a draft amend version 1, of any other offer make a version."""
    text: dict[str, Any] = {}
    for field in TEXT_FIELDS:
        value = getattr(data, field)
        if value is not None:
            text[field] = value.strip()
    terms = _terms_of(data)
    async with transaction():
        row = await _offer_row(offer_id)
        _owned(row, member_id)
        _check_if_match(row, if_match)
        if row["status"] == Offer.Status.retired:
            raise InvalidTransition("A retired offer cannot be changed.", state=row["status"])
        if "category" in text and text["category"] != row["category"]:
            await _check_category(text["category"])
        current = await _version_row(row["current_version"])
        text = {key: value for key, value in text.items() if value != row[key]}
        terms = {key: value for key, value in terms.items() if value != current[key]}
        if not text and not terms:
            return _offer_out(row, _version_out(current))
        changes = dict(text)
        if "title" in text or "description" in text:
            changes["search_title"], changes["search_words"] = search.document(
                text.get("title", row["title"]), text.get("description", row["description"])
            )
        version = current
        if terms and row["status"] == Offer.Status.draft:
            await OfferVersion.update({getattr(OfferVersion, key): value for key, value in terms.items()}).where(
                OfferVersion.id == current["id"]
            )
            version = await _version_row(current["id"])
        elif terms:
            new_id = uuid.uuid4()
            values = {key: current[key] for key in TERM_FIELDS}
            values.update(terms)
            await OfferVersion.insert(
                OfferVersion(id=new_id, offer=row["id"], number=current["number"] + 1, created_at=now(), **values)
            )
            changes["current_version"] = new_id
            version = await _version_row(new_id)
        updated = await _write_offer(row, changes)
        await audit_services.record(
            actor,
            action="offer.updated",
            subject_type="offer",
            subject_id=row["id"],
            member_id=row["provider"],
            before=_audit_view(row, current),
            after=_audit_view(updated, version),
        )
    return _offer_out(updated, _version_out(version))


async def change_offer_status(
    offer_id: UUID, transition: str, member_id: UUID, actor: Actor, *, reason: str | None, if_match: int | None
) -> schemas.Offer:
    """Publish, pause or retire an offer (the map ``OFFER_TRANSITIONS`` says from where)."""
    sources, target = OFFER_TRANSITIONS[transition]
    async with transaction():
        row = await _offer_row(offer_id)
        _owned(row, member_id)
        _check_if_match(row, if_match)
        if row["status"] not in sources:
            raise InvalidTransition(f"An offer that is {row['status']} cannot {transition}.", state=row["status"])
        changes: dict[str, Any] = {"status": target}
        if target == Offer.Status.published and row["published_at"] is None:
            changes["published_at"] = now()
        updated = await _write_offer(row, changes)
        version = await _version_row(row["current_version"])
        await audit_services.record(
            actor,
            action=f"offer.{target}",
            subject_type="offer",
            subject_id=row["id"],
            member_id=row["provider"],
            before={"status": row["status"]},
            after={"status": target},
            reason=reason,
        )
    return _offer_out(updated, _version_out(version))


# --- for other contexts ---------------------------------------------------------------------------------


def _terms(offer: dict[str, Any], version: dict[str, Any]) -> schemas.OfferTerms:
    return schemas.OfferTerms(
        offer_id=offer["id"],
        provider_id=offer["provider"],
        provider_code=offer["provider_code"],
        title=offer["title"],
        status=offer["status"],
        version_id=version["id"],
        version_number=version["number"],
        unit=version["unit"],
        unit_price=from_cents(version["unit_price_cents"]),
        pricing=version["pricing"],
        capacity=version["capacity"],
        min_term_months=version["min_term_months"],
        notice_months=version["notice_months"],
        tax_treatment=version["tax_treatment"],
    )


async def offer_terms(offer_id: UUID) -> schemas.OfferTerms:
    """The current terms of an offer, whatever its state; ``NotFound`` if there is no such offer."""
    offer = await _offer_row(offer_id)
    return _terms(offer, await _version_row(offer["current_version"]))


async def version_terms(version_id: UUID) -> schemas.OfferTerms:
    """The terms of one version (e.g. the one an agreement was made on); ``NotFound`` if there is none."""
    version = await _version_row(version_id)
    return _terms(await _offer_row(version["offer"]), version)


async def versions_terms(version_ids: Iterable[UUID]) -> dict[UUID, schemas.OfferTerms]:
    """The terms of several versions in two queries (for lists); ids without a version are left out."""
    wanted = list(set(version_ids))
    if not wanted:
        return {}
    versions = [dict(row) for row in await OfferVersion.select().where(OfferVersion.id.is_in(wanted))]
    offer_ids = list({row["offer"] for row in versions})
    offers = {
        as_uuid(row["id"]): dict(row)
        for row in await Offer.select(*Offer.all_columns(), Offer.provider.code.as_alias("provider_code")).where(
            Offer.id.is_in(offer_ids)
        )
    }
    return {as_uuid(version["id"]): _terms(offers[as_uuid(version["offer"])], version) for version in versions}


# --- operators' commands (demonstration data) -----------------------------------------------------------


async def offer_exists(provider_code: str, title: str) -> bool:
    """True when the member already offers something under this title."""
    member = await Member.select(Member.id).where(Member.code == provider_code).first()
    if member is None:
        raise NotFound(f"There is no member with the code {provider_code!r}.")
    return bool(await Offer.exists().where((Offer.provider == member["id"]) & (Offer.title == title)))
