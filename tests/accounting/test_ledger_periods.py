"""Periods over HTTP: states and hashes, closing an ended month once, refusing months that have not ended."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from litestar import Litestar, get

import ledger
from ledger import Leg
from marketplace.audit.tables import AuditEvent
from marketplace.errors import EXCEPTION_HANDLERS
from tests.accounting.builders import OCT_31, current_period, journal
from tests.builders import bearer, running_app, token


async def test_closing_an_ended_month_freezes_it_with_its_hash() -> None:
    await journal()
    caller = await token("KOPIT", "coop_accountant")
    async with running_app() as client:
        response = await client.post("/api/v1/ledger/periods/2026-10/close", headers=bearer(caller))
    body = response.json()
    assert response.status_code == 200, response.text
    assert (body["period"], body["state"], body["entry_count"]) == ("2026-10", "closed", 1)
    assert len(body["file_sha256"]) == 64
    assert body["assertions"] == [{"account": "Assets:Receivable:HZD", "currency": "EUR", "balance": "1190.00"}, {
        "account": "Liabilities:Payable:KDZ-MZ", "currency": "EUR", "balance": "-1190.00"}]  # fmt: skip
    closed = await ledger.get_closed_period("2026-10")
    assert closed is not None
    assert closed.file_sha256 == body["file_sha256"]


async def test_closing_a_closed_month_again_answers_it_unchanged() -> None:
    await journal()
    caller = await token("KOPIT", "coop_accountant")
    async with running_app() as client:
        first = await client.post("/api/v1/ledger/periods/2026-10/close", headers=bearer(caller))
        second = await client.post("/api/v1/ledger/periods/2026-10/close", headers=bearer(caller))
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json() == second.json()
    events = await AuditEvent.count().where(AuditEvent.action == "ledger.period_closed")
    assert events == 1


async def test_closing_writes_an_audit_event_with_the_hash() -> None:
    await journal()
    caller = await token("KOPIT", "coop_accountant")
    async with running_app() as client:
        sha = (await client.post("/api/v1/ledger/periods/2026-10/close", headers=bearer(caller))).json()["file_sha256"]
    event = await AuditEvent.select().where(AuditEvent.action == "ledger.period_closed").first()
    assert event is not None
    assert event["subject_id"] == "2026-10"
    assert sha in event["after"]


async def test_closing_a_month_that_has_not_ended_answers_409_with_state_open() -> None:
    await journal()
    caller = await token("KOPIT", "coop_accountant")
    async with running_app() as client:
        response = await client.post(f"/api/v1/ledger/periods/{current_period()}/close", headers=bearer(caller))
    assert response.status_code == 409
    assert response.json()["state"] == "open"
    assert await ledger.get_closed_period(current_period()) is None


@pytest.mark.parametrize("period", ["2026-13", "26-10", "2026-1", "0000-01"])
async def test_a_malformed_period_is_refused_as_bad_input(period: str) -> None:
    caller = await token("KOPIT", "coop_accountant")
    async with running_app() as client:
        response = await client.post(f"/api/v1/ledger/periods/{period}/close", headers=bearer(caller))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "period"


async def test_posting_into_a_closed_month_is_refused_with_409() -> None:
    await journal()
    caller = await token("KOPIT", "coop_accountant")
    async with running_app() as client:
        await client.post("/api/v1/ledger/periods/2026-10/close", headers=bearer(caller))
    with pytest.raises(ledger.PeriodClosed) as refused:
        await ledger.post(
            date=OCT_31,
            narration="late",
            postings=[
                Leg("Assets:Receivable:HZD", Decimal("1.00")),
                Leg("Liabilities:Payable:KDZ-MZ", Decimal("-1.00")),
            ],
            idempotency_key="late",
            actor="tests",
        )
    assert refused.value.http_status == 409


async def test_a_ledger_error_answers_a_problem_with_its_status() -> None:
    @get("/boom")
    async def boom() -> None:
        raise ledger.PeriodClosed("2026-10-31 falls into a closed period")

    app = Litestar(route_handlers=[boom], exception_handlers=EXCEPTION_HANDLERS)
    async with running_app(app) as client:
        response = await client.get("/boom")
    body: dict[str, Any] = response.json()
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (body["type"].rsplit("/", 1)[1], body["state"]) == ("period-closed", "closed")
    assert body["detail"] == "2026-10-31 falls into a closed period"


async def test_a_ledger_error_of_the_server_answers_500_without_internals() -> None:
    @get("/boom")
    async def boom() -> None:
        raise ledger.ExportError("Beancount refuses the export: /tmp/secret/path line 3")

    app = Litestar(route_handlers=[boom], exception_handlers=EXCEPTION_HANDLERS)
    async with running_app(app) as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert "/tmp/secret" not in response.text


async def test_periods_list_months_from_the_first_account_to_this_month() -> None:
    await journal()
    caller = await token("KOPIT", "auditor")
    coop = await token("KOPIT", "coop_accountant")
    async with running_app() as client:
        await client.post("/api/v1/ledger/periods/2026-10/close", headers=bearer(coop))
        body = (await client.get("/api/v1/ledger/periods", headers=bearer(caller))).json()
    states = {item["period"]: item["state"] for item in body["items"]}
    assert states["2026-10"] == "closed"
    assert states[current_period()] == "open"
    assert list(states) == sorted(states)
    assert body["next_cursor"] is None


async def test_periods_are_paged_with_a_cursor() -> None:
    await journal()
    caller = await token("KOPIT", "auditor")
    coop = await token("KOPIT", "coop_accountant")
    async with running_app() as client:
        await client.post("/api/v1/ledger/periods/2026-10/close", headers=bearer(coop))
        first = (await client.get("/api/v1/ledger/periods?limit=1", headers=bearer(caller))).json()
        second = (
            await client.get(f"/api/v1/ledger/periods?limit=1&cursor={first['next_cursor']}", headers=bearer(caller))
        ).json()
    assert first["items"][0]["period"] == "2026-10"
    assert second["items"][0]["period"] > "2026-10"


def test_current_period_is_this_month() -> None:
    assert current_period() == dt.datetime.now(dt.UTC).strftime("%Y-%m")
