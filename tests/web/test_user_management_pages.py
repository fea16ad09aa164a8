"""Verwaltung follows the API's rule on who manages which user: a member's admin of the cooperative office never
sees, arms or revokes the tokens of users holding the cooperative's roles; an admin deactivates and reactivates
the users it manages, and a deactivated user's tokens stop working at once."""

from __future__ import annotations

from marketplace.members.tables import ApiToken, User
from tests.builders import bearer, running_app, token
from tests.web.helpers import post_form, sign_in, web_client, web_user


async def _coop_users_token() -> tuple[str, str]:
    """A coop_admin of the office with a live token: (its user id, the token)."""
    secret = await token("KOPIT", "coop_admin", email="chefin@kopit.example")
    row = await User.select(User.id).where(User.email == "chefin@kopit.example").first()
    assert row is not None
    return str(row["id"]), secret


async def test_the_token_page_hides_users_with_cooperative_roles_from_a_member_admin() -> None:
    coop_user, _ = await _coop_users_token()
    admin = await web_user("KOPIT", "member_admin")
    async with web_client() as client:
        await sign_in(client, admin)
        page = await client.get("/verwaltung/mitglieder/KOPIT/schluessel")
    assert page.status_code == 200
    assert "chefin@kopit.example" not in page.text
    assert coop_user not in page.text


async def test_a_member_admin_cannot_create_a_token_for_a_coop_admin_through_the_form() -> None:
    coop_user, _ = await _coop_users_token()
    admin = await web_user("KOPIT", "member_admin")
    async with web_client() as client:
        await sign_in(client, admin)
        path = "/verwaltung/mitglieder/KOPIT/schluessel"
        response = await post_form(client, path, {"user_id": coop_user, "name": "Hintertür", "_once": "x"}, page=path)
    assert response.status_code == 422
    assert await ApiToken.count().where(ApiToken.owner == coop_user) == 1


async def test_a_member_admin_cannot_revoke_a_coop_admins_token_through_the_page() -> None:
    _, secret = await _coop_users_token()
    stored = await ApiToken.select(ApiToken.id).first()
    assert stored is not None
    admin = await web_user("KOPIT", "member_admin")
    async with web_client() as client:
        await sign_in(client, admin)
        response = await post_form(
            client, f"/verwaltung/mitglieder/KOPIT/schluessel/{stored['id']}/widerrufen", page="/verwaltung"
        )
    assert response.status_code == 404
    async with running_app() as api:
        assert (await api.get("/api/v1/me", headers=bearer(secret))).status_code == 200


async def test_the_user_list_offers_no_actions_on_users_with_cooperative_roles_to_a_member_admin() -> None:
    coop_user, _ = await _coop_users_token()
    admin = await web_user("KOPIT", "member_admin")
    async with web_client() as client:
        await sign_in(client, admin)
        page = await client.get("/verwaltung/mitglieder/KOPIT")
        refused = await post_form(client, f"/verwaltung/benutzer/{coop_user}/status", {"active": "nein"})
    assert f"/verwaltung/benutzer/{coop_user}/" not in page.text
    assert "verwaltet die Geschäftsstelle" in page.text
    assert refused.status_code == 303
    row = await User.select(User.active).where(User.id == coop_user).first()
    assert row == {"active": True}


async def test_a_member_admin_deactivates_a_user_and_its_token_stops_working() -> None:
    secret = await token("HZD", "buyer", email="einkauf@hzd.example")
    admin = await web_user("HZD", "member_admin")
    row = await User.select(User.id).where(User.email == "einkauf@hzd.example").first()
    assert row is not None
    async with web_client() as client:
        await sign_in(client, admin)
        response = await post_form(
            client, f"/verwaltung/benutzer/{row['id']}/status", {"active": "nein"}, page="/verwaltung/mitglieder/HZD"
        )
        after = await client.get(response.headers["location"])
    assert response.status_code == 303
    assert "ist deaktiviert" in after.text
    async with running_app() as api:
        assert (await api.get("/api/v1/me", headers=bearer(secret))).status_code == 401


async def test_another_members_admin_gets_the_404_page_for_the_status_form() -> None:
    await token("HZD", "buyer", email="einkauf@hzd.example")
    row = await User.select(User.id).where(User.email == "einkauf@hzd.example").first()
    assert row is not None
    intruder = await web_user("EKOM21", "member_admin")
    async with web_client() as client:
        await sign_in(client, intruder)
        response = await post_form(client, f"/verwaltung/benutzer/{row['id']}/status", {"active": "nein"})
    assert response.status_code == 404
    assert (await User.select(User.active).where(User.id == row["id"]).first()) == {"active": True}
