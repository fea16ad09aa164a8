"""Abrechnung for accountants: runs, settlements and documents, open items, bank import, netting, periods.

February 2025 is settled as in tests/settlement/scenario.py: S-2025-000001 EKOM21 → HZD 59,50 €,
S-2025-000002 KDZ-MZ → HZD 558,68 €. Every page follows the API's roles and tenancy.
"""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from uuid import UUID

import httpx
import pytest

import ledger
from marketplace.clock import today
from marketplace.members.tables import Member
from marketplace.reconciliation.tables import BankStatement, NettingRun
from marketplace.settlement import jobs
from marketplace.settlement import services as settlement
from marketplace.settlement.tables import Settlement, SettlementRun
from marketplace.web.accounting_pages import CHART_TOP, chart_of, month_ends, previous_period
from tests.conftest import TEST_REDIS_URL
from tests.reconciliation.helpers import KDZ_IBAN, STRANGER_IBAN, Entry, Statement, camt053
from tests.settlement.helpers import LEITWEG_HZD, RUNNER, Exchange
from tests.settlement.scenario import PERIOD, february
from tests.web.helpers import csrf, post_form, sign_in, web_client, web_user

EKOM_SETTLEMENT = "S-2025-000001"
KDZ_SETTLEMENT = "S-2025-000002"
COOP = ("coop_admin", "coop_accountant", "auditor")
#: page → the roles that open it (the others answer the 403 page).
PAGES = {
    "/abrechnung/laeufe": COOP,
    "/abrechnung/abrechnungen": (*COOP, "accountant"),
    "/abrechnung/offene-posten": (*COOP, "accountant"),
    "/abrechnung/bank": COOP,
    "/abrechnung/verrechnung": COOP,
    "/abrechnung/perioden": (*COOP, "accountant"),
}
ROLES = ("coop_admin", "coop_accountant", "auditor", "accountant", "buyer", "provider", "member_admin")


async def settled_february(client: httpx.AsyncClient, *, run: bool = True) -> Exchange:
    """The members with their IBANs, February 2025's agreements, and (unless ``run`` is false) the month settled."""
    exchange = await Exchange.make()
    await Member.update({Member.iban: KDZ_IBAN}).where(Member.code == "KDZ-MZ")
    await february(client, exchange)
    if run:
        await settlement.run_period(PERIOD, RUNNER)
    return exchange


async def signed_in(client: httpx.AsyncClient, code: str, *roles: str) -> None:
    await sign_in(client, await web_user(code, *roles))


async def settlement_status(number: str) -> str:
    row = await Settlement.select(Settlement.status).where(Settlement.number == number).first()
    assert row is not None
    return str(row["status"])


# --- roles ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
async def test_each_accounting_page_opens_for_its_roles_only(role: str) -> None:
    await Exchange.make()
    code = "KOPIT" if role in COOP else "HZD"
    async with web_client() as client:
        await signed_in(client, code, role)
        for path, allowed in PAGES.items():
            response = await client.get(path)
            assert response.status_code == (200 if role in allowed else 403), (role, path)
            if role not in allowed:
                assert "Keine Berechtigung" in response.text


async def test_the_sections_navigation_shows_a_member_accountant_only_its_pages() -> None:
    await Exchange.make()
    async with web_client() as client:
        await signed_in(client, "HZD", "accountant")
        page = (await client.get("/abrechnung")).text
        section = page.split('aria-label="Bereiche der Abrechnung"')[1].split("</nav>")[0]
        for path in ("/abrechnung/abrechnungen", "/abrechnung/offene-posten", "/abrechnung/perioden"):
            assert f'href="{path}"' in section
        for path in ("/abrechnung/laeufe", "/abrechnung/bank", "/abrechnung/verrechnung"):
            assert f'href="{path}"' not in section


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/abrechnung/laeufe", {"period": PERIOD}),
        (f"/abrechnung/abrechnungen/{EKOM_SETTLEMENT}/stornieren", {"reason": "falscher Preis"}),
        ("/abrechnung/verrechnung", {"as_of": "2025-03-31"}),
        ("/abrechnung/perioden/2025-02/abschliessen", {}),
    ],
)
async def test_commands_are_refused_to_every_role_but_the_cooperatives_accountant(
    path: str, data: dict[str, str]
) -> None:
    async with web_client() as client:
        await settled_february(client)
        await signed_in(client, "KOPIT", "coop_admin", "auditor")
        refused = await post_form(client, path, data)
        assert refused.status_code == 403
        assert "Keine Berechtigung" in refused.text
    assert await settlement_status(EKOM_SETTLEMENT) == "booked"
    assert await SettlementRun.count() == 1
    assert await NettingRun.count() == 0
    assert await _closed() == []


