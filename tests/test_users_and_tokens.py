"""Users belong to one member and hold roles; tokens are shown once, stored hashed, revocable, expiring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from marketplace.app import create_app
from marketplace.auth import hash_token
from marketplace.members import authentication
from marketplace.members.tables import ApiToken
from tests.builders import bearer, running_app, settings, token, user_id_of


async def test_member_admin_creates_a_user_of_its_member() -> None:
    admin = await token("HZD", "member_admin")
    async with running_app() as client:
        response = await client.post(
            "/api/v1/members/HZD/users",
            headers=bearer(admin),
            json={"email": "Neu@HZD.example", "name": "Neue Kollegin", "roles": ["buyer", "accountant"]},
        )
    assert response.status_code == 201, response.text
    assert response.json()["email"] == "neu@hzd.example"
    assert response.json()["roles"] == ["accountant", "buyer"]


async def test_a_duplicate_email_answers_409() -> None:
    admin = await token("HZD", "member_admin")
    body = {"email": "neu@hzd.example", "name": "Neu", "roles": ["buyer"]}
    async with running_app() as client:
        await client.post("/api/v1/members/HZD/users", headers=bearer(admin), json=body)
        again = await client.post("/api/v1/members/HZD/users", headers=bearer(admin), json=body)
    assert again.status_code == 409


async def test_cooperative_roles_are_refused_for_users_of_other_members() -> None:
    coop_admin = await token("KOPIT", "coop_admin")
    await token("HZD", "buyer")
    async with running_app() as client:
        response = await client.post(
            "/api/v1/members/HZD/users",
            headers=bearer(coop_admin),
            json={"email": "x@hzd.example", "name": "X", "roles": ["auditor"]},
        )
    assert response.status_code == 422


async def test_an_unknown_role_answers_422() -> None:
    admin = await token("HZD", "member_admin")
    async with running_app() as client:
        response = await client.post(
            "/api/v1/members/HZD/users",
            headers=bearer(admin),
            json={"email": "x@hzd.example", "name": "X", "roles": ["king"]},
        )
    assert response.status_code == 422


async def test_another_members_user_list_answers_404() -> None:
    other_admin = await token("EKOM21", "member_admin")
    await token("HZD", "buyer")
    async with running_app() as client:
        response = await client.get("/api/v1/members/HZD/users", headers=bearer(other_admin))
    assert response.status_code == 404


async def test_a_new_token_is_shown_once_and_stored_only_as_its_hash() -> None:
    mine = await token("HZD", "buyer")
    async with running_app() as client:
        user_id = await user_id_of(mine, client)
        created = await client.post(f"/api/v1/users/{user_id}/tokens", headers=bearer(mine), json={"name": "Skript"})
        listed = await client.get(f"/api/v1/users/{user_id}/tokens", headers=bearer(mine))
    secret = created.json()["token"]
    assert created.status_code == 201
    assert secret not in listed.text
    stored = await ApiToken.select(ApiToken.token_hash).where(ApiToken.id == created.json()["id"]).first()
    assert stored is not None
    assert stored["token_hash"] == hash_token(secret)


async def test_a_revoked_token_stops_working_at_once() -> None:
    mine = await token("HZD", "buyer")
    async with running_app() as client:
        user_id = await user_id_of(mine, client)
        created = (
            await client.post(f"/api/v1/users/{user_id}/tokens", headers=bearer(mine), json={"name": "x"})
        ).json()
        assert (await client.get("/api/v1/me", headers=bearer(created["token"]))).status_code == 200
        revoked = await client.delete(f"/api/v1/tokens/{created['id']}", headers=bearer(mine))
        after = await client.get("/api/v1/me", headers=bearer(created["token"]))
    assert revoked.status_code == 204
    assert after.status_code == 401


async def test_an_expired_token_answers_401(monkeypatch: pytest.MonkeyPatch) -> None:
    mine = await token("HZD", "buyer")
    async with running_app() as client:
        user_id = await user_id_of(mine, client)
        expiry = datetime.now(UTC) + timedelta(hours=1)
        created = (
            await client.post(
                f"/api/v1/users/{user_id}/tokens",
                headers=bearer(mine),
                json={"name": "x", "expires_at": expiry.isoformat()},
            )
        ).json()
        assert (await client.get("/api/v1/me", headers=bearer(created["token"]))).status_code == 200
        monkeypatch.setattr(authentication, "now", lambda: expiry + timedelta(seconds=1))
        response = await client.get("/api/v1/me", headers=bearer(created["token"]))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def test_an_expiry_in_the_past_is_refused() -> None:
    mine = await token("HZD", "buyer")
    async with running_app() as client:
        user_id = await user_id_of(mine, client)
        response = await client.post(
            f"/api/v1/users/{user_id}/tokens",
            headers=bearer(mine),
            json={"name": "x", "expires_at": "2020-01-01T00:00:00+00:00"},
        )
    assert response.status_code == 422


async def test_using_a_token_records_when_it_was_last_used() -> None:
    mine = await token("HZD", "buyer")
    async with running_app() as client:
        await client.get("/api/v1/me", headers=bearer(mine))
    row = await ApiToken.select(ApiToken.last_used_at).where(ApiToken.token_hash == hash_token(mine)).first()
    assert row is not None
    assert row["last_used_at"] is not None


async def test_another_members_user_tokens_answer_404() -> None:
    victim = await token("HZD", "buyer")
    intruder = await token("EKOM21", "member_admin")
    async with running_app() as client:
        user_id = await user_id_of(victim, client)
        listed = await client.get(f"/api/v1/users/{user_id}/tokens", headers=bearer(intruder))
        created = await client.post(f"/api/v1/users/{user_id}/tokens", headers=bearer(intruder), json={"name": "x"})
    assert listed.status_code == 404
    assert created.status_code == 404


async def test_another_members_token_cannot_be_revoked() -> None:
    victim = await token("HZD", "buyer")
    intruder = await token("EKOM21", "member_admin")
    async with running_app() as client:
        user_id = await user_id_of(victim, client)
        listed = await client.get(f"/api/v1/users/{user_id}/tokens", headers=bearer(victim))
        token_id = listed.json()["items"][0]["id"]
        response = await client.delete(f"/api/v1/tokens/{token_id}", headers=bearer(intruder))
        still = await client.get("/api/v1/me", headers=bearer(victim))
    assert response.status_code == 404
    assert still.status_code == 200


@pytest.mark.redis
async def test_a_token_revoked_through_one_server_is_refused_by_another_at_once() -> None:
    mine = await token("HZD", "buyer")
    first, second = create_app(settings()), create_app(settings())
    async with running_app(first) as one, running_app(second) as two:
        user_id = await user_id_of(mine, one)
        spare = (await one.post(f"/api/v1/users/{user_id}/tokens", headers=bearer(mine), json={"name": "x"})).json()
        assert (await two.get("/api/v1/me", headers=bearer(spare["token"]))).status_code == 200
        await one.delete(f"/api/v1/tokens/{spare['id']}", headers=bearer(mine))
        response = await two.get("/api/v1/me", headers=bearer(spare["token"]))
    assert response.status_code == 401


async def test_a_cached_token_is_refused_at_once_when_its_member_is_suspended() -> None:
    admin = await token("KOPIT", "coop_admin")
    buyer = await token("HZD", "buyer")
    async with running_app() as client:
        for _ in range(2):
            assert (await client.get("/api/v1/me", headers=bearer(buyer))).status_code == 200
        await client.post("/api/v1/members/HZD/suspend", headers=bearer(admin))
        response = await client.get("/api/v1/me", headers=bearer(buyer))
    assert response.status_code == 403


async def test_a_token_revoked_through_one_instance_is_refused_by_another_without_redis() -> None:
    mine = await token("HZD", "buyer")
    first, second = create_app(settings(redis_url=None)), create_app(settings(redis_url=None))
    async with running_app(first) as one, running_app(second) as two:
        user_id = await user_id_of(mine, one)
        spare = (await one.post(f"/api/v1/users/{user_id}/tokens", headers=bearer(mine), json={"name": "x"})).json()
        for _ in range(2):
            assert (await two.get("/api/v1/me", headers=bearer(spare["token"]))).status_code == 200
        await one.delete(f"/api/v1/tokens/{spare['id']}", headers=bearer(mine))
        response = await two.get("/api/v1/me", headers=bearer(spare["token"]))
    assert response.status_code == 401


async def test_a_member_suspended_through_one_instance_is_refused_by_another_without_redis() -> None:
    admin = await token("KOPIT", "coop_admin")
    buyer = await token("HZD", "buyer")
    first, second = create_app(settings(redis_url=None)), create_app(settings(redis_url=None))
    async with running_app(first) as one, running_app(second) as two:
        for _ in range(2):
            assert (await two.get("/api/v1/me", headers=bearer(buyer))).status_code == 200
        await one.post("/api/v1/members/HZD/suspend", headers=bearer(admin))
        response = await two.get("/api/v1/me", headers=bearer(buyer))
    assert response.status_code == 403
