"""Someone else's IBAN: an IBAN belongs to one member, and a member's own change of IBAN waits for the cooperative's
admin to confirm it; until then bank lines are matched, and payouts made, by the confirmed IBAN only."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from lxml import etree

from marketplace.audit.tables import AuditEvent
from marketplace.clock import now
from marketplace.db import INTEGRITY_ERRORS
from marketplace.events.tables import OutboxEvent
from marketplace.members import services
from marketplace.members.tables import Member
from tests.builders import bearer, member, running_app, token
from tests.reconciliation.helpers import (
    CLEARING_IBAN,
    EKOM_SETTLEMENT,
    HZD_IBAN,
    KDZ_IBAN,
    Entry,
    Statement,
    camt053,
    cycle,
    imported,
    net,
    settled,
)
from tests.web.helpers import post_form, sign_in, web_client, web_user

NEW_IBAN = "DE02500105170137075030"
EKOM_IBAN = "DE12500105170648489890"
IN_USE = "This IBAN is already in use by another member."


async def _admins() -> dict[str, str]:
    """The cooperative's admin and the member admins of HZD and EKOM21 (EKOM21 holding ``EKOM_IBAN``)."""
    await member("KOPIT")
    await member("EKOM21", iban=EKOM_IBAN)
    return {
        "coop": await token("KOPIT", "coop_admin"),
        "HZD": await token("HZD", "member_admin"),
        "EKOM21": await token("EKOM21", "member_admin"),
    }


async def _bank(code: str) -> dict[str, Any]:
    row = await Member.select(Member.iban, Member.pending_iban, Member.version).where(Member.code == code).first()
    assert row is not None
    return dict(row)


async def _propose(client: httpx.AsyncClient, admin: str, code: str, iban: str) -> httpx.Response:
    return await client.patch(f"/api/v1/members/{code}", headers=bearer(admin), json={"iban": iban})


async def _confirm(client: httpx.AsyncClient, admin: str, code: str, iban: str, **headers: str) -> httpx.Response:
    return await client.post(
        f"/api/v1/members/{code}/bank-details/confirm", headers={**bearer(admin), **headers}, json={"iban": iban}
    )


def _in_use(response: httpx.Response) -> None:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == IN_USE
    assert response.json()["errors"] == [{"field": "iban", "message": "already in use by another member"}]


# --- one member per IBAN --------------------------------------------------------------------------------


async def test_another_members_iban_is_refused_without_naming_the_member_and_changes_nothing() -> None:
    admins = await _admins()
    async with running_app() as client:
        refused = await _propose(client, admins["HZD"], "HZD", "de12 5001 0517 0648 4898 90")
    _in_use(refused)
    assert "EKOM21" not in refused.text and "ekom" not in refused.text.lower()
    assert await _bank("HZD") == {"iban": None, "pending_iban": None, "version": 1}


async def test_a_member_cannot_park_another_members_pending_iban() -> None:
    admins = await _admins()
    async with running_app() as client:
        assert (await _propose(client, admins["EKOM21"], "EKOM21", NEW_IBAN)).status_code == 200
        parked = await _propose(client, admins["HZD"], "HZD", NEW_IBAN)
        set_by_coop = await _propose(client, admins["coop"], "HZD", NEW_IBAN)
    _in_use(parked)
    _in_use(set_by_coop)
    assert await _bank("HZD") == {"iban": None, "pending_iban": None, "version": 1}


async def test_admitting_a_member_with_another_members_iban_is_refused() -> None:
    admins = await _admins()
    async with running_app() as client:
        refused = await client.post(
            "/api/v1/members",
            headers=bearer(admins["coop"]),
            json={"code": "WI", "name": "Wiesbaden", "kind": "municipality", "state": "DE-HE", "iban": EKOM_IBAN},
        )
    _in_use(refused)
    assert not await Member.exists().where(Member.code == "WI")


