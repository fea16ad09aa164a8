"""Links the exchange hands out start with PUBLIC_BASE_URL, never with the request's Host header."""

from __future__ import annotations

import re

import pytest

from marketplace.config import load_settings
from tests.builders import bearer, token, user_id_of
from tests.web.helpers import csrf_of, sign_in, web_client, web_user

BASE = "https://austausch.kopit.example"
FORGED = {"Host": "evil.example"}


async def test_the_api_builds_a_password_link_on_the_configured_base_url_whatever_the_host_header() -> None:
    admin = await token("HZD", "member_admin")
    buyer = await token("HZD", "buyer")
    async with web_client(public_base_url=BASE) as client:
        buyer_id = await user_id_of(buyer, client)
        created = await client.post(f"/api/v1/users/{buyer_id}/password-link", headers={**bearer(admin), **FORGED})
    assert created.status_code == 201, created.text
    assert created.json()["url"] == BASE + created.json()["path"]


async def test_the_users_page_shows_a_password_link_on_the_configured_base_url_whatever_the_host_header() -> None:
    admin = await web_user("HZD", "member_admin")
    target = await web_user("HZD", "buyer", email="ziel@hzd.example")
    async with web_client(public_base_url=BASE) as client:
        await sign_in(client, admin)
        users = await client.get("/verwaltung/mitglieder/HZD")
        user_id = re.search(r'action="/verwaltung/benutzer/([0-9a-f-]+)/passwort-link"', users.text.split(target)[1])
        assert user_id, users.text
        shown = await client.post(
            f"/verwaltung/benutzer/{user_id.group(1)}/passwort-link",
            data={"_csrf": csrf_of(users.text)},
            headers=FORGED,
        )
    assert shown.status_code == 200, shown.text
    assert f'value="{BASE}/passwort/' in shown.text
    assert "evil.example" not in shown.text


async def test_a_new_users_password_link_is_on_the_configured_base_url_whatever_the_host_header() -> None:
    admin = await web_user("HZD", "member_admin")
    async with web_client(public_base_url=BASE) as client:
        await sign_in(client, admin)
        form = await client.get("/verwaltung/mitglieder/HZD/benutzer/neu")
        created = await client.post(
            "/verwaltung/mitglieder/HZD/benutzer/neu",
            data={"_csrf": csrf_of(form.text), "name": "Neu", "email": "neu@hzd.example", "roles": "buyer"},
            headers=FORGED,
        )
    assert created.status_code == 200, created.text
    assert f'value="{BASE}/passwort/' in created.text
    assert "evil.example" not in created.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://austausch.kopit.example", "https://austausch.kopit.example"),
        ("https://austausch.kopit.example/", "https://austausch.kopit.example"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://[::1]:8443", "http://[::1]:8443"),
    ],
)
def test_public_base_url_is_read_without_a_final_slash(value: str, expected: str) -> None:
    assert load_settings({"PUBLIC_BASE_URL": value, "MARKETPLACE_SECRET": "s"}).public_base_url == expected


@pytest.mark.parametrize(
    "value",
    [
        "ftp://austausch.kopit.example",
        "austausch.kopit.example",
        "https://austausch.kopit.example/exchange",
        "https://austausch.kopit.example/?next=x",
        "https://austausch.kopit.example#top",
        "https://user@austausch.kopit.example",
        "https://austausch.kopit.example:0",
        "https://austausch.kopit.example:70000",
        "https://austausch kopit.example",
        "javascript:alert(1)",
        " https://austausch.kopit.example",
    ],
)
def test_a_public_base_url_that_is_not_a_plain_http_or_https_address_refuses_to_start(value: str) -> None:
    with pytest.raises(ValueError, match="PUBLIC_BASE_URL"):
        load_settings({"PUBLIC_BASE_URL": value, "MARKETPLACE_SECRET": "s"})


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"PORT": "8080"}, "http://127.0.0.1:8080"),
        ({"HOST": "0.0.0.0", "PORT": "9000"}, "http://127.0.0.1:9000"),  # noqa: S104 - an environment, not a bind
        ({"HOST": "::"}, "http://[::1]:8000"),
        ({"HOST": "kopit-test.intern"}, "http://kopit-test.intern:8000"),
    ],
)
def test_without_public_base_url_links_point_where_serve_listens(environ: dict[str, str], expected: str) -> None:
    assert load_settings({**environ, "MARKETPLACE_SECRET": "s"}).public_base_url == expected