# --- settlement runs --------------------------------------------------------------------------------------


async def test_the_cooperatives_accountant_settles_a_month_with_the_form() -> None:
    async with web_client() as client:
        await settled_february(client, run=False)
        await signed_in(client, "KOPIT", "coop_accountant")
        started = await post_form(client, "/abrechnung/laeufe", {"period": PERIOD}, page="/abrechnung/laeufe")
        assert started.status_code == 303
        assert re.fullmatch(r"/abrechnung/laeufe/[0-9a-f-]{36}", started.headers["location"])
        page = await finished_run_page(client, started.headers["location"])
        assert "Abrechnungslauf Feb. 2025" in page.text
        assert "Abgeschlossen" in page.text
        # February's five agreements (the sixth starts in March) are all processed.
        assert '<progress id="fortschritt" max="5" value="5">' in page.text
        assert "618,18\u00a0€" in page.text  # the month's gross
        assert 'http-equiv="refresh"' not in page.text
        listed = await client.get("/abrechnung/laeufe")
        assert started.headers["location"] in listed.text
    assert await Settlement.count() == 2


async def finished_run_page(client: httpx.AsyncClient, path: str) -> httpx.Response:
    """The run's page once the run has finished (a task of the app, or, with Redis, queued for a worker)."""
    if TEST_REDIS_URL:
        # The app queued the run for a worker; the test does the worker's part, as a worker's job would.
        await jobs.run_here(UUID(path.rsplit("/", 1)[1]), RUNNER, jobs.Timing())
    for _ in range(50):
        page = await client.get(path)
        if 'http-equiv="refresh"' not in page.text:
            return page
        await asyncio.sleep(0.2)
    raise AssertionError(f"the run at {path} did not finish")


async def test_a_month_that_has_not_ended_is_refused_with_a_german_message() -> None:
    async with web_client() as client:
        await settled_february(client, run=False)
        await signed_in(client, "KOPIT", "coop_accountant")
        this_month = today().strftime("%Y-%m")
        refused = await post_form(client, "/abrechnung/laeufe", {"period": this_month})
        assert refused.headers["location"] == "/abrechnung/laeufe"
        page = await client.get("/abrechnung/laeufe")
        assert "Dieser Monat ist noch nicht zu Ende" in page.text
        bad = await post_form(client, "/abrechnung/laeufe", {"period": "Februar"})
        assert bad.status_code == 303
        assert "Format JJJJ-MM" in (await client.get("/abrechnung/laeufe")).text
    assert await SettlementRun.count() == 0


async def test_the_runs_page_lists_the_latest_run_first() -> None:
    await Exchange.make()
    older, _ = await settlement.create_run("2025-01", RUNNER)
    newer, _ = await settlement.create_run("2025-02", RUNNER)
    async with web_client() as client:
        await signed_in(client, "KOPIT", "auditor")
        page = (await client.get("/abrechnung/laeufe")).text
        assert page.index(f"/abrechnung/laeufe/{newer}") < page.index(f"/abrechnung/laeufe/{older}")
        assert "Monat abrechnen" not in page  # only the cooperative's accountant starts runs


async def test_the_page_of_a_running_run_shows_its_progress_and_reloads_itself() -> None:
    await Exchange.make()
    run_id, _ = await settlement.create_run(previous_period(today()), RUNNER)
    async with web_client() as client:
        await signed_in(client, "KOPIT", "auditor")
        page = await client.get(f"/abrechnung/laeufe/{run_id}")
        assert page.status_code == 200
        assert '<meta http-equiv="refresh" content="3">' in page.text
        assert "Läuft" in page.text
        assert "<progress" in page.text
        assert (await client.get("/abrechnung/laeufe/00000000-0000-0000-0000-000000000000")).status_code == 404


