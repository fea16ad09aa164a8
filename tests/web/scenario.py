"""The browser scenario of issue 8, shared by the end-to-end test and the screenshot script.

A provider publishes an offer, a buyer finds and requests it, the provider accepts, the buyer sees the agreement
and the termination date, the cooperative's accountant settles the month that has ended and downloads the
ledger, the member's accountant reads its balances and downloads its part, another member's user gets the 404
page.

The agreement accepted in the browser starts today, so it can be settled only after this month has ended. The
month that is settled therefore charges the same offer between the same members under an agreement that began on
the first day of last month: the cooperative's admin records it through the API, as it records agreements made by
letter before the exchange (``POST /api/v1/agreements``, start in the past).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from playwright.async_api import Browser, Page, expect

from marketplace.auth import Actor, Role
from marketplace.clock import today
from marketplace.settlement import jobs
from tests.builders import bearer, member, token
from tests.conftest import TEST_REDIS_URL
from tests.web.helpers import PASSWORD, web_user

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OFFER_TITLE = "Georedundantes Backup für Fachverfahren"


class Users:
    """The scenario's users (e-mail addresses; every password is ``PASSWORD``)."""

    provider: str
    buyer: str
    accountant: str
    admin: str
    stranger: str
    coop_accountant: str
    coop_admin_token: str

    @classmethod
    async def make(cls) -> Users:
        users = cls()
        await member("KOPIT")
        users.provider = await web_user("KDZ-MZ", Role.provider, email="angebote@kdz-mainz.example")
        users.buyer = await web_user("HZD", Role.buyer, email="einkauf@hzd.example")
        users.accountant = await web_user("HZD", Role.accountant, email="rechnungswesen@hzd.example")
        users.admin = await web_user("HZD", Role.member_admin, email="admin@hzd.example")
        users.stranger = await web_user("GU-FFM", Role.buyer, email="einkauf@uni-frankfurt.example")
        users.coop_accountant = await web_user("KOPIT", Role.coop_accountant, email="buchhaltung@kopit-eg.example")
        users.coop_admin_token = await token("KOPIT", Role.coop_admin)
        return users


async def _signed_in(browser: Browser, base_url: str, email: str, **context: Any) -> Page:
    page = await (await browser.new_context(base_url=base_url, locale="de-DE", **context)).new_page()
    await page.goto("/anmelden")
    await page.get_by_label("E-Mail-Adresse", exact=True).fill(email)
    await page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Anmelden").click()
    await expect(page.get_by_role("heading", name="Katalog", level=1)).to_be_visible()
    return page


async def _shot(page: Page, shots: Path | None, name: str) -> None:
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


