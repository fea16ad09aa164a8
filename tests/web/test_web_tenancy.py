"""Every form of the web pages that acts on an object answers the 404 page, and changes nothing, when the object
belongs to another member or does not exist: a POST answers as the GET of the same object does.

``ROWS`` holds one row per POST route (more where a route has several ways in); ``WITHOUT_OBJECT`` the routes
that act on no object of a member. A route in neither fails ``test_every_web_post_route_is_in_the_table``, so a
new page cannot forget the rule.
"""

from __future__ import annotations

import httpx
import msgspec
import pytest
from litestar.routes import HTTPRoute
from piccolo.engine.postgres import PostgresEngine

from marketplace.app import create_app
from marketplace.db import engine
from tests.booking.helpers import next_month_start, published_offer, submitted_request
from tests.builders import bearer, settings, token, user_id_of
from tests.catalogue.helpers import create_offer
from tests.web.helpers import csrf, sign_in, web_client, web_user


class Row(msgspec.Struct, frozen=True):
    """A form sent by a user who must not reach its object: the route's name, its path, the form's fields."""

    route: str
    path: str
    form: dict[str, str] = {}
    #: ``intruder``: a user of another member holding every member role; ``coop``: the cooperative's accountant
    #: and admin (for commands only they may give; their objects are then ones that do not exist).
    who: str = "intruder"


MISSING = "00000000-0000-4000-8000-000000000000"

ROWS = [
    Row("web:request-offer", "/katalog/{draft}/anfragen", {"quantity": "1", "start_date": "{start}"}),
    Row("web:request-offer", f"/katalog/{MISSING}/anfragen", {"quantity": "1", "start_date": "{start}"}),
    Row("web:withdraw-request", "/anfragen/{request}/zurueckziehen"),
    Row("web:terminate-submit", "/vereinbarungen/{agreement}/kuendigen", {"effective_date": ""}),
    Row("web:offer-command", "/anbieter/angebote/{offer}/pausieren"),
    Row("web:offer-command", "/anbieter/angebote/{offer}/einstellen"),
    Row("web:offer-command", "/anbieter/angebote/{draft}/veroeffentlichen"),
    Row("web:offer-command", "/anbieter/angebote/{offer}/loeschen"),
    Row("web:accept-request", "/anbieter/anfragen/{request}/annehmen"),
    Row("web:decline-request", "/anbieter/anfragen/{request}/ablehnen", {"reason": "Keine Kapazität."}),
    Row("web:decline-request", "/anbieter/anfragen/{request}/ablehnen", {"reason": ""}),
    Row(
        "web:edit-offer-submit",
        "/anbieter/angebote/{offer}/bearbeiten",
        {"title": "Übernommen", "description": "Fremd.", "version": "1"},
    ),
    Row("web:usage-report", "/anbieter/nutzung/{agreement}", {"period": "{period}", "quantity": "5"}),
    Row(
        "web:new-user-submit",
        "/verwaltung/mitglieder/KDZ-MZ/benutzer/neu",
        {"name": "Fremd", "email": "fremd@kdz-mz.example", "roles": "buyer"},
    ),
    Row("web:create-token", "/verwaltung/mitglieder/KDZ-MZ/schluessel", {"user_id": "{user}", "name": "fremd"}),
    Row("web:revoke-token", "/verwaltung/mitglieder/KDZ-MZ/schluessel/{token}/widerrufen"),
    Row("web:revoke-token", "/verwaltung/mitglieder/GU-FFM/schluessel/{token}/widerrufen"),
    Row("web:password-link", "/verwaltung/benutzer/{user}/passwort-link"),
    Row("web:user-status", "/verwaltung/benutzer/{user}/status", {"active": "nein"}),
    Row("web:password-submit", "/passwort/unbekannter-link", {"password": "Neues-Passwort-1", "password_repeat": ""}),
    Row("web:settlement-reverse", "/abrechnung/abrechnungen/S-2026-999999/stornieren", {"reason": "x"}, "coop"),
    Row(
        "web:bank-assign",
        f"/abrechnung/bank/umsaetze/{MISSING}/zuordnen",
        {"settlement": "S-2026-000001", "amount": ""},
        "coop",
    ),
    Row(
        "web:bank-assign",
        f"/abrechnung/bank/umsaetze/{MISSING}/zuordnen",
        {"settlement": "S-2026-000001", "amount": "kein Betrag"},
        "coop",
    ),
    Row("web:period-close", "/abrechnung/perioden/2026-13/abschliessen", {}, "coop"),
    Row(
        "web:confirm-bank-details",
        "/verwaltung/mitglieder/NIEMAND/bankverbindung",
        {"iban": "x", "version": "1"},
        "coop",
    ),
]