# --- settlements -------------------------------------------------------------------------------------------


async def test_a_settlement_page_shows_parties_lines_totals_and_its_documents() -> None:
    async with web_client() as client:
        await settled_february(client)
        await signed_in(client, "HZD", "accountant")
        page = await client.get(f"/abrechnung/abrechnungen/{KDZ_SETTLEMENT}")
        assert page.status_code == 200
        parties = ("Kommunale Datenzentrale Mainz (KDZ-MZ)", "Hessische Zentrale für Datenverarbeitung (HZD)")
        leitweg = f"Leitweg-ID {LEITWEG_HZD}"
        for text in (*parties, leitweg, "Feb. 2025", "493,81\u00a0€", "64,87\u00a0€", "558,68\u00a0€", "12,5 TB"):
            assert text in page.text, text
        assert "stornieren" not in page.text  # only the cooperative's accountant reverses
        pdf = await client.get(f"/abrechnung/abrechnungen/{KDZ_SETTLEMENT}/dokument.pdf")
        assert pdf.status_code == 200
        assert pdf.content.startswith(b"%PDF")
        xml = await client.get(f"/abrechnung/abrechnungen/{KDZ_SETTLEMENT}/xrechnung.xml")
        assert xml.status_code == 200
        assert b"CrossIndustryInvoice" in xml.content
        assert b"558.68" in xml.content


async def test_a_member_accountant_lists_its_settlements_and_gets_404_for_another_members() -> None:
    async with web_client() as client:
        await settled_february(client)
        await signed_in(client, "EKOM21", "accountant")
        listed = await client.get("/abrechnung/abrechnungen")
        assert EKOM_SETTLEMENT in listed.text
        assert KDZ_SETTLEMENT not in listed.text
        for path in ("", "/dokument.pdf", "/xrechnung.xml"):
            refused = await client.get(f"/abrechnung/abrechnungen/{KDZ_SETTLEMENT}{path}")
            assert refused.status_code == 404, path
            assert "Nicht gefunden" in refused.text
            assert "558,68" not in refused.text
        assert (await client.get("/abrechnung/abrechnungen?mitglied=KDZ-MZ")).status_code == 404


async def test_the_cooperative_filters_settlements_by_month_and_member() -> None:
    async with web_client() as client:
        await settled_february(client)
        await signed_in(client, "KOPIT", "auditor")
        by_member = await client.get("/abrechnung/abrechnungen", params={"mitglied": "KDZ-MZ"})
        assert KDZ_SETTLEMENT in by_member.text
        assert EKOM_SETTLEMENT not in by_member.text
        other_month = await client.get("/abrechnung/abrechnungen", params={"zeitraum": "2025-03"})
        assert "Keine Abrechnungen gefunden." in other_month.text
        bad_month = await client.get("/abrechnung/abrechnungen", params={"zeitraum": "Februar"})
        assert bad_month.status_code == 200
        assert "Bitte geben Sie den Monat im Format JJJJ-MM an." in bad_month.text


async def test_a_reversal_without_a_reason_is_refused_and_changes_nothing() -> None:
    async with web_client() as client:
        await settled_february(client)
        await signed_in(client, "KOPIT", "coop_accountant")
        page = f"/abrechnung/abrechnungen/{EKOM_SETTLEMENT}"
        refused = await post_form(client, f"{page}/stornieren", {"reason": "   "}, page=page)
        assert refused.headers["location"] == page
        assert "Bitte geben Sie eine Begründung" in (await client.get(page)).text
        assert await settlement_status(EKOM_SETTLEMENT) == "booked"


