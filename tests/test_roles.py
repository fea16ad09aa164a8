"""Role × endpoint: every endpoint admits exactly the roles it should (403 for the others).

Each caller acts on its own member's objects, so that tenancy (tests/test_tenancy.py) does not mix in. The
table grows with every endpoint.
"""

from __future__ import annotations

import msgspec
import pytest

from marketplace.auth import COOP_ROLES, Role
from tests.builders import SYSTEM, bearer, member, running_app, token, user_id_of

ALL = frozenset(Role)
ADMINS = frozenset({Role.coop_admin, Role.member_admin})

OFFER_BODY = {
    "title": "Housing",
    "description": "Stellfläche im Rechenzentrum.",
    "category": "hosting",
    "unit": "Höheneinheit-Monat",
    "unit_price": "18.00",
    "pricing": "recurring",
    "tax_treatment": "exempt_public_cooperation",
}


async def _own_offer(own: str) -> str:
    """A draft offer of the caller's member, made without the API."""
    from marketplace.catalogue import services as catalogue
    from marketplace.catalogue.schemas import OfferCreate
    from marketplace.members.tables import Member

    await catalogue.ensure_default_categories()
    row = await Member.select(Member.id).where(Member.code == own).first()
    assert row is not None
    data = msgspec.convert(OFFER_BODY, OfferCreate)
    return str((await catalogue.create_offer(data, row["id"], SYSTEM)).id)


# (method, path, body, roles that may call it); {own} is the caller's member, {me} the caller's user id,
# {offer} a draft offer of the caller's member.
ENDPOINTS = [
    ("GET", "/api/v1/me", None, ALL),
    ("GET", "/api/v1/members", None, ALL),
    ("GET", "/api/v1/members/{own}", None, ALL),
    (
        "POST",
        "/api/v1/members",
        {"code": "NEU", "name": "Neu", "kind": "municipality", "state": "DE-HE"},
        {Role.coop_admin},
    ),
    ("PATCH", "/api/v1/members/{own}", {"contact_email": "post@example.org"}, ADMINS),
    ("POST", "/api/v1/members/EKOM21/suspend", None, {Role.coop_admin}),
    ("POST", "/api/v1/members/EKOM21/reinstate", None, {Role.coop_admin}),
    ("POST", "/api/v1/members/EKOM21/leave", None, {Role.coop_admin}),
    ("POST", "/api/v1/members/EKOM21/bank-details/confirm", {"iban": "DE02500105170137075030"}, {Role.coop_admin}),
    ("GET", "/api/v1/members/{own}/users", None, ADMINS),
    (
        "POST",
        "/api/v1/members/{own}/users",
        {"email": "neu@example.org", "name": "Neu", "roles": ["buyer"]},
        ADMINS,
    ),
    ("PATCH", "/api/v1/users/{me}", {"name": "Neuer Name"}, ADMINS),
    ("POST", "/api/v1/users/{me}/password-link", None, ADMINS),
    ("GET", "/api/v1/users/{me}/tokens", None, ALL),
    ("POST", "/api/v1/users/{me}/tokens", {"name": "Skript"}, ALL),
    ("GET", "/api/v1/audit-events", None, ALL),
    ("GET", "/api/v1/categories", None, ALL),
    ("POST", "/api/v1/categories", {"code": "neu", "label_de": "Neu", "label_en": "New"}, {Role.coop_admin}),
    ("GET", "/api/v1/offers", None, ALL),
    ("POST", "/api/v1/offers", OFFER_BODY, {Role.provider}),
    ("GET", "/api/v1/offers/{offer}", None, ALL),
    ("PATCH", "/api/v1/offers/{offer}", {"title": "Neu"}, {Role.provider}),
    ("POST", "/api/v1/offers/{offer}/publish", None, {Role.provider}),
    ("POST", "/api/v1/offers/{offer}/pause", None, {Role.provider}),
    ("POST", "/api/v1/offers/{offer}/retire", None, {Role.provider}),
    ("GET", "/api/v1/offers/{offer}/versions", None, ALL),
]


def _cases() -> list[tuple[str, str, dict | None, Role, bool]]:
    return [
        pytest.param(method, path, body, role, role in allowed, id=f"{method} {path} as {role}")
        for method, path, body, allowed in ENDPOINTS
        for role in Role
    ]


@pytest.mark.parametrize(("method", "path", "body", "role", "allowed"), _cases())
async def test_endpoint_admits_exactly_its_roles(
    method: str, path: str, body: dict | None, role: Role, allowed: bool
) -> None:
    await member("KOPIT")
    await member("EKOM21")
    own = "KOPIT" if role in COOP_ROLES else "HZD"
    caller = await token(own, role)
    async with running_app() as client:
        me = await user_id_of(caller, client)
        offer = await _own_offer(own) if "{offer}" in path else ""
        url = path.format(own=own, me=me, offer=offer)
        response = await client.request(method, url, headers=bearer(caller), json=body)
    if allowed:
        assert response.status_code not in (401, 403, 404), response.text
        assert response.status_code < 500, response.text
    else:
        assert response.status_code == 403, response.text


async def test_revoking_ones_own_token_is_allowed_for_every_role() -> None:
    for role in Role:
        own = "KOPIT" if role in COOP_ROLES else "HZD"
        caller = await token(own, role)
        async with running_app() as client:
            me = await user_id_of(caller, client)
            spare = (await client.post(f"/api/v1/users/{me}/tokens", headers=bearer(caller), json={"name": "x"})).json()
            response = await client.delete(f"/api/v1/tokens/{spare['id']}", headers=bearer(caller))
        assert response.status_code == 204, (role, response.text)