#: POST routes that act on no object of a member, and so have no other member's object to refuse.
WITHOUT_OBJECT = {
    "web:sign-in-submit": "signs in",
    "web:sign-out": "ends the own session",
    "web:new-offer-submit": "creates an offer of the own member",
    "web:settlement-run-start": "settles a month (the cooperative's accountant)",
    "web:ledger-verify": "verifies the whole ledger",
    "web:bank-import": "imports a bank statement of the clearing account",
    "web:netting-start": "nets every member's open items",
}


def web_post_routes() -> set[str]:
    """The names of the app's POST handlers outside the API."""
    app = create_app(settings())
    return {
        handler.name or ""
        for route in app.routes
        if isinstance(route, HTTPRoute) and not route.path.startswith("/api")
        for handler in route.route_handlers
        if "POST" in handler.http_methods
    }


def test_every_web_post_route_is_in_the_table() -> None:
    routes = web_post_routes()
    tabled = {row.route for row in ROWS}
    assert routes - tabled - set(WITHOUT_OBJECT) == set(), "add a row to ROWS (or a reason to WITHOUT_OBJECT)"
    assert (tabled | set(WITHOUT_OBJECT)) - routes == set(), "a row names a route that no longer exists"
    assert not tabled & set(WITHOUT_OBJECT)


#: Columns the app's background jobs write while a test runs (the outbox dispatcher marks events published).
_BACKGROUND_COLUMNS = {"published_at"}


async def snapshot() -> dict[str, list[str]]:
    """Every row of every table of the app, so that a refusal can show that it changed nothing."""
    db = engine()
    if isinstance(db, PostgresEngine):
        listing = "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
    else:
        listing = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1"
    tables = [row["name"] for row in await db.run_ddl(listing)]
    return {
        table: sorted(
            repr({key: value for key, value in dict(row).items() if key not in _BACKGROUND_COLUMNS})
            for row in await db.run_ddl(f'SELECT * FROM "{table}"')
        )
        for table in tables
    }


async def _world(client: httpx.AsyncClient) -> dict[str, str]:
    """KDZ-MZ provides to HZD: a published metered offer, a draft, a request, an agreement; a user with a token."""
    provider = await token("KDZ-MZ", "provider")
    buyer = await token("HZD", "buyer")
    offer_id = await published_offer(client, provider, pricing="metered", unit="GB", unit_price="0.50")
    draft = await create_offer(client, provider)
    request = await submitted_request(client, buyer, offer_id)
    second = await submitted_request(client, buyer, offer_id)
    accepted = await client.post(f"/api/v1/requests/{second['id']}/accept", headers=bearer(provider))
    assert accepted.status_code == 201, accepted.text
    user_id = await user_id_of(provider, client)
    tokens = await client.get(f"/api/v1/users/{user_id}/tokens", headers=bearer(provider))
    assert tokens.status_code == 200, tokens.text
    start = next_month_start()
    return {
        "offer": offer_id,
        "draft": str(draft["id"]),
        "request": str(request["id"]),
        "agreement": str(accepted.json()["id"]),
        "user": user_id,
        "token": str(tokens.json()["items"][0]["id"]),
        "start": start.isoformat(),
        "period": start.strftime("%Y-%m"),
    }


def _fill(text: str, world: dict[str, str]) -> str:
    for key, value in world.items():
        text = text.replace("{" + key + "}", value)
    return text


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.route}:{row.path}:{'+'.join(row.form.values())}")
async def test_a_form_on_another_members_object_answers_the_404_page_and_changes_nothing(row: Row) -> None:
    intruder = await web_user("GU-FFM", "buyer", "provider", "accountant", "member_admin")
    coop = await web_user("KOPIT", "coop_accountant", "coop_admin")
    async with web_client() as client:
        world = await _world(client)
        await sign_in(client, intruder if row.who == "intruder" else coop)
        token_value = await csrf(client, "/katalog")
        before = await snapshot()
        answer = await client.post(
            _fill(row.path, world), data={"_csrf": token_value, **{k: _fill(v, world) for k, v in row.form.items()}}
        )
        after = await snapshot()
    assert answer.status_code == 404, (answer.status_code, answer.headers.get("location"), answer.text[:500])
    assert "Nicht gefunden" in answer.text
    assert after == before


async def test_the_owner_of_the_objects_still_reaches_them() -> None:
    """The rows above fail for the right reason: the same form from the provider's own user is no 404, and the
    snapshot sees what it changes."""
    own = await web_user("KDZ-MZ", "provider")
    await web_user("KOPIT", "coop_accountant")
    async with web_client() as client:
        world = await _world(client)
        await sign_in(client, own)
        token_value = await csrf(client, "/katalog")
        before = await snapshot()
        answer = await client.post(f"/anbieter/angebote/{world['offer']}/pausieren", data={"_csrf": token_value})
        after = await snapshot()
        offer = await client.get(f"/katalog/{world['offer']}")
    assert answer.status_code == 303
    assert "Pausiert" in offer.text
    assert after["offers"] != before["offers"]