async def test_the_cooperatives_accountant_reverses_a_settlement_with_a_reason() -> None:
    async with web_client() as client:
        await settled_february(client)
        await signed_in(client, "KOPIT", "coop_accountant")
        page = f"/abrechnung/abrechnungen/{EKOM_SETTLEMENT}"
        done = await post_form(client, f"{page}/stornieren", {"reason": "Preis falsch erfasst"}, page=page)
        assert done.status_code == 303
        shown = (await client.get(page)).text
        assert "wurde storniert" in shown
        assert "Preis falsch erfasst" in shown
        again = await post_form(client, f"{page}/stornieren", {"reason": "noch einmal"}, page=page)
        assert again.status_code == 303
        assert "nicht möglich" in (await client.get(page)).text
    assert await settlement_status(EKOM_SETTLEMENT) == "reversed"


# --- open items, chart --------------------------------------------------------------------------------------


async def test_open_items_are_shown_in_their_age_buckets() -> None:
    async with web_client() as client:
        await settled_february(client)
        await signed_in(client, "HZD", "accountant")
        # Due at the end of February: on 15 April they are 46 days old.
        page = await client.get("/abrechnung/offene-posten", params={"stichtag": "2025-04-15"})
        assert page.status_code == 200
        assert "31–60 Tage (46)" in page.text
        assert "618,18\u00a0€" in page.text  # HZD's receivables in all
        assert "über 90 Tage" in page.text
        assert (await client.get("/abrechnung/offene-posten?mitglied=KDZ-MZ")).status_code == 404


async def test_the_balances_page_charts_the_members_last_twelve_month_ends() -> None:
    async with web_client() as client:
        await settled_february(client)
        await signed_in(client, "HZD", "accountant")
        page = (await client.get("/abrechnung")).text
        assert "<svg" in page
        assert '<title id="verlauf-titel">Saldo von HZD zum Monatsende</title>' in page
        table = page.split('id="verlauf-tabelle"')[1].split("</table>")[0]
        rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td class=\"num\">([^<]+)</td></tr>", table)
        ends = month_ends(today())
        assert [row[1] for row in rows] == [day.strftime("%d.%m.%Y") for _, day in ends]
        # February 2025 is older than twelve months and nothing has been paid: 618,18 € at every month end.
        assert {row[2] for row in rows} == {"618,18\u00a0€"}
        assert page.count("<rect ") == 12


def test_the_chart_draws_what_is_owed_above_and_what_is_due_below_the_zero_line() -> None:
    days = month_ends(today(), 3)
    chart = chart_of(
        "HZD",
        [
            (days[0][0], days[0][1], Decimal("100")),
            (days[1][0], days[1][1], Decimal("-50")),
            (days[2][0], days[2][1], Decimal("0")),
        ],
    )
    owes, owed, even = chart.bars
    assert owes.y == CHART_TOP and owes.y + owes.height == chart.zero_y
    assert owed.y == chart.zero_y and owed.height == owes.height // 2
    assert even.height == 0
    assert (chart.highest, chart.lowest) == (Decimal("100"), Decimal("-50"))


async def test_a_month_that_has_not_ended_has_no_close_confirmation() -> None:
    await Exchange.make()
    async with web_client() as client:
        await signed_in(client, "KOPIT", "coop_accountant")
        month = today().strftime("%Y-%m")
        refused = await client.get(f"/abrechnung/perioden/{month}/abschliessen")
        assert refused.headers["location"] == "/abrechnung/perioden"
        assert "noch nicht zu Ende" in (await client.get("/abrechnung/perioden")).text


# --- bank import and assignment -----------------------------------------------------------------------------


def statement_file(*entries: Entry) -> bytes:
    return camt053(Statement(entries=list(entries)))


async def upload(client: httpx.AsyncClient, content: bytes, name: str = "auszug.xml") -> httpx.Response:
    token = await csrf(client, "/abrechnung/bank")
    return await client.post(
        "/abrechnung/bank", data={"_csrf": token}, files={"file": (name, content, "application/xml")}
    )


