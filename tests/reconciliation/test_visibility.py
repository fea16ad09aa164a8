"""Who may import, read and assign: the cooperative's accountant imports and assigns; the cooperative's roles read
statements; open items are read by the cooperative's roles (all) and by a member's accountant (its own; another
member's answers 404)."""

from __future__ import annotations

import uuid

import pytest

from tests.builders import bearer, running_app, token
from tests.reconciliation.helpers import EKOM_SETTLEMENT, KDZ_SETTLEMENT, Entry, Statement, camt053, settled, upload


@pytest.mark.parametrize(
    ("member", "roles", "post", "get", "assign"),
    [
        ("KOPIT", ("coop_accountant",), 201, 200, 404),
        ("KOPIT", ("coop_admin",), 403, 200, 403),
        ("KOPIT", ("auditor",), 403, 200, 403),
        ("HZD", ("accountant",), 403, 403, 403),
        ("HZD", ("member_admin", "buyer", "provider"), 403, 403, 403),
    ],
)
async def test_roles_for_bank_statements(member: str, roles: tuple[str, ...], post: int, get: int, assign: int) -> None:
    async with running_app() as client:
        await settled(client)
        caller = await token(member, *roles)
        posted = await upload(client, caller, camt053(Statement(entries=[Entry("1.00", "R-1")])))
        listed = await client.get("/api/v1/bank-statements", headers=bearer(caller))
        assigned = await client.post(
            f"/api/v1/bank-statements/lines/{uuid.uuid4()}/assign",
            headers=bearer(caller),
            json={"settlement": KDZ_SETTLEMENT},
        )
        anonymous = await client.get("/api/v1/bank-statements")
    assert (posted.status_code, listed.status_code, assigned.status_code) == (post, get, assign)
    assert anonymous.status_code == 401


async def test_a_members_accountant_sees_only_its_own_open_items() -> None:
    async with running_app() as client:
        await settled(client)
        kdz = await token("KDZ-MZ", "accountant")
        own = await client.get("/api/v1/open-items", headers=bearer(kdz))
        named = await client.get("/api/v1/open-items?member=KDZ-MZ", headers=bearer(kdz))
        other = await client.get("/api/v1/open-items?member=HZD", headers=bearer(kdz))
        unknown = await client.get("/api/v1/open-items?member=NOPE", headers=bearer(kdz))
        buyer = await client.get("/api/v1/open-items", headers=bearer(await token("KDZ-MZ", "buyer")))
        hzd = await client.get("/api/v1/open-items", headers=bearer(await token("HZD", "accountant")))
    assert own.status_code == named.status_code == 200
    assert {(i["settlement"], i["kind"]) for i in own.json()["items"]} == {(KDZ_SETTLEMENT, "payable")}
    assert own.json()["items"] == named.json()["items"]
    assert other.status_code == unknown.status_code == 404
    assert buyer.status_code == 403
    assert {(i["settlement"], i["kind"]) for i in hzd.json()["items"]} == {
        (EKOM_SETTLEMENT, "receivable"),
        (KDZ_SETTLEMENT, "receivable"),
    }


async def test_the_cooperative_reads_every_members_open_items() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        auditor = await token("KOPIT", "auditor")
        everyone = await client.get("/api/v1/open-items", headers=bearer(auditor))
        ekom = await client.get("/api/v1/open-items?member=EKOM21", headers=bearer(exchange.accountant))
    assert len(everyone.json()["items"]) == 4
    assert [(i["settlement"], i["kind"]) for i in ekom.json()["items"]] == [(EKOM_SETTLEMENT, "payable")]