async def test_the_database_keeps_an_iban_to_one_member_across_both_columns() -> None:
    await _admins()
    with pytest.raises(INTEGRITY_ERRORS):
        await Member.update({Member.iban: EKOM_IBAN}).where(Member.code == "HZD")
    with pytest.raises(INTEGRITY_ERRORS):  # the index is on the normalised IBAN
        await Member.update({Member.iban: "de12 5001 0517 0648 4898 90"}).where(Member.code == "HZD")
    with pytest.raises(INTEGRITY_ERRORS):
        await Member.update({Member.pending_iban: EKOM_IBAN}).where(Member.code == "HZD")
    await Member.update({Member.pending_iban: NEW_IBAN, Member.pending_iban_at: now()}).where(Member.code == "EKOM21")
    with pytest.raises(INTEGRITY_ERRORS):
        await Member.update({Member.iban: NEW_IBAN}).where(Member.code == "HZD")
    await Member.update({Member.iban: None}).where(Member.code == "KOPIT")  # many members without an IBAN
    assert await _bank("HZD") == {"iban": None, "pending_iban": None, "version": 1}


@pytest.mark.parametrize("checked_in_code", [True, False], ids=["checked-in-code", "decided-by-the-database"])
@pytest.mark.parametrize("first_writer", ["HZD", "coop"], ids=["two-member-admins", "coop-admin-and-member-admin"])
async def test_two_members_racing_for_one_iban_one_wins_and_the_other_gets_409(
    monkeypatch: pytest.MonkeyPatch, checked_in_code: bool, first_writer: str
) -> None:
    if not checked_in_code:  # both pass the service's check: only the database can tell them apart

        async def passes(*args: object) -> None:
            return None

        monkeypatch.setattr(services, "_refuse_ibans_of_others", passes)
    admins = await _admins()
    async with running_app() as client:
        answers = await asyncio.gather(
            _propose(client, admins[first_writer], "HZD", NEW_IBAN),
            _propose(client, admins["EKOM21"], "EKOM21", NEW_IBAN),
        )
    assert sorted(answer.status_code for answer in answers) == [200, 409], [a.text for a in answers]
    _in_use(next(answer for answer in answers if answer.status_code == 409))
    holders = await Member.select(Member.code).where((Member.iban == NEW_IBAN) | (Member.pending_iban == NEW_IBAN))
    assert len(holders) == 1


# --- pending until confirmed ----------------------------------------------------------------------------


async def test_a_member_admins_new_iban_waits_and_the_member_sees_both() -> None:
    admins = await _admins()
    async with running_app() as client:
        proposed = await _propose(client, admins["EKOM21"], "EKOM21", NEW_IBAN)
        seen_by_itself = (await client.get("/api/v1/members/EKOM21", headers=bearer(admins["EKOM21"]))).json()
        seen_by_other = (await client.get("/api/v1/members/EKOM21", headers=bearer(admins["HZD"]))).json()
    assert proposed.status_code == 200, proposed.text
    assert (seen_by_itself["iban"], seen_by_itself["pending_iban"]) == (EKOM_IBAN, NEW_IBAN)
    assert seen_by_itself["pending_iban_by"] and seen_by_itself["pending_iban_at"]
    assert (seen_by_other["iban"], seen_by_other["pending_iban"], seen_by_other["pending_iban_by"]) == (None,) * 3
    announced = await OutboxEvent.select(OutboxEvent.type).where(OutboxEvent.type == "member.bank_details_proposed")
    assert len(announced) == 2  # the member and the cooperative's office


async def test_confirming_makes_the_pending_iban_the_one_in_use() -> None:
    admins = await _admins()
    async with running_app() as client:
        await _propose(client, admins["EKOM21"], "EKOM21", NEW_IBAN)
        confirmed = await _confirm(
            client, admins["coop"], "EKOM21", "de02 5001 0517 0137 0750 30", **{"If-Match": '"2"'}
        )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.headers["etag"] == '"3"'
    assert (confirmed.json()["iban"], confirmed.json()["pending_iban"]) == (NEW_IBAN, None)
    assert await _bank("EKOM21") == {"iban": NEW_IBAN, "pending_iban": None, "version": 3}
    audited = await AuditEvent.select(AuditEvent.action).where(AuditEvent.action == "member.bank_details_confirmed")
    announced = await OutboxEvent.select(OutboxEvent.type).where(OutboxEvent.type == "member.bank_details_confirmed")
    assert (len(audited), len(announced)) == (1, 2)