async def test_a_statement_is_imported_and_an_unmatched_line_assigned_by_hand() -> None:
    async with web_client() as client:
        await settled_february(client)
        await signed_in(client, "KOPIT", "coop_accountant")
        content = statement_file(
            Entry("59.50", reference="BANK-1", remittance="Rechnung Februar", counterparty_iban=STRANGER_IBAN)
        )
        imported = await upload(client, content)
        assert imported.status_code == 303
        page = (await client.get("/abrechnung/bank")).text
        assert "1 neue Umsätze, davon 0 zugeordnet und 1 offen" in page
        assert "Rechnung Februar" in page
        line_id = re.search(r"/abrechnung/bank/umsaetze/([0-9a-f-]{36})/zuordnen", page)
        assert line_id
        path = f"/abrechnung/bank/umsaetze/{line_id.group(1)}/zuordnen"
        unknown = await post_form(client, path, {"settlement": "S-2025-000099"}, page="/abrechnung/bank")
        assert unknown.status_code == 303
        assert "Diese Abrechnung gibt es nicht." in (await client.get("/abrechnung/bank")).text
        assigned = await post_form(client, path, {"settlement": EKOM_SETTLEMENT}, page="/abrechnung/bank")
        assert assigned.status_code == 303
        after = (await client.get("/abrechnung/bank")).text
        assert f"der Abrechnung {EKOM_SETTLEMENT} zugeordnet" in after
        assert "Alle Umsätze dieses Auszugs sind zugeordnet." in after
        items = (await client.get("/abrechnung/offene-posten", params={"mitglied": "HZD"})).text
        assert EKOM_SETTLEMENT not in items.split('<h2 id="posten">')[1].split("Verbindlichkeit")[0]


async def test_a_settlement_page_shows_what_was_paid_and_from_which_bank_line() -> None:
    async with web_client() as client:
        await settled_february(client)
        await signed_in(client, "KOPIT", "coop_accountant")
        before = (await client.get(f"/abrechnung/abrechnungen/{KDZ_SETTLEMENT}")).text
        paid = Entry("558.68", reference="BANK-7", remittance=f"Rechnung {KDZ_SETTLEMENT}")
        assert (await upload(client, statement_file(paid))).status_code == 303
        after = (await client.get(f"/abrechnung/abrechnungen/{KDZ_SETTLEMENT}")).text
    assert "Noch keine Zahlung und keine Verrechnung." in before
    payments = after.split('<h2 id="zahlungen">')[1].split("</section>")[0]
    assert "558,68\u00a0€ von 558,68\u00a0€ – Bezahlt" in payments
    assert "0,00\u00a0€ von 558,68\u00a0€ – Offen" in payments
    assert 'Kontoauszug, Buchung <span class="mono">BANK-7</span>' in payments


async def test_an_upload_without_the_forms_csrf_token_is_refused_and_imports_nothing() -> None:
    async with web_client() as client:
        await settled_february(client)
        await signed_in(client, "KOPIT", "coop_accountant")
        content = statement_file(Entry("59.50", reference="BANK-3"))
        refused = await client.post("/abrechnung/bank", files={"file": ("auszug.xml", content, "application/xml")})
        assert refused.status_code == 403
        assert "Das Formular ist abgelaufen" in refused.text
    assert await BankStatement.count() == 0


async def test_a_statement_whose_balances_disagree_is_named_on_the_page() -> None:
    async with web_client() as client:
        await settled_february(client)
        await signed_in(client, "KOPIT", "coop_accountant")
        content = camt053(Statement(entries=[Entry("59.50", reference="BANK-2")], opening="1000.00", closing="1000.00"))
        await upload(client, content)
        page = (await client.get("/abrechnung/bank")).text
        assert "Die Salden des Auszugs STMT-2025-03-10 stimmen nicht überein" in page
        assert "(Abweichung " in page


async def test_without_a_payee_with_bank_details_the_netting_run_offers_no_payment_file() -> None:
    async with web_client() as client:
        await settled_february(client)
        await Member.update({Member.iban: None}).where(Member.code == "KDZ-MZ")
        await signed_in(client, "KOPIT", "coop_accountant")
        started = await post_form(client, "/abrechnung/verrechnung", {"as_of": "2025-03-31"})
        page = (await client.get(started.headers["location"])).text
        assert "KDZ-MZ: keine IBAN hinterlegt" in page
        assert "zahlungsdatei.xml" not in page
        refused = await client.get(started.headers["location"] + "/zahlungsdatei.xml")
        assert refused.status_code == 303
        assert "keine Auszahlung an einen Empfänger" in (await client.get(refused.headers["location"])).text


