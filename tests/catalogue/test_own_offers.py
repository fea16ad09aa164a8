"""A provider's own offers: every state of its member's offers, and nothing of another member."""

from __future__ import annotations

from marketplace.catalogue import services
from marketplace.members.authentication import authenticate
from tests.builders import bearer, running_app, token
from tests.catalogue.helpers import create_offer


async def test_own_offers_list_drafts_and_published_newest_first_with_current_terms() -> None:
    provider = await token("KDZ-MZ", "provider")
    async with running_app() as client:
        published = await create_offer(client, provider, publish=True, title="Erstes Angebot")
        draft = await create_offer(client, provider, title="Zweites Angebot")
        await client.patch(f"/api/v1/offers/{published['id']}", headers=bearer(provider), json={"unit_price": "95.50"})
        offers = await services.list_own_offers((await authenticate(provider)).principal)
    assert [(str(o.id), o.status) for o in offers] == [(draft["id"], "draft"), (published["id"], "published")]
    assert (offers[1].current_version.number, str(offers[1].current_version.unit_price)) == (2, "95.50")


async def test_own_offers_leave_out_another_members_offers() -> None:
    provider = await token("KDZ-MZ", "provider")
    other = await token("EKOM21", "provider")
    async with running_app() as client:
        await create_offer(client, other, title="Fremder Entwurf")
        offers = await services.list_own_offers((await authenticate(provider)).principal)
    assert offers == []
