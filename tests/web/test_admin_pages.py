"""Verwaltung: creating users with their one-time password link, and the API tokens of a member's users (the secret
shown once, revocation at once); the same rules as the API, another member's users and tokens are the 404 page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from marketplace.members.tables import ApiToken, User
from tests.builders import bearer, member, token
from tests.web.helpers import post_form, sign_in, web_client, web_user

_SECRET = re.compile(r'id="secret" type="text" readonly value="([^"]+)"')


def user_id_in(page: str, email: str) -> str:
    """The id of the user ``email`` in the token form's user list."""
    found = re.search(r'<option value="([0-9a-f-]+)"[^>]*>[^<]*\(' + re.escape(email) + r"\)", page)
    assert found, page
    return found.group(1)


def once_of(page: str) -> str:
    """The one-time id of the token form on ``page``."""
    once = re.search(r'name="_once" value="([^"]+)"', page)
    assert once, page
    return once.group(1)


def token_form(page: str, email: str, name: str = "Fachverfahren") -> dict[str, str]:
    """The token form on ``page`` filled in for the user ``email``."""
    return {"user_id": user_id_in(page, email), "name": name, "_once": once_of(page)}


async def create_token(client: httpx.AsyncClient, code: str, email: str, name: str = "Fachverfahren") -> httpx.Response:
    """Fill in the token form of member ``code`` for the user ``email``."""
    path = f"/verwaltung/mitglieder/{code}/schluessel"
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return await post_form(client, path, token_form(page.text, email, name), page=path)


# --- who may open the pages -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["buyer", "provider", "accountant"])
async def test_the_user_and_token_pages_are_refused_to_roles_without_administration(role: str) -> None:
    someone = await web_user("HZD", role)
    async with web_client() as client:
        await sign_in(client, someone)
        for path in ("/verwaltung/mitglieder/HZD/benutzer/neu", "/verwaltung/mitglieder/HZD/schluessel"):
            refused = await client.get(path)
            assert refused.status_code == 403, path
            assert "Keine Berechtigung" in refused.text


async def test_a_member_admin_opens_the_pages_of_its_own_member_only() -> None:
    await member("EKOM21")
    admin = await web_user("HZD", "member_admin")
    async with web_client() as client:
        await sign_in(client, admin)
        users = await client.get("/verwaltung/mitglieder/HZD")
        assert 'href="/verwaltung/mitglieder/HZD/benutzer/neu"' in users.text
        assert 'href="/verwaltung/mitglieder/HZD/schluessel"' in users.text
        for path in ("/verwaltung/mitglieder/HZD/benutzer/neu", "/verwaltung/mitglieder/HZD/schluessel"):
            assert (await client.get(path)).status_code == 200, path
        for path in ("/verwaltung/mitglieder/EKOM21/benutzer/neu", "/verwaltung/mitglieder/EKOM21/schluessel"):
            refused = await client.get(path)
            assert refused.status_code == 404, path
            assert "Nicht gefunden" in refused.text
        posted = await post_form(
            client,
            "/verwaltung/mitglieder/EKOM21/benutzer/neu",
            {"name": "Eingeschleust", "email": "x@ekom21.example", "roles": "buyer"},
            page="/verwaltung",
        )
        assert posted.status_code == 404
    assert not await User.exists().where(User.email == "x@ekom21.example")


async def test_the_coop_admin_opens_the_pages_of_any_member() -> None:
    await member("KOPIT")
    await member("EKOM21")
    admin = await web_user("KOPIT", "coop_admin")
    async with web_client() as client:
        await sign_in(client, admin)
        assert (await client.get("/verwaltung/mitglieder/EKOM21/benutzer/neu")).status_code == 200
        assert (await client.get("/verwaltung/mitglieder/EKOM21/schluessel")).status_code == 200
        assert (await client.get("/verwaltung/mitglieder/NIEMAND/schluessel")).status_code == 404


# --- users ----------------------------------------------------------------------------------------------