async def test_a_file_that_is_no_statement_shows_a_german_error_and_imports_nothing() -> None:
    async with web_client() as client:
        await settled_february(client)
        await signed_in(client, "KOPIT", "coop_accountant")
        refused = await upload(client, b"<kein>Auszug</kein>")
        assert refused.status_code == 303
        assert "kein lesbarer Kontoauszug" in (await client.get("/abrechnung/bank")).text
    assert await BankStatement.count() == 0


# --- netting and the payment file ---------------------------------------------------------------------------


async def test_a_netting_run_proposes_transfers_and_gives_the_sepa_file() -> None:
    async with web_client() as client:
        await settled_february(client)
        await signed_in(client, "KOPIT", "coop_accountant")
        started = await post_form(client, "/abrechnung/verrechnung", {"as_of": "2025-03-31"})
        assert started.status_code == 303
        run_page = started.headers["location"]
        page = (await client.get(run_page)).text
        assert "Verrechnung zum 31.03.2025" in page
        assert "558,68\u00a0€" in page  # to KDZ-MZ
        assert "EKOM21: keine IBAN hinterlegt" in page  # left out of the file
        payments = await client.get(f"{run_page}/zahlungsdatei.xml")
        assert payments.status_code == 200
        assert b"pain.001.001.09" in payments.content
        assert KDZ_IBAN.encode() in payments.content
        assert b"558.68" in payments.content
        assert run_page in (await client.get("/abrechnung/verrechnung")).text


async def test_a_netting_day_in_the_future_is_refused_and_books_nothing() -> None:
    async with web_client() as client:
        await settled_february(client)
        await signed_in(client, "KOPIT", "coop_accountant")
        refused = await post_form(client, "/abrechnung/verrechnung", {"as_of": "2999-01-01"})
        assert refused.headers["location"] == "/abrechnung/verrechnung"
        assert "nicht in der Zukunft" in (await client.get("/abrechnung/verrechnung")).text
    assert await NettingRun.count() == 0


# --- periods ------------------------------------------------------------------------------------------------


async def test_a_period_is_closed_after_confirmation_and_the_ledger_verified() -> None:
    async with web_client() as client:
        await settled_february(client)
        await signed_in(client, "KOPIT", "coop_accountant")
        listed = (await client.get("/abrechnung/perioden")).text
        assert 'href="/abrechnung/perioden/2025-02/abschliessen"' in listed
        confirm = await client.get("/abrechnung/perioden/2025-02/abschliessen")
        assert "Feb. 2025 endgültig abschließen" in confirm.text
        closed = await post_form(client, "/abrechnung/perioden/2025-02/abschliessen", page="/abrechnung/perioden")
        assert closed.headers["location"] == "/abrechnung/perioden"
        page = (await client.get("/abrechnung/perioden")).text
        assert "Feb. 2025 ist abgeschlossen." in page
        assert 'href="/abrechnung/perioden/2025-02/abschliessen"' not in page
        verified = await post_form(client, "/abrechnung/perioden/pruefen", page="/abrechnung/perioden")
        assert verified.status_code == 200
        assert "Das Hauptbuch ist unverändert" in verified.text
    assert any(p.period == "2025-02" for p in await _closed())


async def test_a_month_that_has_not_ended_cannot_be_closed() -> None:
    async with web_client() as client:
        await settled_february(client)
        await signed_in(client, "KOPIT", "coop_accountant")
        month = today().strftime("%Y-%m")
        refused = await post_form(client, f"/abrechnung/perioden/{month}/abschliessen", page="/abrechnung/perioden")
        assert refused.headers["location"] == "/abrechnung/perioden"
        assert "noch nicht zu Ende" in (await client.get("/abrechnung/perioden")).text
    assert await _closed() == []


async def _closed() -> list[ledger.ClosedPeriod]:
    return list(await ledger.closed_periods())
