"""Lists of requests and agreements: each page is built with a fixed number of lookups, whatever its length."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from marketplace.catalogue import services as catalogue
from tests.booking.helpers import Parties, agreement, published_offer, submitted_request
from tests.builders import bearer, running_app


@pytest.fixture
def term_lookups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many versions each call of ``catalogue.versions_terms`` asked for; single lookups are refused."""
    calls: list[int] = []
    batch = catalogue.versions_terms

    async def counted(version_ids: Any) -> dict[UUID, Any]:
        wanted = list(version_ids)
        calls.append(len(wanted))
        return await batch(wanted)

    async def refused(version_id: UUID) -> Any:
        raise AssertionError("a list looked up the terms of one version at a time")

    monkeypatch.setattr(catalogue, "versions_terms", counted)
    monkeypatch.setattr(catalogue, "version_terms", refused)
    return calls


async def test_a_list_of_agreements_looks_up_all_terms_at_once(term_lookups: list[int]) -> None:
    parties = await Parties.make()
    async with running_app() as client:
        first = await published_offer(client, parties.provider)
        second = await published_offer(client, parties.provider, title="Datensicherung")
        for offer_id in (first, second, first):
            await agreement(client, parties, offer_id)
        term_lookups.clear()
        listed = await client.get("/api/v1/agreements", headers=bearer(parties.buyer))
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["items"]) == 3
    assert term_lookups == [3]


async def test_a_list_of_requests_shows_each_agreement_reference(term_lookups: list[int]) -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        made = await agreement(client, parties, offer_id)
        await submitted_request(client, parties.buyer, offer_id)
        term_lookups.clear()
        listed = await client.get("/api/v1/requests", headers=bearer(parties.buyer))
    references = sorted(str(item["agreement_reference"]) for item in listed.json()["items"])
    assert references == sorted([made["reference"], "None"])
    assert len(term_lookups) == 1
