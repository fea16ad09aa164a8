"""Who sees which settlement: the cooperative's roles all, a member's accountant those of its member on either
side; another member's settlement answers 404 on every endpoint. Buyers, providers and member admins: 403."""

from __future__ import annotations

import pytest

from tests.builders import bearer, running_app, token
from tests.settlement.helpers import Exchange, run
from tests.settlement.scenario import PERIOD, february

KDZ_HZD = "S-2025-000002"
EKOM_HZD = "S-2025-000001"


async def _settled() -> Exchange:
    exchange = await Exchange.make()
    async with running_app() as client:
        await february(client, exchange)
        await run(client, exchange, PERIOD)
    return exchange


@pytest.mark.parametrize(
    ("code", "visible"),
    [("HZD", {KDZ_HZD, EKOM_HZD}), ("KDZ-MZ", {KDZ_HZD}), ("EKOM21", {EKOM_HZD}), ("GU-FFM", set())],
)
async def test_a_members_accountant_sees_its_settlements_as_consumer_and_as_provider(
    code: str, visible: set[str]
) -> None:
    await _settled()
    accountant = await token(code, "accountant")
    async with running_app() as client:
        listed = await client.get("/api/v1/settlements", headers=bearer(accountant))
        answers = {}
        for number in (KDZ_HZD, EKOM_HZD):
            for suffix in ("", "/document"):
                response = await client.get(f"/api/v1/settlements/{number}{suffix}", headers=bearer(accountant))
                answers[number, suffix] = response.status_code
    assert {item["number"] for item in listed.json()["items"]} == visible
    for (number, _), status in answers.items():
        assert status == (200 if number in visible else 404)


async def test_a_members_accountant_cannot_filter_on_another_member() -> None:
    await _settled()
    accountant = await token("KDZ-MZ", "accountant")
    async with running_app() as client:
        other = await client.get("/api/v1/settlements?member=EKOM21", headers=bearer(accountant))
        own = await client.get("/api/v1/settlements?member=KDZ-MZ", headers=bearer(accountant))
        unknown = await client.get("/api/v1/settlements?member=NOPE", headers=bearer(accountant))
    assert other.status_code == 404
    assert unknown.status_code == 404
    assert [item["number"] for item in own.json()["items"]] == [KDZ_HZD]


@pytest.mark.parametrize("role", ["coop_admin", "coop_accountant", "auditor"])
async def test_the_cooperatives_roles_see_every_settlement_and_filter_by_member_and_period(role: str) -> None:
    await _settled()
    caller = await token("KOPIT", role)
    async with running_app() as client:
        everything = await client.get("/api/v1/settlements", headers=bearer(caller))
        ekom = await client.get("/api/v1/settlements?member=EKOM21", headers=bearer(caller))
        january = await client.get("/api/v1/settlements?period=2025-01", headers=bearer(caller))
        single = await client.get(f"/api/v1/settlements/{KDZ_HZD}", headers=bearer(caller))
    assert {item["number"] for item in everything.json()["items"]} == {KDZ_HZD, EKOM_HZD}
    assert [item["number"] for item in ekom.json()["items"]] == [EKOM_HZD]
    assert january.json()["items"] == []
    assert single.status_code == 200


@pytest.mark.parametrize("role", ["buyer", "provider", "member_admin"])
async def test_other_member_roles_are_refused(role: str) -> None:
    exchange = await _settled()
    caller = await token("HZD", role)
    async with running_app() as client:
        me = bearer(caller)
        answers = [
            await client.get("/api/v1/settlements", headers=me),
            await client.get(f"/api/v1/settlements/{KDZ_HZD}", headers=me),
            await client.get(f"/api/v1/settlements/{KDZ_HZD}/document", headers=me),
            await client.get("/api/v1/settlement-runs/00000000-0000-4000-8000-000000000000", headers=me),
        ]
    assert exchange.admin
    assert [a.status_code for a in answers] == [403, 403, 403, 403]


async def test_a_members_accountant_cannot_read_runs() -> None:
    exchange = await Exchange.make()
    accountant = await token("HZD", "accountant")
    async with running_app() as client:
        await february(client, exchange)
        started = await run(client, exchange, PERIOD)
        response = await client.get(f"/api/v1/settlement-runs/{started['id']}", headers=bearer(accountant))
    assert response.status_code == 403


async def test_pages_follow_the_cursor_without_gaps() -> None:
    exchange = await _settled()
    async with running_app() as client:
        first = (await client.get("/api/v1/settlements?limit=1", headers=bearer(exchange.accountant))).json()
        second = (
            await client.get(
                f"/api/v1/settlements?limit=1&cursor={first['next_cursor']}", headers=bearer(exchange.accountant)
            )
        ).json()
        bad = await client.get("/api/v1/settlements?cursor=zzz", headers=bearer(exchange.accountant))
    assert [i["number"] for i in first["items"] + second["items"]] == [KDZ_HZD, EKOM_HZD]
    assert second["next_cursor"] is None
    assert bad.status_code == 400
