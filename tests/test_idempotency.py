"""Idempotency-Key: the same key and body give the first answer; another body 422; duplicates make one object."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from marketplace.clock import now
from marketplace.idempotency.services import purge_expired
from marketplace.idempotency.tables import IdempotencyKey
from marketplace.members.tables import Member
from tests.builders import bearer, running_app, token

BODY = {"code": "LHW", "name": "Landeshauptstadt Wiesbaden", "kind": "municipality", "state": "DE-HE"}


def _with_key(value: str, key: str) -> dict[str, str]:
    return {**bearer(value), "Idempotency-Key": key}


async def test_the_same_key_and_body_return_the_first_answer_and_create_once() -> None:
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        first = await client.post("/api/v1/members", headers=_with_key(admin, "k-1"), json=BODY)
        again = await client.post("/api/v1/members", headers=_with_key(admin, "k-1"), json=BODY)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await Member.count().where(Member.code == "LHW") == 1


async def test_the_same_key_with_another_body_answers_422() -> None:
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        await client.post("/api/v1/members", headers=_with_key(admin, "k-2"), json=BODY)
        other = await client.post("/api/v1/members", headers=_with_key(admin, "k-2"), json={**BODY, "code": "LHW2"})
    assert other.status_code == 422
    assert "different request" in other.json()["detail"]


async def test_keys_are_scoped_per_member() -> None:
    hzd = await token("HZD", "member_admin")
    ekom = await token("EKOM21", "member_admin")
    user = {"email": "a@hzd.example", "name": "A", "roles": ["buyer"]}
    async with running_app() as client:
        mine = await client.post("/api/v1/members/HZD/users", headers=_with_key(hzd, "same"), json=user)
        theirs = await client.post(
            "/api/v1/members/EKOM21/users",
            headers=_with_key(ekom, "same"),
            json={**user, "email": "a@ekom21.example"},
        )
    assert (mine.status_code, theirs.status_code) == (201, 201)


async def test_a_refused_request_is_not_remembered() -> None:
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        refused = await client.post(
            "/api/v1/members", headers=_with_key(admin, "k-3"), json={**BODY, "leitweg_id": "04011000-1234512345-07"}
        )
        corrected = await client.post("/api/v1/members", headers=_with_key(admin, "k-3"), json=BODY)
    assert refused.status_code == 422
    assert corrected.status_code == 201


async def test_concurrent_duplicates_create_one_object() -> None:
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        responses = await asyncio.gather(
            *(client.post("/api/v1/members", headers=_with_key(admin, "race"), json=BODY) for _ in range(20))
        )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await Member.count().where(Member.code == "LHW") == 1


async def test_keys_older_than_the_retention_are_purged() -> None:
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        await client.post("/api/v1/members", headers=_with_key(admin, "old"), json=BODY)
    await IdempotencyKey.raw("UPDATE idempotency_keys SET created_at = {}", now() - timedelta(hours=49))
    assert await purge_expired() == 1
    assert await IdempotencyKey.count() == 0


async def test_an_overlong_key_is_refused() -> None:
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        response = await client.post("/api/v1/members", headers=_with_key(admin, "x" * 300), json=BODY)
    assert response.status_code in (400, 422)
    assert await Member.count().where(Member.code == "LHW") == 0