async def test_a_member_admin_creates_a_user_and_gets_its_one_time_password_link() -> None:
    admin = await web_user("HZD", "member_admin")
    async with web_client() as client:
        await sign_in(client, admin)
        form = await client.get("/verwaltung/mitglieder/HZD/benutzer/neu")
        assert 'value="buyer"' in form.text and 'value="member_admin"' in form.text
        assert 'value="coop_admin"' not in form.text
        created = await client.post(
            "/verwaltung/mitglieder/HZD/benutzer/neu",
            data={
                "_csrf": re.search(r'name="_csrf" value="([^"]+)"', form.text).group(1),  # type: ignore[union-attr]
                "name": "Erika Muster",
                "email": "Erika.Muster@hzd.example",
                "roles": ["buyer", "accountant"],
            },
        )
        assert created.status_code == 200, created.text
        assert "Der Benutzer Erika Muster (erika.muster@hzd.example) ist angelegt." in created.text
        link = re.search(r'value="http://127.0.0.1:8000(/passwort/[^"]+)"', created.text)  # PUBLIC_BASE_URL
        assert link, created.text
        users = await client.get("/verwaltung/mitglieder/HZD")
        assert "erika.muster@hzd.example" in users.text
        await post_form(client, "/abmelden")
        assert "erika.muster@hzd.example" in (await client.get(link.group(1))).text
    row = await User.select(User.roles).where(User.email == "erika.muster@hzd.example").first()
    assert row is not None and set(row["roles"].split(",")) == {"buyer", "accountant"}


async def test_a_cooperative_role_sent_by_a_member_admin_is_refused_and_creates_nobody() -> None:
    admin = await web_user("HZD", "member_admin")
    async with web_client() as client:
        await sign_in(client, admin)
        refused = await post_form(
            client,
            "/verwaltung/mitglieder/HZD/benutzer/neu",
            {"name": "Zu viel", "email": "zuviel@hzd.example", "roles": "coop_admin"},
            page="/verwaltung/mitglieder/HZD/benutzer/neu",
        )
    assert refused.status_code in (403, 422)
    assert 'role="alert"' in refused.text
    assert not await User.exists().where(User.email == "zuviel@hzd.example")


async def test_the_coop_admin_may_give_cooperative_roles_to_users_of_the_office_only() -> None:
    await member("KOPIT")
    admin = await web_user("KOPIT", "coop_admin")
    await member("HZD")
    async with web_client() as client:
        await sign_in(client, admin)
        office = await client.get("/verwaltung/mitglieder/KOPIT/benutzer/neu")
        other = await client.get("/verwaltung/mitglieder/HZD/benutzer/neu")
        made = await post_form(
            client,
            "/verwaltung/mitglieder/KOPIT/benutzer/neu",
            {"name": "Prüferin", "email": "pruefung@kopit.example", "roles": "auditor"},
            page="/verwaltung",
        )
    assert 'value="auditor"' in office.text
    assert 'value="auditor"' not in other.text
    assert made.status_code == 200, made.text
    assert "/passwort/" in made.text


async def test_a_taken_email_address_and_a_missing_role_are_refused_in_german() -> None:
    admin = await web_user("HZD", "member_admin", email="admin@hzd.example")
    async with web_client() as client:
        await sign_in(client, admin)
        path = "/verwaltung/mitglieder/HZD/benutzer/neu"
        taken = await post_form(
            client, path, {"name": "Doppelt", "email": "ADMIN@hzd.example", "roles": "buyer"}, page=path
        )
        no_role = await post_form(client, path, {"name": "Ohne", "email": "ohne@hzd.example"}, page=path)
        bad_email = await post_form(client, path, {"name": "Falsch", "email": "kein-at", "roles": "buyer"}, page=path)
    assert taken.status_code == 409
    assert "Es gibt bereits einen Benutzer mit dieser E-Mail-Adresse." in taken.text
    assert no_role.status_code == 422
    assert "Bitte wählen Sie mindestens eine Rolle." in no_role.text
    assert bad_email.status_code == 422
    assert "Bitte prüfen Sie die E-Mail-Adresse." in bad_email.text
    assert await User.count().where(User.member.code == "HZD") == 1


# --- tokens ---------------------------------------------------------------------------------------------


async def test_a_new_token_is_shown_once_works_on_the_api_and_stops_working_when_revoked() -> None:
    admin = await web_user("HZD", "member_admin")
    buyer = await web_user("HZD", "buyer", email="einkauf@hzd.example")
    async with web_client() as client:
        await sign_in(client, admin)
        created = await create_token(client, "HZD", buyer, name="Beschaffungssystem")
        assert created.status_code == 200, created.text
        secret = _SECRET.search(created.text)
        assert secret, created.text
        me = await client.get("/api/v1/me", headers=bearer(secret.group(1)))
        assert me.status_code == 200
        assert me.json()["user"]["email"] == buyer
        listed = await client.get("/verwaltung/mitglieder/HZD/schluessel")
        assert secret.group(1) not in listed.text
        assert "Beschaffungssystem" in listed.text
        assert "Einkauf" in listed.text  # the user's role, which the token carries
        assert "nie" not in listed.text.split("Beschaffungssystem")[1].split("</tr>")[0]  # it was used just now
        token_id = re.search(r"/schluessel/([0-9a-f-]+)/widerrufen", listed.text).group(1)  # type: ignore[union-attr]
        revoked = await post_form(
            client, f"/verwaltung/mitglieder/HZD/schluessel/{token_id}/widerrufen", page="/verwaltung"
        )
        assert revoked.status_code == 303
        after = await client.get(revoked.headers["location"])
        assert "ist widerrufen" in after.text
        assert "widerrufen</span>" in after.text
        assert (await client.get("/api/v1/me", headers=bearer(secret.group(1)))).status_code == 401


