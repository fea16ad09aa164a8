"""End to end in a real headless Chromium (Debian's ``chromium``), driven by Playwright."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from marketplace.app import create_app
from tests.builders import settings
from tests.live_server import live_server
from tests.web import scenario

pytestmark = pytest.mark.browser


async def test_provider_publishes_buyer_requests_provider_accepts_accountant_settles(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    users = await scenario.Users.make()
    async with live_server(create_app(settings())) as base_url, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=scenario.CHROMIUM, args=scenario.CHROMIUM_ARGS)
        try:
            made = await scenario.run(browser, base_url, users, shots=tmp_path)
        finally:
            await browser.close()
    assert made["reference"].startswith("AGR-")
    assert "open Assets:Receivable:HZD EUR" in made["ledger"]
    # The member's part: its settlement with the provider, none of the provider's own accounts.
    assert made["settlement"] in made["ledger"]
    assert "Assets:Receivable:KDZ-MZ" in made["coop_ledger"]
    assert "Assets:Receivable:KDZ-MZ" not in made["ledger"]
    assert re.fullmatch(r"S-\d{4}-\d{6}", made["settlement"])
    assert made["settlement"] in made["coop_ledger"]
    assert "Liabilities:Payable:KDZ-MZ" in made["coop_ledger"]
    assert (tmp_path / "02-katalog.png").stat().st_size > 10_000
