"""Input limits (docs/api.md, "Input limits"): text fields refuse control characters, dates and months lie in one
range, cursors and paths refuse NUL, a body nested too deeply is malformed. Each refusal is a 4xx problem that
names the field and changes nothing."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from marketplace import periods, text
from marketplace.app import create_app
from marketplace.audit.tables import AuditEvent
from marketplace.booking.tables import Agreement, ServiceRequest
from marketplace.catalogue.tables import Category, Offer
from marketplace.members.tables import ApiToken, Member, User
from marketplace.reconciliation.tables import NettingRun
from marketplace.settlement.tables import SettlementRun
from tests.booking.helpers import next_month_start, published_offer, submitted_request
from tests.builders import bearer, member, running_app, settings, token, user_id_of
from tests.catalogue.helpers import create_offer

PROBLEM = "application/problem+json"


@dataclass
class World:
    """KOPIT (admin, accountant), KDZ-MZ (provider, with a draft and a published offer), HZD (buyer, with a
    submitted request and an agreement)."""

    admin: str
    accountant: str
    provider: str
    buyer: str
    draft: str
    published: str
    request: str
    agreement: str
    buyer_user: str


async def _world(client: httpx.AsyncClient) -> World:
    await member("KOPIT")
    admin = await token("KOPIT", "coop_admin")
    accountant = await token("KOPIT", "coop_accountant")
    provider = await token("KDZ-MZ", "provider")
    buyer = await token("HZD", "buyer")
    draft = (await create_offer(client, provider))["id"]
    published = await published_offer(client, provider)
    request = (await submitted_request(client, buyer, published))["id"]
    made = await client.post(
        "/api/v1/agreements",
        headers=bearer(admin),
        json={
            "offer_id": published,
            "provider": "KDZ-MZ",
            "consumer": "HZD",
            "quantity": 1,
            "start_date": "2025-01-01",
        },
    )
    assert made.status_code == 201, made.text
    buyer_user = await user_id_of(buyer, client)
    return World(admin, accountant, provider, buyer, draft, published, request, made.json()["id"], buyer_user)


async def _snapshot() -> list[Any]:
    """Everything a refused command might have changed."""
    return [
        await AuditEvent.count(),
        await Offer.select().order_by(Offer.id),
        await Member.select().order_by(Member.code),
        await User.count(),
        await ApiToken.count(),
        await ServiceRequest.select(ServiceRequest.id, ServiceRequest.status).order_by(ServiceRequest.id),
        await Agreement.select().order_by(Agreement.id),
        await Category.count(),
        await NettingRun.count(),
        await SettlementRun.count(),
    ]


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"].startswith("https://")
    return body


def _fields(body: dict[str, Any]) -> list[str]:
    return [error["field"] for error in body.get("errors") or []]


# --- text ------------------------------------------------------------------------------------------------------

#: (who, method, path, body, field): every free-text field of the API with a character its rule refuses.
TEXT_FIELDS: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("provider", "POST", "/api/v1/offers", {"title": "Hosting\x07"}, "title"),
    ("provider", "POST", "/api/v1/offers", {"title": "Hosting\nzwei Zeilen"}, "title"),
    ("provider", "POST", "/api/v1/offers", {"unit": "VM\u202eMonat"}, "unit"),
    ("provider", "POST", "/api/v1/offers", {"description": "Betrieb\x1b[31m"}, "description"),
    ("provider", "POST", "/api/v1/offers", {"sla": "99 %\x85"}, "sla"),
    ("provider", "PATCH", "/api/v1/offers/{draft}", {"title": "Neu\u2028"}, "title"),
    ("provider", "PATCH", "/api/v1/offers/{draft}", {"unit": "Tag\r"}, "unit"),
    ("provider", "PATCH", "/api/v1/offers/{draft}", {"description": "a\x7f"}, "description"),
    ("provider", "PATCH", "/api/v1/offers/{draft}", {"sla": "\u2066frei\u2069"}, "sla"),
    ("provider", "POST", "/api/v1/offers/{draft}/publish", {"reason": "fertig\x0c"}, "reason"),
    ("admin", "POST", "/api/v1/categories", {"code": "neu", "label_de": "Neu\x08", "label_en": "New"}, "label_de"),
    ("admin", "POST", "/api/v1/categories", {"code": "neu", "label_de": "Neu", "label_en": "New\n"}, "label_en"),
    ("admin", "POST", "/api/v1/members", {"name": "Stadt\x1f Kassel"}, "name"),
    ("admin", "POST", "/api/v1/members", {"leitweg_id": "0611\x0b"}, "leitweg_id"),
    ("admin", "POST", "/api/v1/members", {"iban": "DE02\n"}, "iban"),
    ("admin", "POST", "/api/v1/members", {"bic": "HELA\x9f"}, "bic"),
    ("admin", "PATCH", "/api/v1/members/HZD", {"name": "HZD\u202d"}, "name"),
    ("admin", "POST", "/api/v1/members/HZD/suspend", {"reason": "Beschluss\x1a"}, "reason"),
    ("admin", "POST", "/api/v1/members/HZD/users", {"email": "neu@hzd.example", "name": "Eva\tZ\x03"}, "name"),
    ("buyer", "POST", "/api/v1/users/{buyer_user}/tokens", {"name": "Fachverfahren\r\n"}, "name"),
    ("buyer", "POST", "/api/v1/requests", {"message": "Bitte\x1b bald"}, "message"),
    ("provider", "POST", "/api/v1/requests/{request}/decline", {"reason": "ausgebucht\u202e"}, "reason"),
    ("accountant", "POST", "/api/v1/settlements/S-2025-000001/reverse", {"reason": "Fehler\x04"}, "reason"),
]


def _request(method: str, path: str, body: dict[str, Any] | None, world: World) -> tuple[str, str, Any]:
    """The case's method, path and body, with the world's ids and the other required fields filled in validly."""
    url = path.format(draft=world.draft, request=world.request, agreement=world.agreement, buyer_user=world.buyer_user)
    defaults: dict[str, dict[str, Any]] = {
        "/api/v1/offers": {
            "title": "Hosting",
            "description": "Betrieb",
            "category": "hosting",
            "unit": "VM-Monat",
            "unit_price": "10.00",
            "pricing": "recurring",
            "tax_treatment": "vat_19",
        },
        "/api/v1/members": {"code": "KS", "name": "Kassel", "kind": "municipality", "state": "DE-HE"},
        "/api/v1/requests": {"offer_id": world.published, "quantity": 1, "start_date": next_month_start().isoformat()},
        "/api/v1/agreements": {"offer_id": world.published, "provider": "KDZ-MZ", "consumer": "HZD", "quantity": 1},
    }
    if method == "POST" and url in defaults:
        body = {**defaults[url], **(body or {})}
    return method, url, body


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "field"),
    TEXT_FIELDS,
    ids=[f"{method} {path} {field} {next(iter(body.values()))!r}" for _, method, path, body, field in TEXT_FIELDS],
)
async def test_a_text_field_refuses_characters_its_rule_does_not_allow(
    who: str, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    async with running_app() as client:
        world = await _world(client)
        method, url, complete = _request(method, path, body, world)
        before = await _snapshot()
        response = await client.request(method, url, headers=bearer(getattr(world, who)), json=complete)
    problem = _problem(response, 422)
    assert _fields(problem) == [field]
    assert "control characters" in problem["errors"][0]["message"]
    assert await _snapshot() == before


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "field"),
    [
        ("admin", "POST", "/api/v1/members", {"code": "NEU\n"}, "code"),
        ("admin", "POST", "/api/v1/members", {"state": "DE-HE\n"}, "state"),
        ("admin", "PATCH", "/api/v1/members/HZD", {"contact_email": "a@hzd.example\n"}, "contact_email"),
        ("provider", "POST", "/api/v1/offers", {"pricing": "recurring\n"}, "pricing"),
        ("accountant", "POST", "/api/v1/settlement-runs", {"period": "2025-01\n"}, "period"),
    ],
    ids=["member-code", "state", "contact-email", "pricing", "period"],
)
async def test_a_code_with_a_trailing_line_feed_is_refused(
    who: str, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    # Python's ``$`` matches before a final line feed: every pattern of an input must end with ``text.END``.
    async with running_app() as client:
        world = await _world(client)
        method, url, complete = _request(method, path, body, world)
        before = await _snapshot()
        response = await client.request(method, url, headers=bearer(getattr(world, who)), json=complete)
    assert _fields(_problem(response, 422)) == [field]
    assert await _snapshot() == before


def test_the_openapi_document_states_each_text_rule_and_limit() -> None:
    document = create_app(settings()).openapi_schema.to_schema()
    schemas = document["components"]["schemas"]

    def field(struct: str, name: str) -> dict[str, Any]:
        # An optional field is ``oneOf: [string, null]`` with the string's constraints beside it.
        found: dict[str, Any] = schemas[struct]["properties"][name]
        return found

    assert field("OfferCreate", "title")["pattern"] == text.SINGLE_LINE_NOT_BLANK
    assert field("OfferCreate", "title")["maxLength"] == 200
    assert field("OfferCreate", "description")["pattern"] == text.MULTI_LINE_NOT_BLANK
    assert field("OfferUpdate", "sla")["pattern"] == text.MULTI_LINE
    assert field("MemberUpdate", "account_holder")["pattern"] == text.SEPA_NAME
    assert field("MemberUpdate", "account_holder")["maxLength"] == 70
    assert field("RunCreate", "period")["pattern"] == periods.PERIOD_PATTERN


# --- dates and months ------------------------------------------------------------------------------------------


def test_the_period_pattern_spells_exactly_the_supported_range() -> None:
    pattern = re.compile(periods.PERIOD_PATTERN)
    assert (periods.FIRST_PERIOD, periods.LAST_PERIOD) == ("2000-01", "2999-12")
    for inside in ("2000-01", "2026-11", "2999-12"):
        assert pattern.search(inside)
    for outside in ("1999-12", "3000-01", "0000-01", "2026-13", "2026-00", "2026-1", "2026-01\n", " 2026-01"):
        assert not pattern.search(outside), outside


#: (who, method, path, body, field): a date or month outside 2000-01-01 … 2999-12-31, accepted before.
DATES: list[tuple[str, str, str, dict[str, Any] | None, str]] = [
    ("buyer", "POST", "/api/v1/requests", {"start_date": "9999-12-01"}, "start_date"),
    ("buyer", "POST", "/api/v1/requests", {"end_date": "9999-12-31"}, "end_date"),
    ("admin", "POST", "/api/v1/agreements", {"start_date": "0001-01-01"}, "start_date"),
    ("admin", "POST", "/api/v1/agreements", {"start_date": "9999-12-01"}, "start_date"),
    ("buyer", "POST", "/api/v1/agreements/{agreement}/terminate", {"effective_date": "9999-12-31"}, "effective_date"),
    (
        "buyer",
        "POST",
        "/api/v1/users/{buyer_user}/tokens",
        {"name": "x", "expires_at": "9999-12-31T23:59:59Z"},
        "expires_at",
    ),
    ("accountant", "POST", "/api/v1/netting-runs", {"as_of": "0001-01-01"}, "as_of"),
    ("accountant", "GET", "/api/v1/open-items?as_of=0001-01-01", None, "as_of"),
    ("accountant", "GET", "/api/v1/open-items?as_of=9999-12-31", None, "as_of"),
    ("accountant", "POST", "/api/v1/settlement-runs", {"period": "1999-12"}, "period"),
    ("accountant", "POST", "/api/v1/settlement-runs", {"period": "1000-01"}, "period"),
    ("accountant", "POST", "/api/v1/ledger/periods/1999-12/close", None, "period"),
    ("provider", "POST", "/api/v1/agreements/{agreement}/usage", {"period": "1999-12", "quantity": "1"}, "period"),
    ("accountant", "GET", "/api/v1/settlements?period=1999-12", None, "period"),
    ("accountant", "GET", "/api/v1/reconciliation/1999-12", None, "period"),
    ("accountant", "GET", "/api/v1/ledger/balances?as_of=1999-12-31", None, "as_of"),
    ("accountant", "GET", "/api/v1/ledger/statement?from=1950-01-01", None, "from"),
]


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "field"),
    DATES,
    ids=[f"{method} {path} {json.dumps(body)}" for _, method, path, body, _ in DATES],
)
async def test_a_date_or_month_outside_the_supported_range_answers_422_naming_the_field(
    who: str, method: str, path: str, body: dict[str, Any] | None, field: str
) -> None:
    async with running_app() as client:
        world = await _world(client)
        method, url, complete = _request(method, path, body, world)
        before = await _snapshot()
        response = await client.request(method, url, headers=bearer(getattr(world, who)), json=complete)
    problem = _problem(response, 422)
    assert _fields(problem) == [field]
    assert "2000-01" in problem["detail"] and "2999-12" in problem["detail"]
    assert await _snapshot() == before


# --- nesting ---------------------------------------------------------------------------------------------------

DEEP_ARRAY = b"[" * 1000 + b"]" * 1000
DEEP_OBJECT = b'{"a":' * 1000 + b"1" + b"}" * 1000


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "content_type"),
    [
        ("provider", "POST", "/api/v1/offers", DEEP_ARRAY, "application/json"),
        ("provider", "POST", "/api/v1/offers", DEEP_OBJECT, "application/json"),
        ("provider", "POST", "/api/v1/offers", b'{"title":' + DEEP_ARRAY + b"}", "application/json"),
        ("provider", "POST", "/api/v1/offers", DEEP_ARRAY, "text/plain"),
        ("admin", "PATCH", "/api/v1/members/HZD", DEEP_OBJECT, "application/json"),
        ("admin", "POST", "/api/v1/members/HZD/suspend", DEEP_ARRAY, "application/json"),
        ("accountant", "POST", "/api/v1/settlement-runs", DEEP_OBJECT, "application/json"),
    ],
    ids=["array", "object", "in-a-field", "sent-as-plain-text", "patch", "optional-body", "settlement-run"],
)
async def test_a_body_nested_a_thousand_levels_deep_is_malformed(
    who: str, method: str, path: str, body: bytes, content_type: str
) -> None:
    await member("KOPIT")
    await member("HZD")
    caller = await token(
        *{
            "provider": ("KDZ-MZ", "provider"),
            "admin": ("KOPIT", "coop_admin"),
            "accountant": ("KOPIT", "coop_accountant"),
        }[who]
    )
    async with running_app() as client:
        before = await _snapshot()
        response = await client.request(
            method, path, headers={**bearer(caller), "content-type": content_type}, content=body
        )
    problem = _problem(response, 400)
    assert problem["type"].endswith("/malformed-request")
    assert await _snapshot() == before


# --- NUL, cursors ----------------------------------------------------------------------------------------------


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [_cursor(["HZD\x00"]), _cursor(["HZD\x01"]), _cursor(["\u202eHZD"]), "A" * 513],
    ids=["nul", "control", "bidi-override", "too-long"],
)
async def test_a_cursor_that_this_service_cannot_have_made_answers_400(cursor: str) -> None:
    reader = await token("HZD", "buyer")
    async with running_app() as client:
        response = await client.get("/api/v1/members", params={"cursor": cursor}, headers=bearer(reader))
    assert _problem(response, 400)["type"].endswith("/invalid-cursor")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/members/%00",
        "/api/v1/members/HZD%00/users",
        "/api/v1/reconciliation/2026-0%00",
        "/api/v1/settlements/S-2025-00000%00",
    ],
)
async def test_a_nul_in_the_path_answers_400(path: str) -> None:
    reader = await token("KOPIT", "coop_admin", "coop_accountant")
    async with running_app() as client:
        response = await client.get(path, headers=bearer(reader))
    assert _problem(response, 400)["type"].endswith("/nul-character")


async def test_a_nul_in_a_json_body_sent_as_plain_text_answers_422() -> None:
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        before = await _snapshot()
        response = await client.post(
            "/api/v1/members",
            headers={**bearer(admin), "content-type": "text/plain"},
            content=b'{"code": "NUL", "name": "a\\u0000b", "kind": "municipality", "state": "DE-HE"}',
        )
    assert _fields(_problem(response, 422)) == ["body"]
    assert await _snapshot() == before


async def test_a_query_parameter_given_twice_answers_400() -> None:
    reader = await token("HZD", "buyer")
    async with running_app() as client:
        response = await client.get("/api/v1/offers?category=hosting&category=cloud", headers=bearer(reader))
    assert response.status_code == 400
    assert response.json()["type"].endswith("repeated-query-parameter")
    assert "category" in response.json()["detail"]