_HZD_TOKENS = "/verwaltung/mitglieder/HZD/schluessel"


@asynccontextmanager
async def hzd_admin_with_token_form() -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """HZD's member_admin signed in, and the token form filled in for HZD's buyer."""
    admin = await web_user("HZD", "member_admin")
    buyer = await web_user("HZD", "buyer", email="einkauf@hzd.example")
    async with web_client() as client:
        await sign_in(client, admin)
        yield client, token_form((await client.get(_HZD_TOKENS)).text, buyer)


async def test_reloading_the_page_that_shows_a_new_secret_creates_no_second_token() -> None:
    path = _HZD_TOKENS
    async with hzd_admin_with_token_form() as (client, form):
        created = await post_form(client, path, form, page=path)
        reloaded = await post_form(client, path, form, page=path)  # what a browser's reload sends
        after = await client.get(reloaded.headers["location"])
    assert created.status_code == 200
    assert reloaded.status_code == 303
    assert "wurde bereits angelegt" in after.text
    assert _SECRET.search(after.text) is None
    assert await ApiToken.count().where(ApiToken.name == "Fachverfahren") == 1


async def test_a_token_form_without_its_one_time_id_creates_nothing() -> None:
    async with hzd_admin_with_token_form() as (client, form):
        del form["_once"]
        answer = await post_form(client, _HZD_TOKENS, form, page=_HZD_TOKENS)
    assert answer.status_code == 303
    assert await ApiToken.count().where(ApiToken.name == "Fachverfahren") == 0


async def test_a_token_with_an_end_date_expires_at_the_end_of_that_day() -> None:
    admin = await web_user("HZD", "member_admin", email="admin@hzd.example")
    async with web_client() as client:
        await sign_in(client, admin)
        path = "/verwaltung/mitglieder/HZD/schluessel"
        page = await client.get(path)
        user_id = user_id_in(page.text, "admin@hzd.example")
        dated = await post_form(
            client,
            path,
            {"user_id": user_id, "name": "Befristet", "expires_on": "2999-12-31", "_once": once_of(page.text)},
            page=path,
        )
        again = await client.get(path)
        past = await post_form(
            client,
            path,
            {"user_id": user_id, "name": "Vergangen", "expires_on": "2000-01-01", "_once": once_of(again.text)},
            page=path,
        )
    assert dated.status_code == 200, dated.text
    assert "01.01.3000, 00:00 Uhr" in dated.text
    assert past.status_code == 422
    assert "Das Datum „Gültig bis“ muss in der Zukunft liegen." in past.text
    assert await ApiToken.count() == 1


async def test_a_member_admin_cannot_see_create_or_revoke_another_members_tokens() -> None:
    foreign = await token("EKOM21", "buyer")
    admin = await web_user("HZD", "member_admin")
    async with web_client() as client:
        foreign_user = (await client.get("/api/v1/me", headers=bearer(foreign))).json()["user"]["id"]
        foreign_token = await ApiToken.select(ApiToken.id).first()
        assert foreign_token is not None
        await sign_in(client, admin)
        assert (await client.get("/verwaltung/mitglieder/EKOM21/schluessel")).status_code == 404
        own_page = await client.get("/verwaltung/mitglieder/HZD/schluessel")
        made = await post_form(
            client,
            "/verwaltung/mitglieder/HZD/schluessel",
            {"user_id": foreign_user, "name": "Fremd", "_once": once_of(own_page.text)},
            page="/verwaltung/mitglieder/HZD/schluessel",
        )
        assert made.status_code == 422
        for code in ("HZD", "EKOM21"):
            revoked = await post_form(
                client,
                f"/verwaltung/mitglieder/{code}/schluessel/{foreign_token['id']}/widerrufen",
                page="/verwaltung",
            )
            assert revoked.status_code == 404, code
        assert (await client.get("/api/v1/me", headers=bearer(foreign))).status_code == 200
    assert await ApiToken.count() == 1
