"""Save screenshots of the main pages under ``docs/screenshots/``: ``python -m tests.web.screenshots``.

Plays the end-to-end scenario (``tests/web/scenario.py``) against a fresh, temporary SQLite database in headless
Chromium (``/usr/bin/chromium``) and writes one PNG per page.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import tests.conftest as harness  # chooses a temporary SQLite database before anything opens one

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


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
        finally:
            await browser.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    finally:
        shutil.rmtree(harness._TMP, ignore_errors=True)
    sys.stdout.write(f"screenshots written to {SHOTS}\n")