async def run(browser: Browser, base_url: str, users: Users, shots: Path | None = None) -> dict[str, str]:
    """Play the scenario; answers what it made (the agreement's id and reference, the ledger's text)."""
    # The sign-in page, as a first-time visitor sees it.
    anonymous = await (await browser.new_context(base_url=base_url, locale="de-DE")).new_page()
    await anonymous.goto("/katalog")
    await expect(anonymous).to_have_url(re.compile(r"/anmelden\?weiter=/katalog$"))
    await _shot(anonymous, shots, "01-anmelden")

    # A provider creates and publishes an offer.
    provider = await _signed_in(browser, base_url, users.provider)
    await provider.get_by_role("link", name="Anbieter").click()
    await provider.get_by_role("link", name="Neues Angebot").click()
    await provider.get_by_label("Titel", exact=True).fill(OFFER_TITLE)
    await provider.get_by_label("Beschreibung", exact=True).fill(
        "Tägliche Sicherung Ihrer Fachverfahren in den Rechenzentren Mainz und Frankfurt, 30 Tage Aufbewahrung."
    )
    await provider.get_by_label("Kategorie", exact=True).select_option("hosting")
    await provider.get_by_label("Einheit", exact=True).fill("TB-Monat")
    await provider.get_by_label("Preis je Einheit in € (netto)", exact=True).fill("1.234,50")
    await provider.get_by_label("Kapazität in Einheiten (leer: unbegrenzt)", exact=True).fill("20")
    await provider.get_by_label("Kündigungsfrist in Monaten", exact=True).fill("3")
    await provider.get_by_label("Service-Level (optional)", exact=True).fill(
        "Verfügbarkeit 99,9 % im Monat, Wiederherstellung in 4 h."
    )
    await provider.get_by_role("button", name="Entwurf anlegen").click()
    await expect(provider.get_by_role("status")).to_contain_text("Entwurf")
    await provider.get_by_role("button", name=f"Veröffentlichen: {OFFER_TITLE}").click()
    await expect(provider.get_by_role("status")).to_contain_text("ist veröffentlicht")

    # A buyer of another member finds the offer and requests it.
    buyer = await _signed_in(browser, base_url, users.buyer)
    await buyer.get_by_label("Suche", exact=True).fill("Backup")
    await buyer.get_by_role("button", name="Suchen").click()
    await expect(buyer.get_by_text("1.234,50\u00a0€")).to_be_visible()
    await _shot(buyer, shots, "02-katalog")
    await buyer.get_by_role("link", name=OFFER_TITLE).click()
    await expect(buyer.get_by_role("heading", name=OFFER_TITLE)).to_be_visible()
    offer_id = buyer.url.rstrip("/").rsplit("/", 1)[-1]
    await buyer.get_by_label("Menge (TB-Monat)", exact=True).fill("2")
    await _shot(buyer, shots, "03-angebot")
    await buyer.get_by_role("button", name="Anfrage senden").click()
    await expect(buyer.get_by_role("heading", name="Mein Bereich")).to_be_visible()
    await expect(buyer.get_by_role("cell", name="Eingereicht")).to_be_visible()

    # The provider accepts.
    await provider.goto("/anbieter")
    await expect(provider.get_by_role("cell", name="HZD")).to_be_visible()
    await _shot(provider, shots, "04-anbieter")
    await provider.get_by_role("button", name="Annehmen").click()
    await expect(provider.get_by_role("status")).to_contain_text("Angenommen: Vereinbarung AGR-")

    # The buyer sees the agreement, its charges and the earliest end date before terminating.
    await buyer.reload()
    await expect(buyer.get_by_text("2.469,00\u00a0€ netto je Monat")).to_be_visible()
    await _shot(buyer, shots, "05-mein-bereich")
    await buyer.get_by_role("link", name=re.compile(r"^AGR-")).click()
    agreement_url = buyer.url
    reference = (await buyer.get_by_role("heading", level=1).inner_text()).removeprefix("Vereinbarung ")
    await _shot(buyer, shots, "06-vereinbarung")
    await buyer.get_by_role("link", name="Vereinbarung kündigen …").click()
    earliest = await buyer.locator("#fruehestes-ende").inner_text()
    assert re.fullmatch(r"\d{2}\.\d{2}\.\d{4}", earliest)
    await _shot(buyer, shots, "07-kuendigen")

    # The cooperative's accountant settles last month and downloads the whole ledger.
    period = await _record_last_months_agreement(base_url, users, offer_id)
    settlement_number, coop_ledger_text = await _settle(browser, base_url, users, period, shots)

    # The member's accountant reads the statement and downloads the ledger.
    accountant = await _signed_in(browser, base_url, users.accountant)
    await accountant.get_by_role("link", name="Abrechnung").click()
    await expect(accountant.get_by_role("heading", name="Kontoauszug von HZD")).to_be_visible()
    await expect(accountant.locator("#verlauf-tabelle")).to_contain_text("2.469,00\u00a0€")
    await _shot(accountant, shots, "08-abrechnung")
    async with accountant.expect_download() as download_info:
        await accountant.get_by_role("link", name="Hauptbuch (.beancount) herunterladen").click()
    download = await download_info.value
    assert download.suggested_filename == "ledger-HZD.beancount"
    ledger_text = Path(await download.path()).read_text(encoding="utf-8")

    # On a phone the member's accountant reads the settlement: the page reflows, only its tables scroll.
    phone_accountant = await _signed_in(browser, base_url, users.accountant, viewport={"width": 390, "height": 844})
    await phone_accountant.goto(f"/abrechnung/abrechnungen/{settlement_number}")
    await expect(phone_accountant.get_by_role("heading", name=f"Abrechnung {settlement_number}")).to_be_visible()
    assert await phone_accountant.evaluate("document.documentElement.scrollWidth") <= 390
    await _shot(phone_accountant, shots, "17-abrechnung-schmal")

    # The member's admin sees its users and can create password links.
    admin = await _signed_in(browser, base_url, users.admin)
    await admin.get_by_role("link", name="Verwaltung").click()
    await admin.get_by_role("link", name="Benutzer verwalten").click()
    await _shot(admin, shots, "09-verwaltung")

    # A user of another member cannot open the agreement.
    stranger = await _signed_in(browser, base_url, users.stranger)
    response = await stranger.goto(agreement_url)
    assert response is not None and response.status == 404
    await expect(stranger.get_by_role("heading", name="Nicht gefunden")).to_be_visible()
    assert reference not in await stranger.content()

    # Narrow screens: the catalogue on a phone.
    phone = await _signed_in(browser, base_url, users.buyer, viewport={"width": 390, "height": 844})
    await _shot(phone, shots, "10-katalog-schmal")
    return {
        "agreement_url": agreement_url,
        "reference": reference,
        "ledger": ledger_text,
        "settlement": settlement_number,
        "coop_ledger": coop_ledger_text,
    }


