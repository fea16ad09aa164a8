"""The catalogue's tests start with the documented categories (PostgreSQL runs truncate them between tests)."""

from __future__ import annotations

import pytest

from marketplace.catalogue import services


@pytest.fixture(autouse=True)
async def default_categories(clean_database: None) -> None:
    await services.ensure_default_categories()
