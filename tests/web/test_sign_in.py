"""Sign-in with e-mail and password, the session cookie, sign-out, password links (waits after failures:
``test_sign_in_delay.py``)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from marketplace.clock import now
from marketplace.members import passwords
from marketplace.web import session as web_session
from tests.builders import bearer, member, token, user_id_of
from tests.web.helpers import PASSWORD, csrf, post_form, sign_in, web_client, web_user


async def test_sign_in_sets_a_secure_httponly_lax_session_cookie_and_opens_the_catalogue() -> None:
    email = await web_user("HZD", "buyer")
    async with web_client() as client:
        response = await sign_in(client, email)
        assert response.status_code == 303
        assert response.headers["location"] == "/katalog"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("kopit_session=")
        for attribute in ("HttpOnly", "SameSite=Lax", "Secure", "Path=/"):
            assert attribute in cookie
        page = await client.get("/katalog")
        assert page.status_code == 200
        assert "Abmelden" in page.text
        assert "HZD" in page.text


async def test_wrong_password_and_unknown_address_get_the_same_answer() -> None:
    email = await web_user("HZD", "buyer")
    async with web_client() as client:
        wrong = await sign_in(client, email, "Falsches-Passwort-1")
        unknown = await sign_in(client, "niemand@hzd.example", "Falsches-Passwort-1")
        assert wrong.status_code == unknown.status_code == 400
        assert "E-Mail-Adresse oder Passwort ist falsch." in wrong.text
        assert "E-Mail-Adresse oder Passwort ist falsch." in unknown.text
        assert (await client.get("/katalog")).status_code == 303


async def test_sign_out_ends_the_session() -> None:
    email = await web_user("HZD", "buyer")
    async with web_client() as client:
        await sign_in(client, email)
        response = await post_form(client, "/abmelden")
        assert response.status_code == 303
        assert response.headers["location"] == "/anmelden"
        assert (await client.get("/katalog")).status_code == 303


async def test_a_session_cookie_replayed_after_sign_out_is_refused() -> None:
    email = await web_user("HZD", "buyer")
    async with web_client() as client:
        await sign_in(client, email)
        signed_in_cookie = client.cookies.get("kopit_session")
        assert signed_in_cookie is not None
        await post_form(client, "/abmelden")
        client.cookies.clear()
        client.cookies.set("kopit_session", signed_in_cookie, domain="kopit.test")
        response = await client.get("/katalog")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/anmelden")


async def test_a_replayed_cookie_is_refused_by_another_process_with_redis_down() -> None:
    email = await web_user("HZD", "buyer")
    async with web_client(redis_url="redis://127.0.0.1:1/0") as first:
        await sign_in(first, email)
        cookie = first.cookies.get("kopit_session")
        assert cookie is not None
        await post_form(first, "/abmelden")
    # A second process, which never saw the sign-out: the database, not a cache, remembers it.
    async with web_client(redis_url="redis://127.0.0.1:1/0") as second:
        second.cookies.set("kopit_session", cookie, domain="kopit.test")
        response = await second.get("/katalog")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/anmelden")


async def test_a_new_password_ends_the_sessions_signed_in_with_the_old_one() -> None:
    email = await web_user("HZD", "buyer")
    async with web_client() as client:
        await sign_in(client, email)
        assert (await client.get("/katalog")).status_code == 200
        await web_user("HZD", "buyer", email=email, password="Ganz-Neues-Passwort-1")
        response = await client.get("/katalog")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/anmelden")


async def test_users_of_a_suspended_member_cannot_sign_in_and_are_signed_out() -> None:
    await member("KOPIT")
    email = await web_user("HZD", "buyer")
    admin = await token("KOPIT", "coop_admin")
    async with web_client() as client:
        await sign_in(client, email)
        suspended = await client.post("/api/v1/members/HZD/suspend", headers=bearer(admin))
        assert suspended.status_code == 200
        assert (await client.get("/katalog")).status_code == 303
        refused = await sign_in(client, email)
        assert refused.status_code == 403
        assert "gesperrt" in refused.text


async def test_the_cookie_is_secure_except_over_http_on_a_loopback_address() -> None:
    email = await web_user("HZD", "buyer")
    async with web_client("http://127.0.0.1:8000") as client:
        response = await sign_in(client, email)
        assert response.status_code == 303
        assert "Secure" not in response.headers["set-cookie"]
        assert (await client.get("/katalog")).status_code == 200
    async with web_client("http://kopit.example") as client:
        response = await client.get("/anmelden")
        assert "Secure" in response.headers["set-cookie"]


def test_a_forged_or_expired_session_cookie_is_ignored() -> None:
    key = web_session.session_key("secret")
    session = web_session.WebSession()
    value = session.encode(key)
    assert web_session.decode(value, key) is not None
    assert web_session.decode(value, web_session.session_key("another secret")) is None
    body, signature = value.rsplit(".", 1)
    assert web_session.decode(body + "x." + signature, key) is None
    assert web_session.decode(value, key, now=time.time() + web_session.MAX_AGE + 1) is None
    assert web_session.decode("garbage", key) is None


# --- password links ---------------------------------------------------------------------------------------


async def test_a_member_admin_creates_a_one_time_link_that_sets_the_password() -> None:
    admin = await token("HZD", "member_admin")
    buyer_token = await token("HZD", "buyer")
    async with web_client(public_base_url="https://austausch.kopit.example") as client:
        buyer_id = await user_id_of(buyer_token, client)
        created = await client.post(f"/api/v1/users/{buyer_id}/password-link", headers=bearer(admin))
        assert created.status_code == 201, created.text
        link = created.json()
        assert link["path"].startswith("/passwort/")
        assert link["url"] == "https://austausch.kopit.example" + link["path"]
        page = await client.get(link["path"])
        assert page.status_code == 200
        assert link["email"] in page.text
        token_value = await csrf(client, link["path"])
        mismatch = await client.post(
            link["path"],
            data={"_csrf": token_value, "password": "Neues-Passwort-1", "password_repeat": "Anderes-Passwort-1"},
        )
        assert mismatch.status_code == 400
        too_short = await client.post(
            link["path"], data={"_csrf": token_value, "password": "kurz", "password_repeat": "kurz"}
        )
        assert too_short.status_code == 400
        assert "mindestens 10 Zeichen" in too_short.text
        done = await client.post(
            link["path"],
            data={"_csrf": token_value, "password": "Neues-Passwort-1", "password_repeat": "Neues-Passwort-1"},
        )
        assert done.status_code == 303
        assert done.headers["location"].startswith("/anmelden?email=")
        assert (await client.get(link["path"])).status_code == 404  # used up
        assert (await sign_in(client, link["email"], "Neues-Passwort-1")).status_code == 303


async def test_a_new_link_revokes_the_earlier_one_and_links_expire() -> None:
    admin = await token("HZD", "member_admin")
    buyer_token = await token("HZD", "buyer")
    async with web_client() as client:
        buyer_id = await user_id_of(buyer_token, client)
        first = (await client.post(f"/api/v1/users/{buyer_id}/password-link", headers=bearer(admin))).json()
        second = (await client.post(f"/api/v1/users/{buyer_id}/password-link", headers=bearer(admin))).json()
        assert (await client.get(first["path"])).status_code == 404
        assert (await client.get(second["path"])).status_code == 200
        link = passwords.PasswordLink
        await link.update(
            {link.created_at: now() - timedelta(days=3), link.expires_at: now() - timedelta(seconds=1)}
        ).where(link.owner == buyer_id)
        assert (await client.get(second["path"])).status_code == 404


@pytest.mark.parametrize(
    ("admin_member", "roles", "status"),
    [
        ("HZD", ("member_admin",), 201),
        ("KOPIT", ("coop_admin",), 201),
        ("EKOM21", ("member_admin",), 404),  # another member's user: 404, as everywhere
        ("HZD", ("buyer",), 403),
        ("HZD", ("accountant",), 403),
    ],
)
async def test_who_may_create_a_password_link(admin_member: str, roles: tuple[str, ...], status: int) -> None:
    await member("KOPIT")
    caller = await token(admin_member, *roles)
    target = await token("HZD", "buyer", email="ziel@hzd.example")
    async with web_client() as client:
        target_id = await user_id_of(target, client)
        response = await client.post(f"/api/v1/users/{target_id}/password-link", headers=bearer(caller))
        assert response.status_code == status, response.text


async def test_a_member_admin_cannot_set_the_password_of_a_cooperative_role() -> None:
    kopit_admin = await token("KOPIT", "member_admin")
    coop_admin = await token("KOPIT", "coop_admin")
    async with web_client() as client:
        target_id = await user_id_of(coop_admin, client)
        response = await client.post(f"/api/v1/users/{target_id}/password-link", headers=bearer(kopit_admin))
        assert response.status_code == 403


def test_passwords_are_hashed_with_a_salt_and_verified_in_constant_time() -> None:
    first, second = passwords.hash_password(PASSWORD), passwords.hash_password(PASSWORD)
    assert first != second
    assert first.startswith("scrypt$")
    assert passwords.verify_password(PASSWORD, first)
    assert not passwords.verify_password(PASSWORD + "x", first)
    assert not passwords.verify_password(PASSWORD, "not a hash")
