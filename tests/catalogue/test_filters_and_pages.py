"""Filters, sort orders and cursor pages of the catalogue."""

from __future__ import annotations

from tests.builders import bearer, running_app, token
from tests.catalogue.helpers import create_offer, titles


async def _catalogue(client, kdz: str, ekom: str) -> None:  # type: ignore[no-untyped-def]
    await create_offer(client, kdz, publish=True, title="VM", unit_price="89.00")
    await create_offer(client, kdz, publish=True, title="Backup", unit_price="24.50", category="hosting")
    await create_offer(
        client, ekom, publish=True, title="Schulung", unit_price="390.00", pricing="one_off", category="training"
    )
    await create_offer(
        client, ekom, publish=True, title="Beratung", unit_price="1150.00", pricing="metered", category="consulting"
    )


async def test_filters_by_category_provider_pricing_and_max_price() -> None:
    kdz = await token("KDZ-MZ", "provider")
    ekom = await token("EKOM21", "provider")
    reader = await token("HZD", "buyer")
    async with running_app() as client:
        await _catalogue(client, kdz, ekom)
        assert sorted(await titles(client, reader, "category=hosting")) == ["Backup", "VM"]
        assert sorted(await titles(client, reader, "provider=EKOM21")) == ["Beratung", "Schulung"]
        assert await titles(client, reader, "pricing=metered") == ["Beratung"]
        assert await titles(client, reader, "max_price=89&sort=price") == ["Backup", "VM"]
        assert await titles(client, reader, "max_price=88.99") == ["Backup"]
        assert await titles(client, reader, "provider=KDZ-MZ&max_price=50") == ["Backup"]
        assert await titles(client, reader, "provider=NOBODY") == []


async def test_sort_by_price_and_by_newest() -> None:
    kdz = await token("KDZ-MZ", "provider")
    ekom = await token("EKOM21", "provider")
    reader = await token("HZD", "buyer")
    async with running_app() as client:
        await _catalogue(client, kdz, ekom)
        assert await titles(client, reader, "sort=price") == ["Backup", "VM", "Schulung", "Beratung"]
        assert await titles(client, reader, "sort=newest") == ["Beratung", "Schulung", "Backup", "VM"]
        assert await titles(client, reader) == ["Beratung", "Schulung", "Backup", "VM"]


async def _all_pages(client, reader: str, query: str, add_between=None) -> list[str]:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    cursor = None
    while True:
        url = f"/api/v1/offers?{query}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url, headers=bearer(reader))).json()
        seen.extend(item["title"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
        if add_between is not None:
            await add_between()


async def test_pages_stay_stable_while_offers_are_added() -> None:
    provider = await token("KDZ-MZ", "provider")
    reader = await token("HZD", "buyer")
    async with running_app() as client:
        for number in range(5):
            await create_offer(
                client, provider, publish=True, title=f"Hosting {number}", unit_price=f"{10 + number}.00"
            )
        added = iter(range(100))

        async def add() -> None:
            number = next(added)
            await create_offer(client, provider, publish=True, title=f"Neu {number}", unit_price="99.00")

        newest = await _all_pages(client, reader, "sort=newest", add)
        by_price = await _all_pages(client, reader, "sort=price&max_price=50", add)
        relevance = await _all_pages(client, reader, "q=Hosting", add)
    # Offers added meanwhile appear before the pages already served (newest) or not at all (price filter).
    assert newest == [f"Hosting {n}" for n in (4, 3, 2, 1, 0)]
    assert by_price == [f"Hosting {n}" for n in range(5)]
    assert sorted(relevance) == [f"Hosting {n}" for n in range(5)]
    assert len(set(relevance)) == 5


async def test_a_cursor_of_another_sort_or_a_forged_one_answers_400() -> None:
    provider = await token("KDZ-MZ", "provider")
    reader = await token("HZD", "buyer")
    async with running_app() as client:
        for number in range(3):
            await create_offer(client, provider, publish=True, title=f"Hosting {number}")
        page = (await client.get("/api/v1/offers?limit=1&sort=price", headers=bearer(reader))).json()
        other = await client.get(f"/api/v1/offers?sort=newest&cursor={page['next_cursor']}", headers=bearer(reader))
        forged = await client.get("/api/v1/offers?cursor=bm9wZQ", headers=bearer(reader))
    assert other.status_code == 400
    assert forged.status_code == 400


async def test_bad_filter_values_answer_422() -> None:
    reader = await token("HZD", "buyer")
    async with running_app() as client:
        for query in ("max_price=-1", "max_price=1.234", "sort=cheapest", "pricing=free", "limit=0"):
            response = await client.get(f"/api/v1/offers?{query}", headers=bearer(reader))
            assert response.status_code == 422, (query, response.text)
