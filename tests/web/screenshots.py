"""Save screenshots of the main pages under ``docs/screenshots/``: ``python -m tests.web.screenshots``.

Plays the end-to-end scenario (``tests/web/scenario.py``) against a fresh, temporary SQLite database in headless
Chromium (``/usr/bin/chromium``) and writes one PNG per page.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import tests.conftest as harness  # chooses a temporary SQLite database before anything opens one

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


async def provider_and_admin_pages(browser: Any, base_url: str, users: Any) -> None:
    """Anbieter (edit an offer, its versions, usage reports) and Verwaltung (new user, API tokens)."""
    import datetime as dt

    from playwright.async_api import expect

    from marketplace.booking import services as booking
    from marketplace.booking.schemas import AgreementImport
    from marketplace.catalogue import services as catalogue
    from marketplace.catalogue.schemas import OfferCreate
    from marketplace.clock import today
    from marketplace.members.tables import Member
    from tests.builders import SYSTEM
    from tests.web import scenario

    provider_id = (await Member.select(Member.id).where(Member.code == "KDZ-MZ").first())["id"]  # type: ignore[index]
    storage = await catalogue.create_offer(
        OfferCreate(
            title="Objektspeicher (S3-kompatibel)",
            description="Speicher im Rechenzentrum Mainz, abgerechnet nach genutzten Terabyte je Monat.",
            category="hosting",
            unit="TB",
            unit_price=Decimal("8.99"),
            pricing="metered",
            tax_treatment="exempt_public_cooperation",
        ),
        provider_id,
        SYSTEM,
    )
    await catalogue.change_offer_status(storage.id, "publish", provider_id, SYSTEM, reason=None, if_match=None)
    start = (today().replace(day=1) - dt.timedelta(days=70)).replace(day=1)
    metered = await booking.import_agreement(
        AgreementImport(offer_id=storage.id, provider="KDZ-MZ", consumer="HZD", quantity=1, start_date=start), SYSTEM
    )

    provider = await scenario._signed_in(browser, base_url, users.provider)
    await provider.goto("/anbieter")
    await provider.get_by_role("link", name=f"Bearbeiten: {scenario.OFFER_TITLE}").click()
    await provider.get_by_label("Preis je Einheit in € (netto)", exact=True).fill("1.199,00")
    await scenario._shot(provider, SHOTS, "20-angebot-bearbeiten")
    await provider.get_by_role("button", name="Änderungen speichern").click()
    await expect(provider.get_by_role("heading", name="Versionen der Konditionen")).to_be_visible()
    await scenario._shot(provider, SHOTS, "21-angebot-versionen")
    await provider.goto(f"/anbieter/nutzung/{metered.id}")
    await provider.get_by_label("Menge in TB", exact=True).fill("12,5")
    await provider.get_by_role("button", name="Nutzung melden").click()
    await expect(provider.get_by_role("status")).to_contain_text("12,5 TB gemeldet")
    await scenario._shot(provider, SHOTS, "22-nutzungsmeldung")

    admin = await scenario._signed_in(browser, base_url, users.admin)
    await admin.goto("/verwaltung/mitglieder/HZD/benutzer/neu")
    await admin.get_by_label("Name", exact=True).fill("Erika Mustermann")
    await admin.get_by_label("E-Mail-Adresse", exact=True).fill("erika.mustermann@hzd.example")
    await admin.get_by_label("Einkauf", exact=True).check()
    await scenario._shot(admin, SHOTS, "23-benutzer-anlegen")
    await admin.goto("/verwaltung/mitglieder/HZD/schluessel")
    await admin.get_by_label("Name des Schlüssels", exact=True).fill("Beschaffungssystem")
    await admin.get_by_role("button", name="Schlüssel anlegen").click()
    await expect(admin.get_by_role("heading", name="Neuer Schlüssel – nur jetzt sichtbar")).to_be_visible()
    await scenario._shot(admin, SHOTS, "24-api-schluessel")


async def main() -> None:
    """Migrate, play the scenario, keep the screenshots."""
    from playwright.async_api import async_playwright

    from marketplace.app import create_app
    from tests.builders import settings
    from tests.live_server import live_server
    from tests.web import scenario

    await harness._migrate()
    users = await scenario.Users.make()
    async with live_server(create_app(settings())) as base_url, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=scenario.CHROMIUM, args=scenario.CHROMIUM_ARGS)
        try:
            await scenario.run(browser, base_url, users, shots=SHOTS)
            await provider_and_admin_pages(browser, base_url, users)
        finally:
            await browser.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    finally:
        shutil.rmtree(harness._TMP, ignore_errors=True)
    sys.stdout.write(f"screenshots written to {SHOTS}\n")
