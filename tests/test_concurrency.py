"""Invariants hold under real concurrency: the database decides, not the timing."""

from __future__ import annotations

import asyncio

from tests.builders import bearer, member, running_app, token

RACERS = 8


async def test_concurrent_admissions_of_one_code_create_one_member() -> None:
    admin = await token("KOPIT", "coop_admin")
    body = {"code": "LHW", "name": "Landeshauptstadt Wiesbaden", "kind": "municipality", "state": "DE-HE"}
    async with running_app() as client:
        responses = await asyncio.gather(
            *(client.post("/api/v1/members", headers=bearer(admin), json=body) for _ in range(RACERS))
        )
        listed = await client.get("/api/v1/members?limit=200", headers=bearer(admin))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (RACERS - 1)
    assert [m["code"] for m in listed.json()["items"]].count("LHW") == 1


async def test_concurrent_updates_with_the_same_if_match_let_exactly_one_win() -> None:
    admin = await token("KOPIT", "coop_admin")
    await member("HZD")
    async with running_app() as client:
        responses = await asyncio.gather(
            *(
                client.patch(
                    "/api/v1/members/HZD",
                    headers={**bearer(admin), "If-Match": '"1"'},
                    json={"name": f"Name {n}"},
                )
                for n in range(RACERS)
            )
        )
        current = await client.get("/api/v1/members/HZD", headers=bearer(admin))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * (RACERS - 1)
    assert current.json()["version"] == 2


async def test_concurrent_users_with_one_email_create_one_user() -> None:
    admin = await token("HZD", "member_admin")
    body = {"email": "neu@hzd.example", "name": "Neu", "roles": ["buyer"]}
    async with running_app() as client:
        responses = await asyncio.gather(
            *(client.post("/api/v1/members/HZD/users", headers=bearer(admin), json=body) for _ in range(RACERS))
        )
    assert sorted(r.status_code for r in responses) == [201] + [409] * (RACERS - 1)
