"""Every change writes an audit event in its own transaction; the trail cannot be edited."""

from __future__ import annotations

import pytest

from marketplace.audit.tables import AuditEvent
from marketplace.db import engine
from tests.builders import bearer, member, running_app, token


async def test_a_suspension_is_audited_with_actor_states_reason_and_request_id() -> None:
    admin = await token("KOPIT", "coop_admin")
    await member("HZD")
    async with running_app() as client:
        response = await client.post(
            "/api/v1/members/HZD/suspend",
            headers={**bearer(admin), "X-Request-ID": "req-audit-0001"},
            json={"reason": "Zahlungsverzug"},
        )
        events = await client.get("/api/v1/audit-events?action=member.suspended", headers=bearer(admin))
    assert response.status_code == 200
    [event] = events.json()["items"]
    assert event["actor"].endswith("@kopit.marketplace.invalid")
    assert event["before"] == {"status": "active"}
    assert event["after"] == {"status": "suspended"}
    assert event["reason"] == "Zahlungsverzug"
    assert event["request_id"] == "req-audit-0001"
    assert event["member"] == "HZD"


async def test_a_refused_change_writes_no_audit_event() -> None:
    admin = await token("KOPIT", "coop_admin")
    await member("HZD")
    before = await AuditEvent.count()
    async with running_app() as client:
        refused = await client.post("/api/v1/members/HZD/reinstate", headers=bearer(admin))
    assert refused.status_code == 409
    assert await AuditEvent.count() == before


async def test_a_member_sees_the_events_on_its_own_objects() -> None:
    own = await token("HZD", "accountant")
    async with running_app() as client:
        response = await client.get("/api/v1/audit-events", headers=bearer(own))
    actions = {item["action"] for item in response.json()["items"]}
    assert {"member.admitted", "user.created", "token.created"} <= actions


async def test_the_auditor_sees_every_members_events() -> None:
    auditor = await token("KOPIT", "auditor")
    await member("HZD")
    await member("EKOM21")
    async with running_app() as client:
        response = await client.get("/api/v1/audit-events?limit=200", headers=bearer(auditor))
    assert {"KOPIT", "HZD", "EKOM21"} <= {item["member"] for item in response.json()["items"]}


async def test_audit_events_page_with_a_cursor() -> None:
    auditor = await token("KOPIT", "auditor")
    for code in ("AAA", "BBB", "CCC"):
        await member(code)
    async with running_app() as client:
        first = await client.get("/api/v1/audit-events?limit=2", headers=bearer(auditor))
        second = await client.get(
            f"/api/v1/audit-events?limit=2&cursor={first.json()['next_cursor']}", headers=bearer(auditor)
        )
    first_ids = {item["id"] for item in first.json()["items"]}
    second_ids = {item["id"] for item in second.json()["items"]}
    assert len(first_ids) == 2
    assert second_ids and not first_ids & second_ids


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET action = 'forged'", "DELETE FROM audit_events"],
    ids=["update", "delete"],
)
async def test_the_database_refuses_to_change_audit_events(statement: str) -> None:
    await member("HZD")
    with pytest.raises(Exception, match="append-only"):
        await engine().run_ddl(statement)
    assert await AuditEvent.count() == 1