async def _record_last_months_agreement(base_url: str, users: Users, offer_id: str) -> str:
    """The cooperative's admin records the members' agreement on the offer since the 1st of last month; the month."""
    first = (today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    body = {"offer_id": offer_id, "provider": "KDZ-MZ", "consumer": "HZD", "quantity": 2, "start_date": str(first)}
    async with httpx.AsyncClient(base_url=base_url) as api:
        response = await api.post("/api/v1/agreements", headers=bearer(users.coop_admin_token), json=body)
    assert response.status_code == 201, response.text
    return f"{first.year:04d}-{first.month:02d}"


async def _settle(browser: Browser, base_url: str, users: Users, period: str, shots: Path | None) -> tuple[str, str]:
    """Run the settlement of ``period`` in the browser and open it; its number and the whole ledger's text."""
    coop = await _signed_in(browser, base_url, users.coop_accountant)
    await coop.get_by_role("link", name="Abrechnung", exact=True).click()
    await coop.get_by_role("link", name="Abrechnungsläufe").click()
    await expect(coop.get_by_label("Abrechnungsmonat")).to_have_value(period)
    await coop.get_by_role("button", name="Abrechnungslauf starten").click()
    # The message shows on the first view only; the page then reloads itself every 3 seconds until the run
    # (on a worker, or a task of the app) has finished.
    await expect(coop.get_by_role("status")).to_contain_text("wurde gestartet")
    if TEST_REDIS_URL:
        # The app queued the run for a worker; the test does the worker's part, as a worker's job would.
        await jobs.run_here(UUID(coop.url.rsplit("/", 1)[1]), Actor(label="tests:worker"), jobs.Timing())
    await expect(coop.locator("#lauf-status")).to_have_text("Abgeschlossen", timeout=30_000)
    await _shot(coop, shots, "11-abrechnungslauf")
    await coop.get_by_role("link", name=re.compile(r"^Abrechnungen von ")).click()
    await coop.get_by_role("link", name=re.compile(r"^S-\d{4}-\d{6}$")).click()
    number = (await coop.get_by_role("heading", level=1).inner_text()).removeprefix("Abrechnung ")
    await expect(coop.get_by_role("cell", name="2.469,00\u00a0€").first).to_be_visible()
    await _shot(coop, shots, "12-abrechnung")
    await coop.get_by_role("link", name="Offene Posten").click()
    await expect(coop.get_by_role("link", name=number).first).to_be_visible()
    await _shot(coop, shots, "13-offene-posten")
    await coop.get_by_role("link", name="Verrechnung").click()
    await coop.get_by_role("button", name="Verrechnung buchen").click()
    await expect(coop.get_by_role("heading", level=1)).to_contain_text("Verrechnung zum")
    await _shot(coop, shots, "14-verrechnung")
    await coop.get_by_role("link", name="Perioden").click()
    await coop.get_by_role("button", name="Hauptbuch prüfen (Hash-Kette)").click()
    await expect(coop.locator("#pruefergebnis")).to_contain_text("Das Hauptbuch ist unverändert")
    await _shot(coop, shots, "15-perioden")
    await coop.get_by_role("link", name="Kontostände").click()
    await coop.get_by_label("Mitglied").select_option("HZD")
    await coop.get_by_role("button", name="Anzeigen", exact=True).click()
    await expect(coop.locator("#verlauf-tabelle")).to_contain_text("2.469,00\u00a0€")
    await _shot(coop, shots, "16-kontostaende")
    await coop.get_by_label("Mitglied").select_option("")
    await coop.get_by_role("button", name="Anzeigen", exact=True).click()
    async with coop.expect_download() as download_info:
        await coop.get_by_role("link", name="Hauptbuch (.beancount) herunterladen").click()
    download = await download_info.value
    ledger_text = Path(await download.path()).read_text(encoding="utf-8")
    return number, ledger_text