async def test_the_cooperative_admins_own_change_takes_effect_at_once_and_drops_a_pending_one() -> None:
    admins = await _admins()
    async with running_app() as client:
        await _propose(client, admins["HZD"], "HZD", NEW_IBAN)
        changed = await _propose(client, admins["coop"], "HZD", HZD_IBAN)
    assert changed.status_code == 200, changed.text
    assert await _bank("HZD") == {"iban": HZD_IBAN, "pending_iban": None, "version": 3}


async def test_a_member_admin_withdraws_its_pending_iban_but_cannot_remove_the_confirmed_one() -> None:
    admins = await _admins()
    async with running_app() as client:
        await _propose(client, admins["EKOM21"], "EKOM21", NEW_IBAN)
        withdrawn = await _propose(client, admins["EKOM21"], "EKOM21", "")
    assert withdrawn.status_code == 200, withdrawn.text
    assert await _bank("EKOM21") == {"iban": EKOM_IBAN, "pending_iban": None, "version": 3}


async def test_confirming_another_iban_than_the_pending_one_answers_409_and_changes_nothing() -> None:
    admins = await _admins()
    async with running_app() as client:
        await _propose(client, admins["HZD"], "HZD", NEW_IBAN)
        refused = await _confirm(client, admins["coop"], "HZD", HZD_IBAN)
    assert refused.status_code == 409, refused.text
    assert await _bank("HZD") == {"iban": None, "pending_iban": NEW_IBAN, "version": 2}


async def test_confirming_without_a_pending_iban_answers_409() -> None:
    admins = await _admins()
    async with running_app() as client:
        refused = await _confirm(client, admins["coop"], "EKOM21", EKOM_IBAN)
    assert refused.status_code == 409, refused.text
    assert await _bank("EKOM21") == {"iban": EKOM_IBAN, "pending_iban": None, "version": 1}


async def test_confirming_with_a_stale_if_match_answers_412_and_changes_nothing() -> None:
    admins = await _admins()
    async with running_app() as client:
        await _propose(client, admins["HZD"], "HZD", NEW_IBAN)
        refused = await _confirm(client, admins["coop"], "HZD", NEW_IBAN, **{"If-Match": '"1"'})
    assert refused.status_code == 412, refused.text
    assert await _bank("HZD") == {"iban": None, "pending_iban": NEW_IBAN, "version": 2}


@pytest.mark.parametrize("caller", ["HZD", "EKOM21", "coop_accountant"])
async def test_only_the_cooperatives_admin_confirms(caller: str) -> None:
    admins = await _admins()
    admins["coop_accountant"] = await token("KOPIT", "coop_accountant")
    async with running_app() as client:
        await _propose(client, admins["HZD"], "HZD", NEW_IBAN)
        refused = await _confirm(client, admins[caller], "HZD", NEW_IBAN)
    assert refused.status_code == 403, refused.text
    assert await _bank("HZD") == {"iban": None, "pending_iban": NEW_IBAN, "version": 2}


async def test_confirming_an_unknown_member_answers_404() -> None:
    admins = await _admins()
    async with running_app() as client:
        missing = await _confirm(client, admins["coop"], "NIEMAND", NEW_IBAN)
    assert missing.status_code == 404


async def test_the_openapi_document_shows_the_confirmation() -> None:
    async with running_app() as client:
        document = (await client.get("/schema/openapi.json")).json()
    operation = document["paths"]["/api/v1/members/{code}/bank-details/confirm"]["post"]
    assert operation["operationId"] == "confirmBankDetails"
    assert {"200", "403", "404", "409", "412"} <= set(operation["responses"])


# --- matching and payouts use the confirmed IBAN --------------------------------------------------------


async def test_a_payment_from_a_pending_iban_is_not_matched_and_after_confirmation_it_is() -> None:
    async with running_app() as client:
        exchange = await settled(client)  # HZD pays from HZD_IBAN; S-2025-000001 owes 59.50
        hzd_admin = await token("HZD", "member_admin")
        assert (await _propose(client, hzd_admin, "HZD", NEW_IBAN)).status_code == 200
        from_pending = Entry("59.50", "R-1", "Februar", counterparty_iban=NEW_IBAN)
        before = await imported(client, exchange, camt053(Statement(entries=[from_pending])))
        assert (await _confirm(client, exchange.admin, "HZD", NEW_IBAN)).status_code == 200
        from_confirmed = Entry("59.50", "R-2", "Februar", counterparty_iban=NEW_IBAN, booked="2025-03-11")
        after = await imported(
            client,
            exchange,
            camt053(Statement(entries=[from_confirmed], identifier="STMT-2", opening="1059.50", day="2025-03-11")),
        )
    [unmatched] = before["lines"]
    assert (unmatched["status"], unmatched["allocations"]) == ("unmatched", [])
    [matched] = after["lines"]
    assert [(a["settlement"], a["method"]) for a in matched["allocations"]] == [(EKOM_SETTLEMENT, "amount_and_iban")]


async def test_a_payout_goes_to_the_confirmed_iban_while_a_new_one_is_pending() -> None:
    async with running_app() as client:
        exchange, _ = await cycle(client)  # KDZ-MZ is owed 70.00 after netting, paid to KDZ_IBAN
        kdz_admin = await token("KDZ-MZ", "member_admin")
        assert (await _propose(client, kdz_admin, "KDZ-MZ", NEW_IBAN)).status_code == 200
        created = await net(client, exchange.accountant)
        payments = await client.get(
            f"/api/v1/netting-runs/{created.json()['id']}/payments.xml", headers=bearer(exchange.accountant)
        )
    assert payments.status_code == 200, payments.text
    ibans = etree.fromstring(payments.content).xpath("//*[local-name()='CdtrAcct']//*[local-name()='IBAN']/text()")
    assert ibans == [KDZ_IBAN]
    assert CLEARING_IBAN in payments.text and NEW_IBAN not in payments.text


# --- the web page ---------------------------------------------------------------------------------------


async def test_the_cooperatives_admin_sees_a_pending_iban_and_confirms_it_on_the_page() -> None:
    admins = await _admins()
    coop = await web_user("KOPIT", "coop_admin")
    async with web_client() as client:
        await _propose(client, admins["HZD"], "HZD", NEW_IBAN)
        await sign_in(client, coop)
        page = await client.get("/verwaltung")
        assert "Offene Änderungen der Bankverbindung" in page.text and NEW_IBAN in page.text
        assert "Bankverbindung bestätigen" in page.text
        confirmed = await post_form(
            client, "/verwaltung/mitglieder/HZD/bankverbindung", {"iban": NEW_IBAN, "version": "2"}, page="/verwaltung"
        )
        after = await client.get(confirmed.headers["location"])
    assert confirmed.status_code == 303, confirmed.text
    assert "Die Bankverbindung von HZD ist bestätigt" in after.text
    assert "Offene Änderungen der Bankverbindung" not in after.text
    assert await _bank("HZD") == {"iban": NEW_IBAN, "pending_iban": None, "version": 3}


async def test_a_member_admin_neither_sees_nor_confirms_pending_ibans_on_the_page() -> None:
    admins = await _admins()
    hzd = await web_user("HZD", "member_admin")
    async with web_client() as client:
        await _propose(client, admins["HZD"], "HZD", NEW_IBAN)
        await sign_in(client, hzd)
        page = await client.get("/verwaltung")
        refused = await post_form(
            client, "/verwaltung/mitglieder/HZD/bankverbindung", {"iban": NEW_IBAN, "version": "2"}, page="/verwaltung"
        )
    assert "Bankverbindung bestätigen" not in page.text
    assert refused.status_code == 403
    assert await _bank("HZD") == {"iban": None, "pending_iban": NEW_IBAN, "version": 2}
